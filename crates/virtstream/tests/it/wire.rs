//! libvirt's wire traffic for the recorded client runs (fixtures/rpc): replayed against a fresh
//! private libvirtd, each run ends as recorded and passes the same messages, on 9.0 and on 11.3.
//!
//! Record mode: with `VIRTSTREAM_RECORD_RPC=1` each replay against libvirtd is written over its
//! recording (`fixtures/rpc/libvirt-<release>/NAME.rec`) before it is compared, as when the
//! recordings were made; `VIRTSTREAM_RECORD_RPC=NAME` records only the run NAME (a new one).

use std::path::{Path, PathBuf};
use std::time::Duration;

use stream_libvirt::daemon::{Installation, LocalDaemon};
use stream_rpc::client_runs::{ClientRun, RunOutcome, Tools, parse_runs, record, write_inputs};
use stream_rpc::differential::compare;
use stream_rpc::record::{Record, parse_recording};

fn rpc_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/rpc")
}

pub(super) fn runs() -> Vec<ClientRun> {
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
pub(super) fn socket_of(uri: &str) -> PathBuf {
    uri.split_once("socket=")
        .map(|(_, path)| PathBuf::from(path))
        .unwrap_or_else(|| panic!("no socket= in {uri}"))
}

/// A private directory holding the runs' inputs.
pub(super) fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_inputs(dir.path()).expect("inputs");
    dir
}

pub(super) fn run_one(run: &ClientRun, upstream: &Path, dir: &Path) -> RunOutcome {
    record(run, upstream, dir, &tools(), Duration::from_secs(60))
        .unwrap_or_else(|error| panic!("{}: {error}", run.name))
}

fn recording_path(release: &str, name: &str) -> PathBuf {
    rpc_fixtures().join(format!("libvirt-{release}/{name}.rec"))
}

/// libvirtd `release`'s recording of the run `name`.
pub(super) fn recorded(release: &str, name: &str) -> Vec<Record> {
    let path = recording_path(release, name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_recording(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

/// In record mode, `outcome` becomes the recording of `run` for `release`.
fn rerecord(release: &str, run: &ClientRun, outcome: &RunOutcome) {
    match std::env::var("VIRTSTREAM_RECORD_RPC") {
        Ok(which) if which == "1" || which == run.name => {}
        _ => return,
    }
    let path = recording_path(release, &run.name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let lines: Vec<String> = outcome.records.iter().map(Record::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

/// What is wrong with `outcome` as a replay of `run` against `release`'s recording (nothing: it
/// ended and passed the messages as recorded).
pub(super) fn problems(release: &str, run: &ClientRun, outcome: &RunOutcome) -> Option<String> {
    let mut problems = outcome.comments.clone();
    if !outcome.exited(run.exit) {
        problems.push(format!(
            "ended {:?}, not {}:\n{}",
            outcome.status, run.exit, outcome.output
        ));
    }
    if let Err(why) = compare(&recorded(release, &run.name), &outcome.records) {
        problems.push(why);
    }
    (!problems.is_empty()).then(|| format!("{}: {}", run.name, problems.join("\n")))
}

/// The comparison itself, on libvirtd: a fresh daemon passes the messages it passed when the
/// recordings were made (what the served simulator is held to, shown to hold for libvirtd).
#[test]
fn a_fresh_libvirtd_passes_the_recorded_messages_again() {
    let daemon = LocalDaemon::start().expect("a private libvirtd (cargo xtask test runs as root)");
    let (upstream, dir) = (socket_of(daemon.uri()), workdir());
    let differences: Vec<String> = runs()
        .iter()
        .filter_map(|run| {
            let outcome = run_one(run, &upstream, dir.path());
            rerecord("9.0", run, &outcome);
            problems("9.0", run, &outcome)
        })
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

/// The run that kills libvirtd 11.3.
const KILLS_11_3: &str = "vol-upload-longer-than-length";

/// libvirt 11.3's daemon (Debian 12's backport, under `target/libvirt-11.3`) with the same 9.0
/// clients passes its own recordings again, except that an upload longer than its `--length`
/// kills it (fixtures/libvirt-11.3/FINDINGS.md): 9.0 reports "No space left on device" and lives.
/// How many messages pass before the abort is a race, so that run is checked by the daemon's
/// death, not message by message.
#[test]
fn libvirtd_11_3_passes_its_recorded_messages_again_but_dies_of_an_upload_past_its_length() {
    let exe = std::env::current_exe().expect("the test binary's path");
    let prefix = stream_libvirt::daemon::unpacked_beside_test(&exe, "11.3")
        .unwrap_or_else(|why| panic!("{why}"));
    let mut daemon = LocalDaemon::start_of(Installation::at(prefix))
        .expect("a private libvirtd 11.3 (cargo xtask test runs as root)");
    let (upstream, dir) = (socket_of(daemon.uri()), workdir());
    let mut differences = Vec::new();
    let mut died = false;
    for run in runs() {
        let outcome = run_one(&run, &upstream, dir.path());
        rerecord("11.3", &run, &outcome);
        if run.name == KILLS_11_3 {
            let stderr = std::fs::read_to_string(daemon.dir().join("stderr.log")).unwrap();
            assert!(
                stderr.contains("double free or corruption"),
                "11.3's libvirtd no longer aborts on an upload past its length; stderr: {stderr}"
            );
            // virsh fails with "Connection reset by peer", or dies of SIGPIPE writing to it.
            assert!(
                outcome.exited(1) || outcome.exited(128 + 13),
                "virsh: {:?}",
                outcome.status
            );
            died = true;
            daemon
                .restart()
                .expect("restart libvirtd 11.3 on its directory");
            continue;
        }
        differences.extend(problems("11.3", &run, &outcome));
    }
    assert!(died, "runs.txt has no {KILLS_11_3}");
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}

/// `virtstream serve`'s engine: every recorded client run passes the messages libvirtd 9.0
/// passed (what may differ is `stream_rpc::differential`'s, nothing else).
#[test]
fn the_served_simulator_passes_the_messages_libvirtd_passed() {
    let server = stream_rpc::server::SimServer::start().expect("serve the simulator");
    let dir = workdir();
    let differences: Vec<String> = runs()
        .iter()
        .filter_map(|run| problems("9.0", run, &run_one(run, server.socket(), dir.path())))
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}
