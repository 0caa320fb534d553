//! `cargo xtask bench libvirt`: this backend's library path (a program holding a connection:
//! open a stream, copy a file through virtstream's sparse copy, finish) against `virsh
//! vol-download` / `vol-upload` processes on the same daemon and volumes in the same run, on
//! every transfer kind of a 1 GiB volume with 10 % data (download and upload, sparse and not,
//! into an existing volume and into a fresh one including its creation). Wall time and CPU time
//! (ours: this process, every thread; virsh: the child), medians of alternating runs (`--runs
//! N`, default 7; `--only WORD`), and their ratios as a table, also written to
//! `target/bench/libvirt.md`. The connection is made once, as a library user's is: virsh pays
//! for its process start and connection in every run.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use bench_support::alternating::{self, Case, Side};
use bench_support::{Cpu, full_run, tenth_data_layout};
use stream_conformance::Fixture;
use stream_core::{Backend, Layout, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;

struct Setup {
    uri: String,
    backend: LibvirtBackend,
    source: VolumeId,
    target: VolumeId,
    /// Created by each run of a fresh-volume case, deleted before the next.
    fresh: VolumeId,
    size: u64,
    image: PathBuf,
    dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let uri =
        stream_libvirt::daemon::shared_uri().expect("a storage daemon (cargo xtask daemon start)");
    let backend = LibvirtBackend::connect(&uri).expect("connect");
    let layout = tenth_data_layout();
    let fixture = Fixture::new(&backend);
    let source = fixture.volume(&layout.to_string()).expect("source volume");
    let target = fixture
        .volume(&format!("H{}", layout.size()))
        .expect("target volume");
    let fresh = VolumeId::new(&source.pool, format!("{}.fresh", source.name));
    let dir = tempfile::tempdir().expect("temp dir");
    let image = dir.path().join("image.raw");
    let file = File::create(&image).expect("image");
    let mut download = backend
        .open(
            StreamFlags::empty(),
            &Transfer::download(source.clone(), true),
        )
        .expect("download");
    virtstream::download_to_file(download.as_mut(), &file, true, |_| Ok(())).expect("image bytes");
    download.finish().expect("finish");
    Setup {
        uri,
        backend,
        source,
        target,
        fresh,
        size: layout.size(),
        image,
        dir,
    }
}

impl Setup {
    fn out(&self, who: &str) -> PathBuf {
        self.dir.path().join(format!("{who}.raw"))
    }

    /// Untimed, before every run: no fresh volume, no previous download, and no dirty pages
    /// of the previous run still being written back while this one is timed.
    fn settle(&self, remove: &[PathBuf]) {
        if self.backend.volume_size(&self.fresh).is_ok() {
            self.backend.delete_volume(&self.fresh).expect("delete");
        }
        for path in remove {
            let _ = std::fs::remove_file(path);
        }
        // SAFETY: sync(2) takes no arguments and cannot fail.
        unsafe { libc::sync() };
    }

    fn download(&self, sparse: bool, out: &Path) {
        let file = File::create(out).expect("output");
        let mut stream = self
            .backend
            .open(
                StreamFlags::empty(),
                &Transfer::download(self.source.clone(), sparse),
            )
            .expect("open");
        virtstream::download_to_file(stream.as_mut(), &file, sparse, |_| Ok(())).expect("download");
        stream.finish().expect("finish");
    }

    fn upload(&self, sparse: bool, volume: &VolumeId) {
        let file = File::open(&self.image).expect("image");
        let mut stream = self
            .backend
            .open(
                StreamFlags::empty(),
                &Transfer::upload(volume.clone(), sparse),
            )
            .expect("open");
        virtstream::upload_from_file(stream.as_mut(), &file, sparse, |_| Ok(())).expect("upload");
        stream.finish().expect("finish");
    }

    /// `virsh -q -c URI command args… [--sparse]`.
    fn virsh(&self, command: &str, sparse: bool, args: &[&str]) {
        let mut all = vec!["-q", "-c", &self.uri, command];
        all.extend_from_slice(args);
        if sparse {
            all.push("--sparse");
        }
        let output = Command::new("virsh")
            .args(&all)
            .output()
            .expect("run virsh");
        assert!(
            output.status.success(),
            "virsh {all:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn sparse_word(sparse: bool) -> &'static str {
    if sparse { " --sparse" } else { "" }
}

fn download_case(setup: &Setup, sparse: bool) -> Case<'_> {
    let outputs = [setup.out("virsh"), setup.out("ours")];
    Case {
        name: format!("download{}", sparse_word(sparse)),
        prepare: Box::new(move || setup.settle(&outputs)),
        virsh: Side {
            cpu: Cpu::Children,
            run: Box::new(move || {
                let out = setup.out("virsh");
                let source = &setup.source;
                setup.virsh(
                    "vol-download",
                    sparse,
                    &["--pool", &source.pool, &source.name, utf8(&out)],
                )
            }),
        },
        ours: Side {
            cpu: Cpu::Own,
            run: Box::new(move || setup.download(sparse, &setup.out("ours"))),
        },
    }
}

fn upload_case(setup: &Setup, sparse: bool) -> Case<'_> {
    Case {
        name: format!("upload{}, existing volume", sparse_word(sparse)),
        prepare: Box::new(move || setup.settle(&[])),
        virsh: Side {
            cpu: Cpu::Children,
            run: Box::new(move || {
                let target = &setup.target;
                setup.virsh(
                    "vol-upload",
                    sparse,
                    &["--pool", &target.pool, &target.name, utf8(&setup.image)],
                )
            }),
        },
        ours: Side {
            cpu: Cpu::Own,
            run: Box::new(move || setup.upload(sparse, &setup.target)),
        },
    }
}

/// `virsh vol-create-as` (raw, nothing allocated) and `vol-upload`, against `create_volume`
/// and an upload on the same connection.
fn fresh_case(setup: &Setup, sparse: bool) -> Case<'_> {
    Case {
        name: format!(
            "upload{}, fresh volume (create + upload)",
            sparse_word(sparse)
        ),
        prepare: Box::new(move || setup.settle(&[])),
        virsh: Side {
            cpu: Cpu::Children,
            run: Box::new(move || {
                let (fresh, size) = (&setup.fresh, setup.size.to_string());
                setup.virsh(
                    "vol-create-as",
                    false,
                    &[
                        &fresh.pool,
                        &fresh.name,
                        &size,
                        "--allocation",
                        "0",
                        "--format",
                        "raw",
                    ],
                );
                setup.virsh(
                    "vol-upload",
                    sparse,
                    &["--pool", &fresh.pool, &fresh.name, utf8(&setup.image)],
                )
            }),
        },
        ours: Side {
            cpu: Cpu::Own,
            run: Box::new(move || {
                setup
                    .backend
                    .create_volume(&setup.fresh, &Layout::hole(setup.size))
                    .expect("create");
                setup.upload(sparse, &setup.fresh)
            }),
        },
    }
}

/// The downloads must agree, and the uploads must leave the image in the volumes.
fn check(setup: &Setup) {
    let (virsh, ours) = (
        std::fs::read(setup.out("virsh")),
        std::fs::read(setup.out("ours")),
    );
    if let (Ok(virsh), Ok(ours)) = (virsh, ours) {
        assert!(
            ours == virsh,
            "virsh and this backend downloaded different files"
        );
    }
    let image = std::fs::read(&setup.image).expect("image");
    for volume in [&setup.target, &setup.fresh] {
        let mut bytes = vec![0; image.len()];
        if let Ok(read) = setup.backend.read_volume(volume, 0, &mut bytes) {
            assert!(
                read == image.len() && bytes == image,
                "{volume} differs from the image after the uploads"
            );
        }
    }
}

fn main() {
    // nextest lists the tests of every target: this bench has none.
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let setup = setup();
    let cases = vec![
        download_case(&setup, true),
        download_case(&setup, false),
        upload_case(&setup, true),
        upload_case(&setup, false),
        fresh_case(&setup, true),
        fresh_case(&setup, false),
    ];
    let rows = alternating::compare_as_asked(cases, 7);
    check(&setup);
    if full_run() {
        let title = format!(
            "# stream-libvirt (library calls) vs virsh ({} MiB volume, 10 % data in 1 MiB extents)",
            setup.size >> 20
        );
        alternating::publish("libvirt", &alternating::table(&title, "library", &rows))
            .expect("write the report");
    }
    for volume in [&setup.source, &setup.target, &setup.fresh] {
        let _ = setup.backend.delete_volume(volume);
    }
}
