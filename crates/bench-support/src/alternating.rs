//! Side-by-side runs of two contenders (virsh, the baseline, and ours) on the same cases, in
//! alternating order, with the medians of wall and CPU time and their ratios as a table.
//!
//! Criterion's statistics assume independent samples; on a shared machine the page cache, the
//! disk's writeback and other users drift over minutes, so what matters more is that both
//! contenders see the same drift: each round runs every case once per contender, and which
//! contender goes first alternates from round to round.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::{Cpu, cpu_time};

/// One contender's run of a case: what to do and whose CPU time it spends.
pub struct Side<'a> {
    /// This process's threads (a library call) or its waited-for children (a tool).
    pub cpu: Cpu,
    /// One run; it panics on a failed transfer (a failure is not a sample).
    pub run: Box<dyn FnMut() + 'a>,
}

impl std::fmt::Debug for Side<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Side").field("cpu", &self.cpu).finish()
    }
}

/// A transfer both contenders perform.
pub struct Case<'a> {
    /// The table's first column.
    pub name: String,
    /// Before every run of either side, untimed (delete the volume a "fresh" case creates).
    pub prepare: Box<dyn FnMut() + 'a>,
    /// The baseline (virsh).
    pub virsh: Side<'a>,
    /// What is measured against it.
    pub ours: Side<'a>,
}

impl std::fmt::Debug for Case<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

/// One run's cost.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

fn measure(side: &mut Side<'_>) -> Sample {
    let (cpu, start) = (cpu_time(side.cpu), Instant::now());
    (side.run)();
    Sample {
        wall: start.elapsed(),
        cpu: cpu_time(side.cpu).saturating_sub(cpu),
    }
}

/// A case's medians over the rounds.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub virsh_wall: Duration,
    pub virsh_cpu: Duration,
    pub ours_wall: Duration,
    pub ours_cpu: Duration,
    pub runs: usize,
}

impl Row {
    pub fn wall_ratio(&self) -> f64 {
        self.ours_wall.as_secs_f64() / self.virsh_wall.as_secs_f64()
    }

    pub fn cpu_ratio(&self) -> f64 {
        self.ours_cpu.as_secs_f64() / self.virsh_cpu.as_secs_f64().max(1e-9)
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2
    }
}

/// Runs every case `rounds` times per side (at least once), virsh first in even rounds and ours
/// first in odd ones, printing each sample as it comes (a long run shows it is alive).
pub fn compare(cases: &mut [Case<'_>], rounds: usize) -> Vec<Row> {
    let rounds = rounds.max(1);
    let mut samples: Vec<[Vec<Sample>; 2]> = cases.iter().map(|_| [vec![], vec![]]).collect();
    for round in 0..rounds {
        for (case, samples) in cases.iter_mut().zip(&mut samples) {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for side in order {
                (case.prepare)();
                let sample = measure(if side == 0 {
                    &mut case.virsh
                } else {
                    &mut case.ours
                });
                eprintln!(
                    "round {}/{rounds} {:<36} {:<5} wall {:>8.3} s  cpu {:>8.3} s",
                    round + 1,
                    case.name,
                    ["virsh", "ours"][side],
                    sample.wall.as_secs_f64(),
                    sample.cpu.as_secs_f64()
                );
                samples[side].push(sample);
            }
        }
    }
    cases
        .iter()
        .zip(samples)
        .map(|(case, [virsh, ours])| Row {
            name: case.name.clone(),
            virsh_wall: median(virsh.iter().map(|s| s.wall).collect()),
            virsh_cpu: median(virsh.iter().map(|s| s.cpu).collect()),
            ours_wall: median(ours.iter().map(|s| s.wall).collect()),
            ours_cpu: median(ours.iter().map(|s| s.cpu).collect()),
            runs: rounds,
        })
        .collect()
}

/// The rows as a Markdown table; `ours` names the contender (`virtstream`, `library`).
pub fn table(title: &str, ours: &str, rows: &[Row]) -> String {
    table_of(title, "virsh", ours, rows)
}

/// [`table`] with the baseline named `baseline` (`libvirtd`, when virsh is on both sides).
pub fn table_of(title: &str, baseline: &str, ours: &str, rows: &[Row]) -> String {
    let mut text = format!("{title}\n\n");
    let runs = rows.first().map_or(0, |row| row.runs);
    let _ = writeln!(
        text,
        "Medians of {runs} alternating runs each; ratio = {ours} / {baseline} (lower is better).\n"
    );
    let _ = writeln!(
        text,
        "| transfer | {baseline} wall | {baseline} CPU | {ours} wall | {ours} CPU | ratio wall | ratio CPU |"
    );
    let _ = writeln!(text, "|---|---:|---:|---:|---:|---:|---:|");
    let seconds = |d: Duration| format!("{:.3} s", d.as_secs_f64());
    for row in rows {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            row.name,
            seconds(row.virsh_wall),
            seconds(row.virsh_cpu),
            seconds(row.ours_wall),
            seconds(row.ours_cpu),
            row.wall_ratio(),
            row.cpu_ratio()
        );
    }
    text
}

/// Where reports go: `$CARGO_TARGET_DIR/bench` (or the workspace's `target/bench`).
fn report_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("bench")
}

/// Prints `text` and writes it to `<report dir>/<name>.md`; returns the file's path.
pub fn publish(name: &str, text: &str) -> std::io::Result<PathBuf> {
    println!("\n{text}");
    let dir = report_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.md"));
    std::fs::write(&path, text)?;
    println!("written to {}", path.display());
    Ok(path)
}

/// The bench's cases as its arguments ask: those `--only WORD` keeps, `--runs N` rounds
/// (`default_rounds` without it) under `cargo bench`, one round under `cargo test` (where the
/// data shrinks too: it only checks the bench still runs).
pub fn compare_as_asked(mut cases: Vec<Case<'_>>, default_rounds: usize) -> Vec<Row> {
    if let Some(word) = only_from_args() {
        cases.retain(|case| case.name.contains(&word));
    }
    let rounds = if crate::full_run() {
        rounds_from_args(default_rounds)
    } else {
        1
    };
    compare(&mut cases, rounds)
}

/// `--runs N` from the bench's arguments (default `default`).
pub fn rounds_from_args(default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == "--runs")
        .and_then(|at| args.get(at + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// `--only WORD`: keep the cases whose name contains WORD (all without it).
pub fn only_from_args() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == "--only")
        .and_then(|at| args.get(at + 1))
        .cloned()
}
