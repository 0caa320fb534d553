//! Every scenario recorded from real libvirt replays identically on the simulator profile of
//! the same stream kind.

use std::path::PathBuf;

use stream_conformance::scenario::replay_all;
use stream_core::StreamKind;
use stream_sim::{Profile, SimBackend};

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios")
}

#[test]
fn remote_recordings_replay_on_sim_remote() {
    let ran = replay_all(
        &scenarios(),
        StreamKind::Remote,
        &SimBackend::new(Profile::Remote),
    )
    .unwrap_or_else(|diff| panic!("{diff}"));
    assert!(ran >= 40, "only {ran} remote scenarios found");
}

#[test]
fn local_recordings_replay_on_sim_local() {
    let ran = replay_all(
        &scenarios(),
        StreamKind::Local,
        &SimBackend::new(Profile::Local),
    )
    .unwrap_or_else(|diff| panic!("{diff}"));
    assert!(ran >= 8, "only {ran} local scenarios found");
}
