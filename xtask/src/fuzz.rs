//! `cargo xtask fuzz [--cases N] [-- <target>…]`: the fuzz targets of `conformance/tests/fuzz.rs`
//! (proptests) in release mode with many cases each, one run per target, then a table of cases,
//! failures and time. Any failure makes the command fail.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::util::{Cmd, Error, Result, project_root};

/// The targets, as `#[test]` names in `conformance/tests/fuzz.rs`.
pub const TARGETS: [&str; 4] = [
    "scenario_parser",
    "layout_notation",
    "sim_sequences",
    "rpc_server",
];

/// Cases per target unless `--cases` says otherwise.
pub const DEFAULT_CASES: u32 = 100_000;

struct Tally {
    target: String,
    passed: bool,
    seconds: f64,
}

/// Runs `targets` (every one when empty) with `cases` random cases each.
pub fn run(cases: u32, targets: &[String]) -> Result<()> {
    let root = project_root()?;
    let chosen: Vec<String> = if targets.is_empty() {
        TARGETS.iter().map(|target| target.to_string()).collect()
    } else {
        targets.to_vec()
    };
    if let Some(unknown) = chosen
        .iter()
        .find(|target| !TARGETS.contains(&target.as_str()))
    {
        return Err(Error::new(format!(
            "no fuzz target `{unknown}`; the targets are {}",
            TARGETS.join(", ")
        )));
    }
    let binary = build(&root)?;
    let mut tallies = Vec::new();
    for target in &chosen {
        // The test binary itself, not `cargo test`: its time is fuzzing, not waiting for cargo's
        // lock while others build.
        let started = Instant::now();
        let passed = Cmd::new(&binary)
            .env("VIRTSTREAM_FUZZ_CASES", &cases.to_string())
            .args(["--exact", target, "--nocapture"])
            .run()
            .is_ok();
        tallies.push(Tally {
            target: target.clone(),
            passed,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    println!(
        "\n{:<16} {:>8} {:>9} {:>9} {:>9}",
        "target", "cases", "failures", "time", "cases/s"
    );
    for tally in &tallies {
        println!(
            "{:<16} {:>8} {:>9} {:>8.1}s {:>9.0}",
            tally.target,
            cases,
            u32::from(!tally.passed),
            tally.seconds,
            f64::from(cases) / tally.seconds.max(1e-9)
        );
    }
    let total: f64 = tallies.iter().map(|tally| tally.seconds).sum();
    println!("total {total:.1}s");
    let failed: Vec<&str> = tallies
        .iter()
        .filter(|tally| !tally.passed)
        .map(|tally| tally.target.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "fuzz target(s) failed: {} (the minimized input is printed above; record it under fixtures/fuzz/)",
            failed.join(", ")
        )))
    }
}

/// Builds the fuzz test binary in release mode and returns its path (from cargo's JSON messages).
fn build(root: &Path) -> Result<PathBuf> {
    let messages = Cmd::cargo(root)
        .args([
            "test",
            "--release",
            "--package",
            "stream-conformance",
            "--test",
            "fuzz",
        ])
        .args(["--no-run", "--message-format=json"])
        .read()?;
    messages
        .lines()
        .filter(|line| line.contains(r#""name":"fuzz""#) && line.contains(r#""kind":["test"]"#))
        .find_map(|line| {
            let (_, rest) = line.split_once(r#""executable":""#)?;
            rest.split_once('"').map(|(path, _)| PathBuf::from(path))
        })
        .ok_or_else(|| Error::new("cargo built the fuzz tests but named no executable"))
}
