//! `cargo xtask bench cli`: the `virtstream` command-line tool against `virsh`, each run as a
//! process, on a sparse download and a sparse upload of a 1 GiB volume with 10 % data on the same
//! daemon in the same run. Wall time and CPU time (of the child process, for both tools) are
//! measured by criterion; the summary gives the ratios of medians (virtstream / virsh, lower is
//! better, target ≤ 1.0).

use std::cell::OnceCell;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use bench_support::{Cpu, configure, cpu_of, full_run, median_ns, tenth_data_layout};
use criterion::{Criterion, criterion_group};
use stream_conformance::Fixture;
use stream_core::{Backend, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;

/// Group names of their own, so this bench's medians never overwrite `cargo xtask bench
/// libvirt`'s `wall` / `cpu` results in target/criterion.
const WALL: &str = "cli_wall";
const CPU: &str = "cli_cpu";

struct Setup {
    uri: String,
    source: VolumeId,
    target: VolumeId,
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
        source,
        target,
        image,
        dir,
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

fn virtstream_download(setup: &Setup, out: &Path) {
    run(
        env!("CARGO_BIN_EXE_virtstream"),
        &[
            "download",
            "--uri",
            &setup.uri,
            "--pool",
            "default",
            "--vol",
            &setup.source.name,
            utf8(out),
            "--sparse",
        ],
    );
}

/// A sparse whole-volume upload cuts the volume before sending (so no old data survives under
/// the image's holes); that cut is part of what the tool costs, so it stays in the measurement.
fn virtstream_upload(setup: &Setup) {
    run(
        env!("CARGO_BIN_EXE_virtstream"),
        &[
            "upload",
            "--uri",
            &setup.uri,
            "--pool",
            "default",
            "--vol",
            &setup.target.name,
            utf8(&setup.image),
            "--sparse",
        ],
    );
}

fn virsh_download(setup: &Setup, out: &Path) {
    run(
        "virsh",
        &[
            "-q",
            "-c",
            &setup.uri,
            "vol-download",
            "--sparse",
            "--pool",
            "default",
            &setup.source.name,
            utf8(out),
        ],
    );
}

fn virsh_upload(setup: &Setup) {
    run(
        "virsh",
        &[
            "-q",
            "-c",
            &setup.uri,
            "vol-upload",
            "--sparse",
            "--pool",
            "default",
            &setup.target.name,
            utf8(&setup.image),
        ],
    );
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

fn transfers(c: &mut Criterion) {
    // Set up on first use: `--list` (nextest) must not create a 1 GiB volume.
    let cell = OnceCell::new();
    let setup = || cell.get_or_init(setup);
    let virtstream_out = |setup: &Setup| setup.dir.path().join("virtstream.raw");
    let virsh_out = |setup: &Setup| setup.dir.path().join("virsh.raw");

    let mut wall = c.benchmark_group(WALL);
    configure(&mut wall);
    wall.bench_function("virsh_download_sparse", |b| {
        b.iter(|| virsh_download(setup(), &virsh_out(setup())))
    });
    wall.bench_function("virtstream_download_sparse", |b| {
        b.iter(|| virtstream_download(setup(), &virtstream_out(setup())))
    });
    wall.bench_function("virsh_upload_sparse", |b| b.iter(|| virsh_upload(setup())));
    wall.bench_function("virtstream_upload_sparse", |b| {
        b.iter(|| virtstream_upload(setup()))
    });
    wall.finish();

    let mut cpu = c.benchmark_group(CPU);
    configure(&mut cpu);
    cpu.bench_function("virsh_download_sparse", |b| {
        b.iter_custom(|n| {
            cpu_of(n, Cpu::Children, || {
                virsh_download(setup(), &virsh_out(setup()))
            })
        })
    });
    cpu.bench_function("virtstream_download_sparse", |b| {
        b.iter_custom(|n| {
            cpu_of(n, Cpu::Children, || {
                virtstream_download(setup(), &virtstream_out(setup()))
            })
        })
    });
    cpu.bench_function("virsh_upload_sparse", |b| {
        b.iter_custom(|n| cpu_of(n, Cpu::Children, || virsh_upload(setup())))
    });
    cpu.bench_function("virtstream_upload_sparse", |b| {
        b.iter_custom(|n| cpu_of(n, Cpu::Children, || virtstream_upload(setup())))
    });
    cpu.finish();

    // A filtered run (nextest runs one function per process) may have made only one download.
    if let Some(setup) = cell.get() {
        let (ours, virsh) = (virtstream_out(setup), virsh_out(setup));
        if ours.exists() && virsh.exists() {
            assert!(
                same_bytes(&ours, &virsh).expect("compare downloads"),
                "virsh and virtstream downloaded different files"
            );
        }
    }
}

fn summary() {
    println!(
        "\nsummary (criterion medians of this run; ratio = virtstream / virsh, target <= 1.0)"
    );
    for (group, label) in [(WALL, "wall"), (CPU, "cpu")] {
        for direction in ["download", "upload"] {
            let virsh = median_ns(group, &format!("virsh_{direction}_sparse"));
            let ours = median_ns(group, &format!("virtstream_{direction}_sparse"));
            match (virsh, ours) {
                (Some(virsh), Some(ours)) => println!(
                    "{label:<5} {direction:<9} virsh {:>9.1} ms  virtstream {:>9.1} ms  ratio {:.3}",
                    virsh / 1e6,
                    ours / 1e6,
                    ours / virsh
                ),
                _ => println!("{label:<5} {direction:<9} not measured in this run"),
            }
        }
    }
}

criterion_group!(benches, transfers);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Only a real benchmark run has medians; `--list` (nextest) and test mode print nothing more.
    if full_run() {
        summary();
    }
}
