//! `virtstream-serve`, the server without libvirt linked: it prints a URI a client is answered
//! on, stops on SIGTERM removing its socket, and refuses a bad argument with its usage.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use stream_rpc::Frame;

const LEAN: &str = env!("CARGO_BIN_EXE_virtstream-serve");

#[test]
fn it_serves_on_the_uri_it_prints_and_sigterm_removes_the_socket() {
    let mut child = Command::new(LEAN)
        .args(["--volume", "disk.raw=D4K+H1M"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("virtstream-serve");
    let mut uri = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut uri)
        .unwrap();
    let socket = uri
        .trim()
        .strip_prefix("storage:///system?socket=")
        .unwrap_or_else(|| panic!("a storage URI, got {uri:?}"))
        .to_string();
    let mut client = UnixStream::connect(&socket).expect("connect");
    let auth_list = Frame::remote_call(66, 0, Vec::new());
    client.write_all(&auth_list.encode().unwrap()).unwrap();
    let mut reply = [0; 36];
    client.read_exact(&mut reply).expect("AUTH_LIST answered");
    // The recorded reply: one auth type, REMOTE_AUTH_NONE.
    assert_eq!(&reply[28..], &[0, 0, 0, 1, 0, 0, 0, 0]);
    drop(client);
    // Our own child, by its pid.
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        !std::path::Path::new(&socket).exists(),
        "{socket} was removed"
    );
}

#[test]
fn a_bad_argument_is_refused_with_the_usage() {
    let output = Command::new(LEAN).arg("--port").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown argument `--port`") && stderr.contains("usage:"),
        "{stderr}"
    );
}
