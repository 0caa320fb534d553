//! `virtstream serve` and the served simulator with the project's own CLI as the client (through
//! libvirt.so): the sparse 1 GiB round trip, preloaded volumes, the socket directory rule, and a
//! clean stop on SIGTERM that removes the socket.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use stream_core::Layout;
use stream_rpc::SimServer;

use crate::cli::{fails_with, sparse_gib_round_trip, virtstream};

#[test]
fn the_cli_round_trips_a_sparse_gib_image_through_the_served_simulator() {
    let server = SimServer::start().expect("start the server");
    sparse_gib_round_trip(&server.uri(), server.sim());
}

#[test]
fn serve_preloads_volumes_prints_its_uri_and_removes_its_socket_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The rule: the socket's directory is the caller's and 0700 (a temp dir may be 0755).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket = dir.path().join("sock");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_virtstream"))
        .args(["serve", "--socket", socket.to_str().unwrap()])
        .args(["--volume", "disk.raw=D4K+H1M+D10"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run virtstream serve");
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the URI line");
    if line.trim().is_empty() {
        let out = serve.wait_with_output().expect("wait");
        panic!(
            "serve printed no URI: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        line.trim(),
        format!("storage:///system?socket={}", socket.display())
    );
    let copy = dir.path().join("copy.raw");
    let down = virtstream(&[
        "download",
        "--uri",
        line.trim(),
        "--pool",
        "default",
        "--vol",
        "disk.raw",
        "--sparse",
        copy.to_str().unwrap(),
    ]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let expected = Layout::parse("D4K H1M D10").unwrap().to_bytes();
    assert!(
        std::fs::read(&copy).unwrap() == expected,
        "download differs from the layout"
    );
    // SIGTERM: a clean exit, the socket gone.
    let pid = i32::try_from(serve.id()).expect("a pid");
    // SAFETY: kill(2) of our own child, which has not been waited for (its pid is still its).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "signal serve");
    let status = serve.wait().expect("wait");
    assert!(status.success(), "serve exited {status}");
    assert!(!socket.exists(), "the socket is still there");
}

#[test]
fn serve_refuses_a_socket_directory_others_may_enter() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("sock");
    let out = virtstream(&["serve", "--socket", socket.to_str().unwrap()]);
    fails_with(&out, "has mode 0755; the socket directory must be 0700");
    assert!(!socket.exists());
}
