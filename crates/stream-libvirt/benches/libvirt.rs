//! `cargo xtask bench libvirt`: sparse download and upload of a 1 GiB volume with 10 % data
//! through this backend, beside `virsh vol-download --sparse` / `vol-upload --sparse` on the same
//! daemon and volume in the same run. Wall time and CPU time (ours: this process; virsh: the
//! child) are both measured by criterion; the summary gives the ratios of medians (ours / virsh,
//! lower is better, target ≤ 1.0).

use std::cell::OnceCell;
use std::fs::File;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use bench_support::{Cpu, configure, cpu_of, full_run, median_ns, tenth_data_layout};
use criterion::{Criterion, criterion_group};
use stream_conformance::Fixture;
use stream_core::{Backend, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;

struct Setup {
    uri: String,
    backend: LibvirtBackend,
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
        image,
        dir,
    }
}

fn virsh(uri: &str, args: &[&str]) {
    let status = Command::new("virsh")
        .arg("-q")
        .arg("-c")
        .arg(uri)
        .args(args)
        .status()
        .expect("run virsh");
    assert!(status.success(), "virsh {args:?} failed");
}

fn ours_download(setup: &Setup, out: &Path) {
    let file = File::create(out).expect("output");
    let mut stream = setup
        .backend
        .open(
            StreamFlags::empty(),
            &Transfer::download(setup.source.clone(), true),
        )
        .expect("open");
    black_box(
        virtstream::download_to_file(stream.as_mut(), &file, true, |_| Ok(())).expect("download"),
    );
    stream.finish().expect("finish");
}

fn ours_upload(setup: &Setup) {
    let file = File::open(&setup.image).expect("image");
    let mut stream = setup
        .backend
        .open(
            StreamFlags::empty(),
            &Transfer::upload(setup.target.clone(), true),
        )
        .expect("open");
    black_box(
        virtstream::upload_from_file(stream.as_mut(), &file, true, |_| Ok(())).expect("upload"),
    );
    stream.finish().expect("finish");
}

fn virsh_download(setup: &Setup, out: &Path) {
    let out = out.to_str().expect("utf-8 path");
    virsh(
        &setup.uri,
        &[
            "vol-download",
            "--sparse",
            "--pool",
            "default",
            &setup.source.name,
            out,
        ],
    );
}

fn virsh_upload(setup: &Setup) {
    let image = setup.image.to_str().expect("utf-8 path");
    virsh(
        &setup.uri,
        &[
            "vol-upload",
            "--sparse",
            "--pool",
            "default",
            &setup.target.name,
            image,
        ],
    );
}

fn transfers(c: &mut Criterion) {
    // Set up on first use: `--list` (nextest) must not create a 1 GiB volume.
    let cell = OnceCell::new();
    let setup = || cell.get_or_init(setup);
    let ours_out = |setup: &Setup| setup.dir.path().join("ours.raw");
    let virsh_out = |setup: &Setup| setup.dir.path().join("virsh.raw");

    let mut wall = c.benchmark_group("wall");
    configure(&mut wall);
    wall.bench_function("virsh_download_sparse", |b| {
        b.iter(|| virsh_download(setup(), &virsh_out(setup())))
    });
    wall.bench_function("ours_download_sparse", |b| {
        b.iter(|| ours_download(setup(), &ours_out(setup())))
    });
    wall.bench_function("virsh_upload_sparse", |b| b.iter(|| virsh_upload(setup())));
    wall.bench_function("ours_upload_sparse", |b| b.iter(|| ours_upload(setup())));
    wall.finish();

    let mut cpu = c.benchmark_group("cpu");
    configure(&mut cpu);
    cpu.bench_function("virsh_download_sparse", |b| {
        b.iter_custom(|n| {
            cpu_of(n, Cpu::Children, || {
                virsh_download(setup(), &virsh_out(setup()))
            })
        })
    });
    cpu.bench_function("ours_download_sparse", |b| {
        b.iter_custom(|n| cpu_of(n, Cpu::Own, || ours_download(setup(), &ours_out(setup()))))
    });
    cpu.bench_function("virsh_upload_sparse", |b| {
        b.iter_custom(|n| cpu_of(n, Cpu::Children, || virsh_upload(setup())))
    });
    cpu.bench_function("ours_upload_sparse", |b| {
        b.iter_custom(|n| cpu_of(n, Cpu::Own, || ours_upload(setup())))
    });
    cpu.finish();

    if let Some(setup) = cell.get() {
        let (ours, virsh) = (
            std::fs::read(ours_out(setup)),
            std::fs::read(virsh_out(setup)),
        );
        if let (Ok(ours), Ok(virsh)) = (ours, virsh) {
            assert!(
                ours == virsh,
                "virsh and this backend downloaded different files"
            );
        }
    }
}

fn summary() {
    println!("\nsummary (criterion medians of this run; ratio = ours / virsh, target <= 1.0)");
    for group in ["wall", "cpu"] {
        for direction in ["download", "upload"] {
            let virsh = median_ns(group, &format!("virsh_{direction}_sparse"));
            let ours = median_ns(group, &format!("ours_{direction}_sparse"));
            match (virsh, ours) {
                (Some(virsh), Some(ours)) => println!(
                    "{group:<5} {direction:<9} virsh {:>9.1} ms  ours {:>9.1} ms  ratio {:.3}",
                    virsh / 1e6,
                    ours / 1e6,
                    ours / virsh
                ),
                _ => println!("{group:<5} {direction:<9} not measured in this run"),
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
