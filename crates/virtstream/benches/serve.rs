//! `cargo xtask bench serve`: `virtstream serve` against the private libvirtd 9.0 it stands in
//! for, as a client sees them: the same virsh commands on the same 1 GiB image with 10 % data,
//! once against each, alternating rounds (`--runs N`, default 7), medians and the ratio (served /
//! libvirtd; issue 12's bar for `vol-download --sparse` is 0.5), written to
//! `target/bench/serve.md`. Then the server's start: `virtstream serve` from spawn to its URI,
//! beside the same binary's `--version` (what any process of it costs to start) and
//! `SimServer::start` in process.
//!
//! CPU is virsh's (the client's) on both sides: neither daemon's is counted.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bench_support::alternating::{self, Case, Side};
use bench_support::{Cpu, full_run, tenth_data_layout};
use stream_conformance::Fixture;
use stream_core::{Backend, VolumeId};
use stream_libvirt::LibvirtBackend;
use stream_rpc::server::SimServer;

const VIRTSTREAM: &str = env!("CARGO_BIN_EXE_virtstream");

/// A `virtstream serve` process of the bench's, stopped (SIGTERM, by its pid) on drop.
struct Served {
    child: Child,
    uri: String,
}

impl Served {
    fn start(volume: &str) -> Served {
        Served::start_of(VIRTSTREAM.as_ref(), &["serve"], volume)
    }

    /// `program args… --volume VOLUME`, until its URI line.
    fn start_of(program: &std::path::Path, args: &[&str], volume: &str) -> Served {
        let mut child = Command::new(program)
            .args(args)
            .args(["--volume", volume])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("virtstream serve");
        let mut uri = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut uri)
            .expect("the URI");
        Served {
            child,
            uri: uri.trim().to_string(),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn virsh(uri: &str, args: &[&str]) {
    let output = Command::new("virsh")
        .args(["-q", "-c", uri])
        .args(args)
        .output()
        .expect("virsh");
    assert!(
        output.status.success(),
        "virsh {args:?} on {uri}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `virsh vol-download|vol-upload VOL FILE --pool P [--sparse]` on each side.
fn case<'a>(
    name: &str,
    libvirtd: (&'a str, &'a str),
    served: (&'a str, &'a str),
    command: &'a str,
    file: &'a str,
    sparse: bool,
) -> Case<'a> {
    let side = move |(uri, vol): (&'a str, &'a str)| Side {
        cpu: Cpu::Children,
        run: Box::new(move || {
            let mut args = vec![command, vol, file, "--pool", "default"];
            if sparse {
                args.push("--sparse");
            }
            virsh(uri, &args);
        }),
    };
    Case {
        name: name.to_string(),
        prepare: Box::new(|| {
            // SAFETY: sync(2) takes no arguments and cannot fail.
            unsafe { libc::sync() };
        }),
        virsh: side(libvirtd),
        ours: side(served),
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// `virtstream-serve`, built by `cargo xtask bench serve` beside this bench's `virtstream`.
fn lean_binary() -> PathBuf {
    let path = std::path::Path::new(VIRTSTREAM).with_file_name("virtstream-serve");
    assert!(
        path.is_file(),
        "{} is missing: cargo build --release -p stream-rpc --bin virtstream-serve (cargo xtask bench serve builds it)",
        path.display()
    );
    path
}

/// Spawn-to-URI of `virtstream serve` and of `virtstream-serve`, `virtstream --version` to its
/// exit, and `SimServer::start` in process: medians of `runs` alternating samples each.
fn startup(runs: usize) -> String {
    let lean = lean_binary();
    let (mut serve, mut lean_serve, mut version, mut in_process) = (vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let started = Instant::now();
        let served = Served::start_of(VIRTSTREAM.as_ref(), &["serve"], "v=D4K");
        serve.push(started.elapsed());
        drop(served);
        let started = Instant::now();
        let served = Served::start_of(&lean, &[], "v=D4K");
        lean_serve.push(started.elapsed());
        drop(served);
        let started = Instant::now();
        let status = Command::new(VIRTSTREAM)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .expect("virtstream --version");
        version.push(started.elapsed());
        assert!(status.success());
        let started = Instant::now();
        let server = SimServer::start().expect("SimServer");
        in_process.push(started.elapsed());
        drop(server);
    }
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    format!(
        "\n## Starting the server (medians of {runs})\n\n\
         | what | time |\n|---|---:|\n\
         | `virtstream serve` from spawn to its URI on stdout | {} |\n\
         | `virtstream-serve` (the same server, no libvirt linked) from spawn to its URI | {} |\n\
         | `virtstream --version` from spawn to exit (the binary's own start: libvirt.so and its libraries load) | {} |\n\
         | `SimServer::start()` in process (socket directory, bind, accept thread) | {} |\n",
        ms(median(serve)),
        ms(median(lean_serve)),
        ms(median(version)),
        ms(median(in_process)),
    )
}

fn main() {
    // nextest lists the tests of every target: this bench has none.
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let layout = tenth_data_layout();
    let uri =
        stream_libvirt::daemon::shared_uri().expect("a storage daemon (cargo xtask daemon start)");
    let backend = LibvirtBackend::connect(&uri).expect("connect");
    let source: VolumeId = Fixture::new(&backend)
        .volume(&layout.to_string())
        .expect("a volume on libvirtd");
    let target = Fixture::new(&backend)
        .volume(&format!("H{}", layout.size()))
        .expect("an upload target on libvirtd");
    let served = Served::start(&format!("image={}", layout.to_string().replace(' ', "+")));
    virsh(
        &served.uri,
        &[
            "vol-create-as",
            "default",
            "target",
            &layout.size().to_string(),
        ],
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| -> String {
        let path: PathBuf = dir.path().join(name);
        path.to_str().expect("utf-8").to_string()
    };
    let (image, out) = (path("image.raw"), path("out.raw"));
    // The upload's input: the image as a sparse file, made by virsh from libvirtd once.
    virsh(
        &uri,
        &[
            "vol-download",
            &source.name,
            &image,
            "--pool",
            "default",
            "--sparse",
        ],
    );
    let (lib, srv) = (uri.as_str(), served.uri.as_str());
    let cases = vec![
        case(
            "vol-download --sparse",
            (lib, &source.name),
            (srv, "image"),
            "vol-download",
            &out,
            true,
        ),
        case(
            "vol-download",
            (lib, &source.name),
            (srv, "image"),
            "vol-download",
            &out,
            false,
        ),
        case(
            "vol-upload --sparse",
            (lib, &target.name),
            (srv, "target"),
            "vol-upload",
            &image,
            true,
        ),
        case(
            "vol-upload",
            (lib, &target.name),
            (srv, "target"),
            "vol-upload",
            &image,
            false,
        ),
    ];
    let rows = alternating::compare_as_asked(cases, 7);
    let title = format!(
        "# virsh against virtstream serve vs against libvirtd 9.0 ({} MiB volume, 10 % data in 1 MiB extents)",
        layout.size() >> 20
    );
    let mut report = alternating::table_of(&title, "libvirtd", "serve", &rows);
    report.push_str(&startup(if full_run() { 21 } else { 3 }));
    if full_run() {
        alternating::publish("serve", &report).expect("write the report");
    }
    for volume in [&source, &target] {
        let _ = backend.delete_volume(volume);
    }
}
