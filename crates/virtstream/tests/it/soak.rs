//! `virtstream soak` end to end: a short run with aborts and daemon restarts passes with no
//! mismatch and no hang, one at a time and on threads sharing connections, and a run with a
//! planted corruption fails and names it.

use std::path::Path;
use std::process::{Command, Output};

/// Run the soak, return its output and its report.json.
fn soak(report_dir: &Path, args: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_virtstream"))
        .arg("soak")
        .args(args)
        .arg("--report-dir")
        .arg(report_dir)
        .output()
        .expect("run virtstream soak");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = std::fs::read_to_string(report_dir.join("report.json")).unwrap_or_else(|error| {
        panic!(
            "no report.json ({error}); the soak needs libvirt (`cargo xtask setup`) and, without \
             --uri, root to start its own libvirtd\nstdout:\n{stdout}\nstderr:\n{stderr}"
        )
    });
    (output, report)
}

/// The number after `"key": ` in report.json.
fn count(report: &str, key: &str) -> u64 {
    let needle = format!("\"{key}\": ");
    let at = report
        .find(&needle)
        .unwrap_or_else(|| panic!("report.json has no {key}: {report}"))
        + needle.len();
    report[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("{key} is not a number: {report}"))
}

/// Seed 2 with these sizes draws 2 aborts and 2 restarts (one SIGTERM, one SIGKILL) in 40
/// transfers; the private daemon is the soak's own, so it can restart it.
#[test]
fn a_short_soak_with_aborts_and_restarts_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (output, report) = soak(
        dir.path(),
        &["--transfers", "40", "--seed", "2", "--max-size", "4M"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "soak failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("\"passed\": true"), "{report}");
    assert_eq!(count(&report, "transfers"), 40, "{report}");
    assert_eq!(count(&report, "mismatches"), 0, "{report}");
    assert_eq!(count(&report, "hangs"), 0, "{report}");
    assert_eq!(count(&report, "unexpected_failures"), 0, "{report}");
    assert!(count(&report, "aborted") >= 1, "no abort drawn: {report}");
    assert!(
        count(&report, "restarted") >= 1,
        "no restart drawn: {report}"
    );
    assert!(stdout.contains("seed 2"), "the seed is printed: {stdout}");
    assert!(dir.path().join("report.md").is_file());
}

/// One byte flipped before the check must fail the run, as a mismatch with its offset, on a
/// daemon given by --uri (the shared one), whose restart transfers are skipped and said so.
#[test]
fn a_planted_mismatch_fails_the_soak() {
    let uri = stream_libvirt::daemon::shared_uri()
        .unwrap_or_else(|error| panic!("no storage daemon: {error}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let (output, report) = soak(
        dir.path(),
        &[
            "--transfers",
            "10",
            "--seed",
            "2",
            "--max-size",
            "1M",
            "--uri",
            &uri,
            "--inject-mismatch",
            "3",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "a mismatch must fail: {stdout}");
    assert_eq!(count(&report, "mismatches"), 1, "{report}");
    assert!(report.contains("\"passed\": false"), "{report}");
    assert!(stdout.contains("first difference at offset"), "{stdout}");
    assert!(stdout.contains("restarts skipped"), "{stdout}");
}

/// The same soak on 4 threads sharing 2 connections: every transfer accounted for, none
/// mismatched, hung or failing unexpectedly, the restarts cutting the others' transfers as a
/// dead daemon does; the report compares the aggregate throughput with one stream alone.
#[test]
fn a_short_concurrent_soak_with_aborts_and_restarts_passes_and_reports_throughput() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (output, report) = soak(
        dir.path(),
        &[
            "--transfers",
            "40",
            "--seed",
            "2",
            "--max-size",
            "4M",
            "--threads",
            "4",
            "--connections",
            "2",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "soak failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("\"passed\": true"), "{report}");
    assert_eq!(count(&report, "transfers"), 40, "{report}");
    assert_eq!(count(&report, "threads"), 4, "{report}");
    assert_eq!(count(&report, "connections"), 2, "{report}");
    assert_eq!(count(&report, "mismatches"), 0, "{report}");
    assert_eq!(count(&report, "hangs"), 0, "{report}");
    assert_eq!(count(&report, "unexpected_failures"), 0, "{report}");
    assert!(
        count(&report, "restarted") >= 2,
        "no restart drawn: {report}"
    );
    assert!(!report.contains("\"throughput_ratio\": null"), "{report}");
    assert!(
        stdout.contains("one stream alone") && stdout.contains("4 threads on 2 connections"),
        "{stdout}"
    );
}

/// A corruption planted in one of many concurrent transfers still fails the run.
#[test]
fn a_planted_mismatch_fails_a_concurrent_soak() {
    let uri = stream_libvirt::daemon::shared_uri()
        .unwrap_or_else(|error| panic!("no storage daemon: {error}"));
    let dir = tempfile::tempdir().expect("temp dir");
    let (output, report) = soak(
        dir.path(),
        &[
            "--transfers",
            "12",
            "--seed",
            "2",
            "--max-size",
            "1M",
            "--uri",
            &uri,
            "--inject-mismatch",
            "3",
            "--threads",
            "3",
            "--connections",
            "2",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "a mismatch must fail: {stdout}");
    assert_eq!(count(&report, "mismatches"), 1, "{report}");
    assert!(stdout.contains("first difference at offset"), "{stdout}");
}
