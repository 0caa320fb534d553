//! A storage daemon killed mid-transfer: the next calls fail within 2 s with libvirt's error,
//! the process survives (no SIGPIPE death), and every later call fails too.

use std::time::{Duration, Instant};

use stream_core::{Backend, Layout, Recv, RecvFlags, Stream, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;
use stream_libvirt::daemon::LocalDaemon;

fn private_daemon_with(notation: &str) -> (LocalDaemon, LibvirtBackend, VolumeId) {
    let daemon = LocalDaemon::start()
        .unwrap_or_else(|error| panic!("cannot start a private libvirtd: {error}"));
    let backend = LibvirtBackend::connect(daemon.uri()).expect("connect");
    let volume = VolumeId::new("default", "victim.raw");
    backend
        .create_volume(&volume, &Layout::parse(notation).expect("layout"))
        .expect("volume");
    (daemon, backend, volume)
}

/// Call `step` until it fails; return the error and how long after the kill it came.
fn first_error(
    mut step: impl FnMut() -> stream_core::Result<()>,
) -> (stream_core::Error, Duration) {
    let killed = Instant::now();
    loop {
        if let Err(error) = step() {
            println!("first error {:?} after the kill: {error}", killed.elapsed());
            return (error, killed.elapsed());
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "no error 10 s after the daemon died"
        );
    }
}

fn every_later_call_fails(stream: &mut dyn Stream) {
    assert!(
        stream.send(&[1; 10]).is_err() || stream.recv(&mut [0; 10], RecvFlags::empty()).is_err()
    );
    assert!(stream.finish().is_err(), "finish after the daemon died");
    assert!(stream.send(&[1; 10]).is_err(), "send after a failed finish");
    assert!(
        stream.recv(&mut [0; 10], RecvFlags::empty()).is_err(),
        "recv after a failed finish"
    );
}

#[test]
fn daemon_killed_mid_upload() {
    let (mut daemon, backend, volume) = private_daemon_with("H256M");
    let mut stream = backend
        .open(StreamFlags::empty(), &Transfer::upload(volume, false))
        .expect("upload");
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..4 {
        stream.send(&chunk).expect("send before the kill");
    }
    daemon.kill().expect("kill");
    let (error, after) = first_error(|| stream.send(&chunk).map(drop));
    assert!(
        after < Duration::from_secs(2),
        "error came {after:?} after the kill: {error}"
    );
    assert!(
        error.libvirt_code().is_some(),
        "libvirt's own error expected: {error}"
    );
    every_later_call_fails(stream.as_mut());
}

#[test]
fn daemon_killed_mid_download() {
    let (mut daemon, backend, volume) = private_daemon_with("D64M");
    let mut stream = backend
        .open(StreamFlags::empty(), &Transfer::download(volume, false))
        .expect("download");
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..4 {
        assert!(matches!(
            stream.recv(&mut buf, RecvFlags::empty()),
            Ok(Recv::Data(_))
        ));
    }
    daemon.kill().expect("kill");
    let (error, after) = first_error(|| stream.recv(&mut buf, RecvFlags::empty()).map(drop));
    assert!(
        after < Duration::from_secs(2),
        "error came {after:?} after the kill: {error}"
    );
    assert!(
        error.libvirt_code().is_some(),
        "libvirt's own error expected: {error}"
    );
    every_later_call_fails(stream.as_mut());
}
