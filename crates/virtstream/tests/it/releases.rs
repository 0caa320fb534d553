//! `--libvirt PREFIX` and `--with-libvirt PREFIX`: another libvirt release (the 11.3 that
//! `cargo xtask setup` unpacks under `target/`) is really the one a column uses, a process that
//! was not started with its library refuses to pretend, and a missing release fails its columns
//! with what to run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `<target>/libvirt-11.3` beside this build; missing, the test fails saying what to run.
fn prefix_11_3() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    stream_libvirt::daemon::unpacked_beside_test(&exe, "11.3").unwrap_or_else(|why| panic!("{why}"))
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn virtstream() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_virtstream"));
    // The suite's shared daemon is the system's release.
    command
        .env_remove("VIRTSTREAM_DAEMON_URI")
        .env_remove("VIRTSTREAM_LIBVIRT_PREFIX");
    command
}

pub(super) fn explain(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A directory holding one local scenario, as a small `--scenarios` set.
fn one_local_scenario() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("scenarios/local/screenshot-guards.scn"),
        dir.path().join("screenshot-guards.scn"),
    )
    .unwrap();
    dir
}

#[test]
fn libvirt_prefix_runs_the_test_column_on_that_release() {
    let scenarios = one_local_scenario();
    let reports = tempfile::tempdir().unwrap();
    let output = virtstream()
        .arg("--libvirt")
        .arg(prefix_11_3())
        .args(["conformance", "--backend", "test", "--scenarios"])
        .arg(scenarios.path())
        .arg("--report-dir")
        .arg(reports.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", explain(&output));
    assert!(out.contains("libvirt 11.3.0 (the libvirt under "), "{out}");
    let header = out.lines().find(|line| line.starts_with('§')).unwrap();
    assert!(header.trim_end().ends_with(" test-11.3"), "{header}");
}

#[test]
fn libvirt_prefix_replays_recorded_scenarios_on_its_daemon() {
    let remote = fixtures().join("scenarios/remote/uploads");
    let files: Vec<PathBuf> = [
        "sparse-upload-data-and-holes.scn",
        "old-bytes-stay-under-a-hole.scn",
    ]
    .iter()
    .map(|name| remote.join(name))
    .collect();
    let output = virtstream()
        .arg("--libvirt")
        .arg(prefix_11_3())
        .args(["replay", "--backend", "daemon"])
        .args(&files)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(out.matches("ok       ").count(), 2, "{out}");
}

#[test]
fn a_process_without_the_release_library_refuses_to_run() {
    // The prefix named, but not LD_LIBRARY_PATH: the system's 9.0 is what got loaded.
    let output = virtstream()
        .env("VIRTSTREAM_LIBVIRT_PREFIX", prefix_11_3())
        .args(["replay", "--backend", "test"])
        .arg(fixtures().join("scenarios/local/screenshot-guards.scn"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("loaded libvirt 9.0.0, not "), "{err}");
    assert!(err.contains("'s 11.3.0"), "{err}");
}

#[test]
fn a_missing_release_fails_its_columns_saying_what_to_run() {
    let scenarios = one_local_scenario();
    let reports = tempfile::tempdir().unwrap();
    let output = virtstream()
        .args(["conformance", "--backend", "sim-local", "--scenarios"])
        .arg(scenarios.path())
        .arg("--report-dir")
        .arg(reports.path())
        .args(["--with-libvirt", "/nonexistent/libvirt-11.3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let out = String::from_utf8_lossy(&output.stdout);
    let header = out.lines().find(|line| line.starts_with('§')).unwrap();
    assert!(
        header.contains("test-libvirt-11.3") && header.contains("daemon-libvirt-11.3"),
        "{header}"
    );
    assert!(out.contains("cargo xtask setup"), "{out}");
    assert!(!out.contains(", 0 failed"), "{out}");
}
