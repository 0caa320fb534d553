//! `cargo xtask bench cli`: the `virtstream` command-line tool against `virsh`, each run as a
//! whole process as users run them, on every transfer kind (download and upload, sparse and not,
//! into an existing volume and into a fresh one including its creation) of a 1 GiB volume with
//! 10 % data, on the same daemon in the same run. Wall time and the CPU time of the child
//! processes, medians of alternating runs (`--runs N`, default 7; `--only WORD` keeps the kinds
//! whose name holds WORD), and their ratios (virtstream / virsh) as a table, also written to
//! `target/bench/cli.md`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use bench_support::alternating::{self, Case, Side};
use bench_support::{Cpu, full_run, tenth_data_layout};
use stream_conformance::Fixture;
use stream_core::{Backend, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;

const VIRTSTREAM: &str = env!("CARGO_BIN_EXE_virtstream");

struct Setup {
    uri: String,
    backend: LibvirtBackend,
    /// What the downloads read.
    source: VolumeId,
    /// What the uploads into an existing volume write (it holds the image after the first).
    target: VolumeId,
    /// What the uploads into a fresh volume create, deleted before each of them.
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
    // The upload source: a local sparse file with the volume's content, made in-process once so
    // neither tool's first run is part of the other's input.
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
    fn out(&self, tool: &str) -> PathBuf {
        self.dir.path().join(format!("{tool}.raw"))
    }

    /// Untimed, before every run: no volume under the fresh name, and no dirty pages of the
    /// previous run still being written back while this one is timed (on a shared disk that
    /// writeback made single runs vary threefold).
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
}

/// Run `program args`, with stdout and stderr captured so neither tool draws progress on a
/// terminal (both run as they would in a script), and fail the bench on a failed transfer.
fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("run {program}: {err}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `virsh -q -c URI command args… [--sparse]`.
fn virsh(setup: &Setup, command: &str, sparse: bool, args: &[&str]) {
    let mut all = vec!["-q", "-c", &setup.uri, command];
    all.extend_from_slice(args);
    if sparse {
        all.push("--sparse");
    }
    run("virsh", &all);
}

/// `virtstream command --uri URI --pool POOL --vol VOL FILE [--sparse] extra…`.
fn virtstream(
    setup: &Setup,
    command: &str,
    sparse: bool,
    vol: &VolumeId,
    file: &Path,
    extra: &[&str],
) {
    let mut all = vec![
        command,
        "--uri",
        &setup.uri,
        "--pool",
        &vol.pool,
        "--vol",
        &vol.name,
        utf8(file),
    ];
    if sparse {
        all.push("--sparse");
    }
    all.extend_from_slice(extra);
    run(VIRTSTREAM, &all);
}

fn sparse_word(sparse: bool) -> &'static str {
    if sparse { " --sparse" } else { "" }
}

fn download_case(setup: &Setup, sparse: bool) -> Case<'_> {
    let outputs = [setup.out("virsh"), setup.out("virtstream")];
    Case {
        name: format!("download{}", sparse_word(sparse)),
        // Each run writes a new file (as a user downloading an image does): neither tool pays
        // for freeing the previous run's gigabyte.
        prepare: Box::new(move || setup.settle(&outputs)),
        virsh: Side {
            cpu: Cpu::Children,
            run: Box::new(move || {
                let out = setup.out("virsh");
                virsh(
                    setup,
                    "vol-download",
                    sparse,
                    &["--pool", &setup.source.pool, &setup.source.name, utf8(&out)],
                )
            }),
        },
        ours: Side {
            cpu: Cpu::Children,
            run: Box::new(move || {
                virtstream(
                    setup,
                    "download",
                    sparse,
                    &setup.source,
                    &setup.out("virtstream"),
                    &[],
                )
            }),
        },
    }
}

/// An upload of the image into the existing target volume. A sparse whole-volume upload cuts
/// the volume first (so no old data survives under the image's holes); that is part of what the
/// tool costs, so it stays in the measurement.
fn upload_case(setup: &Setup, sparse: bool) -> Case<'_> {
    Case {
        name: format!("upload{}, existing volume", sparse_word(sparse)),
        prepare: Box::new(move || setup.settle(&[])),
        virsh: Side {
            cpu: Cpu::Children,
            run: Box::new(move || {
                virsh(
                    setup,
                    "vol-upload",
                    sparse,
                    &[
                        "--pool",
                        &setup.target.pool,
                        &setup.target.name,
                        utf8(&setup.image),
                    ],
                )
            }),
        },
        ours: Side {
            cpu: Cpu::Children,
            run: Box::new(move || {
                virtstream(setup, "upload", sparse, &setup.target, &setup.image, &[])
            }),
        },
    }
}

/// The volume made and filled: `virsh vol-create-as` (raw, nothing allocated, as `virtstream
/// upload --create` makes it) then `vol-upload`, against one `virtstream upload --create`.
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
                let size = setup.size.to_string();
                let fresh = &setup.fresh;
                virsh(
                    setup,
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
                virsh(
                    setup,
                    "vol-upload",
                    sparse,
                    &["--pool", &fresh.pool, &fresh.name, utf8(&setup.image)],
                )
            }),
        },
        ours: Side {
            cpu: Cpu::Children,
            run: Box::new(move || {
                virtstream(
                    setup,
                    "upload",
                    sparse,
                    &setup.fresh,
                    &setup.image,
                    &["--create"],
                )
            }),
        },
    }
}

/// Whether two files hold the same bytes, read in 1 MiB pieces rather than 1 GiB at once.
fn same_bytes(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    if a.metadata()?.len() != b.metadata()?.len() {
        return Ok(false);
    }
    let (mut left, mut right) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = a.read(&mut left)?;
        if n == 0 {
            return Ok(true);
        }
        b.read_exact(&mut right[..n])?;
        if left[..n] != right[..n] {
            return Ok(false);
        }
    }
}

/// Each tool's download must be the volume, and each upload must leave the volume holding the
/// image: a fast transfer that moves the wrong bytes is no result.
fn check(setup: &Setup) {
    let (virsh_out, ours_out) = (setup.out("virsh"), setup.out("virtstream"));
    if virsh_out.exists() && ours_out.exists() {
        assert!(
            same_bytes(&ours_out, &virsh_out).expect("compare downloads"),
            "virsh and virtstream downloaded different files"
        );
    }
    let expected = setup.backend.volume_layout(&setup.source).expect("source");
    for volume in [&setup.target, &setup.fresh] {
        if let Ok(layout) = setup.backend.volume_layout(volume) {
            assert_eq!(
                layout.size(),
                expected.size(),
                "{volume} differs from the image in size"
            );
        }
    }
    let image = std::fs::read(&setup.image).expect("image");
    let mut volume = vec![0; image.len()];
    let read = setup
        .backend
        .read_volume(&setup.target, 0, &mut volume)
        .expect("read target");
    assert!(
        read == image.len() && volume == image,
        "the target volume differs from the image after the uploads"
    );
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
    let title = format!(
        "# virtstream vs virsh, as processes ({} MiB volume, 10 % data in 1 MiB extents)",
        setup.size >> 20
    );
    if full_run() {
        alternating::publish("cli", &alternating::table(&title, "virtstream", &rows))
            .expect("write the report");
    }
    for volume in [&setup.source, &setup.target, &setup.fresh] {
        let _ = setup.backend.delete_volume(volume);
    }
}
