//! The recordings still hold on real libvirt: every scenario replays on the daemon (remote: the
//! storage driver's volumes, the test driver's screenshot) and the test driver (local).

use std::path::PathBuf;

use stream_conformance::scenario::replay_all;
use stream_core::StreamKind;
use stream_libvirt::LibvirtBackend;

use crate::support;

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scenarios")
}

#[test]
fn remote_recordings_replay_on_the_daemon() {
    let backend = LibvirtBackend::connect(&support::daemon_uri()).expect("daemon");
    let ran = replay_all(&scenarios(), StreamKind::Remote, &backend)
        .unwrap_or_else(|diff| panic!("{diff}"));
    assert!(ran >= 40, "only {ran} remote scenarios found");
}

#[test]
fn local_recordings_replay_on_the_test_driver() {
    let backend = LibvirtBackend::test_driver().expect("test driver");
    let ran = replay_all(&scenarios(), StreamKind::Local, &backend)
        .unwrap_or_else(|diff| panic!("{diff}"));
    assert!(ran >= 8, "only {ran} local scenarios found");
}

#[test]
fn remote_screenshot_recordings_replay_on_the_test_driver_through_the_daemon() {
    let uri = stream_libvirt::daemon::test_driver_uri(&support::daemon_uri())
        .unwrap_or_else(|error| panic!("{error}"));
    let backend = LibvirtBackend::connect(&uri).expect("test driver through the daemon");
    let ran = replay_all(&scenarios(), StreamKind::Remote, &backend)
        .unwrap_or_else(|diff| panic!("{diff}"));
    assert!(ran >= 4, "only {ran} remote screenshot scenarios found");
}
