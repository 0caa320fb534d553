//! `virtstream replay` and `record` on paths that are not scenario files: a device, a FIFO, a file
//! past the size cap, a file that does not exist yet (issue 10, items 9 and 17). Each is refused
//! at once with a message naming the rule; nothing hangs, nothing grows, nothing is created.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Run `command`, killing it if it is still running after `seconds`: a refusal must be
/// immediate, and the unfixed `replay /dev/zero` grew by a gigabyte a second.
pub fn within_seconds(command: &mut Command, seconds: u64) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run virtstream");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("kill");
            child.wait().expect("reap");
            panic!("{command:?} was still running after {seconds} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn scenario_command(verb: &str, path: &Path) -> Output {
    within_seconds(
        Command::new(env!("CARGO_BIN_EXE_virtstream"))
            .args([verb, "--backend", "sim-remote"])
            .arg(path),
        10,
    )
}

fn fails_with(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr should say {needle:?}: {stderr}"
        );
    }
}

#[test]
fn a_device_is_refused_at_once() {
    for verb in ["replay", "record"] {
        let output = scenario_command(verb, Path::new("/dev/zero"));
        fails_with(
            &output,
            &["/dev/zero", "not a regular file", "character device"],
        );
    }
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("pipe.scn");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    for verb in ["replay", "record"] {
        let output = scenario_command(verb, &fifo);
        fails_with(&output, &["pipe.scn", "not a regular file", "FIFO"]);
    }
}

#[test]
fn a_file_past_the_cap_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("big.scn");
    // A valid scenario padded with comment lines to one byte past 1 MiB: only its size is wrong.
    let mut text = String::from("kind remote\nnew\n\nabort\n=> ok\n");
    while text.len() <= 1 << 20 {
        text.push_str("# padding\n");
    }
    text.truncate((1 << 20) + 1);
    std::fs::write(&big, &text).expect("big scenario");
    for verb in ["replay", "record"] {
        let output = scenario_command(verb, &big);
        fails_with(&output, &["big.scn", "at most 1048576 bytes"]);
    }
    assert_eq!(
        std::fs::read_to_string(&big).expect("reread"),
        text,
        "record left it as it was"
    );
}

#[test]
fn a_file_at_the_cap_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let full = dir.path().join("full.scn");
    let mut text = String::from("kind remote\nnew\n\nabort\n=> ok\n");
    while text.len() < 1 << 20 {
        text.push('#');
    }
    text.truncate((1 << 20) - 1);
    text.push('\n');
    std::fs::write(&full, &text).expect("scenario");
    let output = scenario_command("replay", &full);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn record_into_a_missing_file_says_what_record_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("my.scn");
    let output = scenario_command("record", &missing);
    fails_with(
        &output,
        &[
            "my.scn does not exist",
            "record plays the operations of an existing scenario file",
            "writes the results into it",
        ],
    );
    assert!(!missing.exists(), "record created {}", missing.display());
}
