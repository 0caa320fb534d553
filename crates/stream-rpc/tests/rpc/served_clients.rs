//! Real libvirt clients against `SimServer`: virsh and python3-libvirt move a sparse 1 GiB
//! image with 10 % data through it (same bytes, holes kept), virsh lists and describes volumes,
//! and prints a missing volume's error with the text libvirtd 9.0 sent for it.

use std::path::Path;
use std::process::{Command, Output};

use stream_core::{Backend, Layout, VolumeId};
use stream_rpc::SimServer;
use stream_rpc::protocol::RemoteError;
use stream_rpc::xdr;

use crate::recordings::recordings;
use crate::sparse_image::{self, GIB};

/// Debian's python3 (where python3-libvirt installs), not whatever python3 is first on PATH.
const PYTHON: &str = "/usr/bin/python3";

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {program}: {e}; install it with `cargo xtask setup` (libvirt-clients, python3-libvirt)")
    })
}

fn succeeds(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn virsh(server: &SimServer, args: &[&str]) -> String {
    let uri = server.uri();
    succeeds("virsh", &[&["-c", uri.as_str()], args].concat())
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn virsh_uploads_and_downloads_a_sparse_gib_image_keeping_holes() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.img"), dir.path().join("out.img"));
    sparse_image::write_image(&input);
    let server = SimServer::start().unwrap();
    virsh(
        &server,
        &[
            "vol-create-as",
            "default",
            "disk.raw",
            &GIB.to_string(),
            "--allocation",
            "0",
            "--format",
            "raw",
        ],
    );
    virsh(
        &server,
        &[
            "vol-upload",
            "disk.raw",
            path(&input),
            "--pool",
            "default",
            "--sparse",
        ],
    );
    // The volume holds the file's data runs and nothing else.
    let layout = server
        .sim()
        .volume_layout(&VolumeId::new("default", "disk.raw"))
        .unwrap();
    let runs: Vec<(u64, u64)> = layout
        .extents()
        .iter()
        .map(|e| (e.offset, e.end()))
        .collect();
    assert_eq!(runs, sparse_image::data_map(&input));
    virsh(
        &server,
        &[
            "vol-download",
            "disk.raw",
            path(&output),
            "--pool",
            "default",
            "--sparse",
        ],
    );
    sparse_image::assert_same_sparse_file(&input, &output);
}

#[test]
fn python3_libvirt_round_trips_a_sparse_gib_image_with_sparse_send_and_recv_all() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.img"), dir.path().join("out.img"));
    sparse_image::write_image(&input);
    let server = SimServer::start().unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rpc/clients/py_sparse_roundtrip.py");
    let out = succeeds(
        PYTHON,
        &[path(&script), &server.uri(), path(&input), path(&output)],
    );
    assert_eq!(out.trim(), "ok");
    sparse_image::assert_same_sparse_file(&input, &output);
}

#[test]
fn virsh_lists_and_describes_the_simulators_volumes() {
    let server = SimServer::start().unwrap();
    server
        .add_volume("a.raw", &Layout::parse("D4K H1M").unwrap())
        .unwrap();
    server
        .add_volume("b.raw", &Layout::parse("H2M").unwrap())
        .unwrap();
    let list = virsh(&server, &["vol-list", "default"]);
    for name in ["a.raw", "b.raw"] {
        let path = stream_sim::volume_path(&VolumeId::new("default", name));
        assert!(
            list.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == [name, path.as_str()]),
            "{name} not listed: {list}"
        );
    }
    let info = virsh(&server, &["vol-info", "a.raw", "--pool", "default"]);
    let fields: Vec<Vec<&str>> = info
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(fields.contains(&vec!["Type:", "file"]), "{info}");
    assert!(fields.contains(&vec!["Capacity:", "1.00", "MiB"]), "{info}");
    assert!(
        fields.contains(&vec!["Allocation:", "4.00", "KiB"]),
        "{info}"
    );
    let pools = virsh(&server, &["pool-list", "--all"]);
    assert!(pools.contains("default   active   no"), "{pools}");
}

#[test]
fn virsh_prints_a_missing_volumes_error_as_from_libvirtd() {
    // What libvirtd 9.0 answered virsh's last lookup (by path) in vol-info-missing.rec.
    let (_, records) = recordings()
        .into_iter()
        .find(|(name, _)| name == "vol-info-missing.rec")
        .unwrap();
    let last_error = records
        .iter()
        .rfind(|r| r.header.status == stream_rpc::Status::ERROR)
        .and_then(|r| r.data.as_deref())
        .unwrap();
    let recorded: RemoteError = xdr::from_bytes(last_error).unwrap();
    let server = SimServer::start().unwrap();
    let out = run(
        "virsh",
        &[
            "-c",
            &server.uri(),
            "vol-info",
            "nosuchvol",
            "--pool",
            "default",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "error: failed to get vol 'nosuchvol'\nerror: {}\n",
        recorded.message.unwrap()
    );
    assert_eq!(stderr.trim_start(), expected);
}

#[test]
fn virsh_takes_the_test_domains_screenshot_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("shot.png");
    let server = SimServer::start().unwrap();
    let out = succeeds(
        "virsh",
        &["-c", &server.test_uri(), "screenshot", "test", path(&shot)],
    );
    assert!(out.contains("image/png"), "{out}");
    assert_eq!(std::fs::read(&shot).unwrap(), stream_sim::TEST_SCREENSHOT);
}
