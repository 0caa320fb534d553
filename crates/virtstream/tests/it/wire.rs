//! libvirt's wire traffic for the recorded client runs (fixtures/rpc): replayed against a fresh
//! private libvirtd, each run ends as recorded and passes the same messages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use stream_libvirt::daemon::LocalDaemon;
use stream_rpc::client_runs::{ClientRun, RunOutcome, Tools, parse_runs, record, write_inputs};
use stream_rpc::differential::compare;
use stream_rpc::record::{Record, parse_recording};

fn rpc_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/rpc")
}

fn runs() -> Vec<ClientRun> {
    let text = std::fs::read_to_string(rpc_fixtures().join("clients/runs.txt")).expect("runs.txt");
    parse_runs(&text).expect("runs.txt")
}

fn tools() -> Tools {
    Tools {
        clients: rpc_fixtures().join("clients"),
        python: "/usr/bin/python3".into(),
        virtstream: env!("CARGO_BIN_EXE_virtstream").into(),
    }
}

/// The daemon's socket from its `...?socket=PATH` URI.
fn socket_of(uri: &str) -> PathBuf {
    uri.split_once("socket=")
        .map(|(_, path)| PathBuf::from(path))
        .unwrap_or_else(|| panic!("no socket= in {uri}"))
}

/// Every run in order against `upstream`, in one private directory.
pub(super) fn replay(upstream: &Path) -> Vec<(ClientRun, RunOutcome)> {
    let dir = tempfile::tempdir().expect("tempdir");
    write_inputs(dir.path()).expect("inputs");
    runs()
        .into_iter()
        .map(|run| {
            let outcome = record(
                &run,
                upstream,
                dir.path(),
                &tools(),
                Duration::from_secs(60),
            )
            .unwrap_or_else(|error| panic!("{}: {error}", run.name));
            assert!(
                outcome.exited(run.exit),
                "{}: ended {:?}, not {}:\n{}",
                run.name,
                outcome.status,
                run.exit,
                outcome.output
            );
            (run, outcome)
        })
        .collect()
}

pub(super) fn recorded(name: &str) -> Vec<Record> {
    let path = rpc_fixtures().join(format!("libvirt-9.0/{name}.rec"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_recording(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

/// The runs against `upstream`, each compared with libvirtd 9.0's recording; every difference
/// is reported, not only the first run's.
pub(super) fn assert_replays_as_recorded(upstream: &Path) {
    let differences: Vec<String> = replay(upstream)
        .into_iter()
        .filter_map(|(run, outcome)| {
            let mut problems = outcome.comments.clone();
            if let Err(why) = compare(&recorded(&run.name), &outcome.records) {
                problems.push(why);
            }
            (!problems.is_empty()).then(|| format!("{}: {}", run.name, problems.join("\n")))
        })
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

/// The comparison itself, on libvirtd: a fresh daemon passes the messages it passed when the
/// recordings were made (what the served simulator is held to, shown to hold for libvirtd).
#[test]
fn a_fresh_libvirtd_passes_the_recorded_messages_again() {
    let daemon = LocalDaemon::start().expect("a private libvirtd (cargo xtask test runs as root)");
    assert_replays_as_recorded(&socket_of(daemon.uri()));
}
