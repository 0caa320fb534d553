//! insta snapshots of the canonical scenarios' traces on the simulator: one line per step,
//! `operation => result`. The .scn files hold libvirt's results; these snapshots make any
//! change in the simulator's behaviour a visible, reviewed diff even where a scenario is
//! re-recorded.

use std::path::PathBuf;

use stream_conformance::scenario::{ScenarioSet, run};
use stream_core::StreamKind;
use stream_sim::{Profile, SimBackend};

fn traces(group: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    let set = ScenarioSet::from_dir(&root.join(group)).unwrap_or_else(|error| panic!("{error}"));
    let mut out = Vec::new();
    for file in set.files() {
        let scenario = &file.scenario;
        let profile = match scenario.setup.kind {
            StreamKind::Remote => Profile::Remote,
            StreamKind::Local => Profile::Local,
        };
        let outcome = run(scenario, &SimBackend::new(profile)).expect("setup");
        out.push(format!("## {group}/{}", file.path));
        for (step, result) in scenario.steps.iter().zip(outcome.results) {
            out.push(format!("{} => {result}", step.text));
        }
    }
    out.join("\n")
}

#[test]
fn lifecycle_traces() {
    insta::assert_snapshot!(traces("remote/lifecycle"));
}

#[test]
fn hole_traces() {
    insta::assert_snapshot!(traces("remote/holes"));
}

#[test]
fn guard_traces() {
    insta::assert_snapshot!(traces("remote/guards"));
}

#[test]
fn local_traces() {
    insta::assert_snapshot!(traces("local"));
}
