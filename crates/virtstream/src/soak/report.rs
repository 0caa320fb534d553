//! The soak's tallies and verdict, shown three ways: a table on stdout, `report.md` and
//! `report.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;
use stream_conformance::json;

use super::drive::{Failure, Moved, Outcome};
use super::memory::Sample;
use super::plan::Plan;
use super::verify::Mismatch;
use crate::cli::SoakArgs;

const MIB: f64 = 1024.0 * 1024.0;

/// Counts for one kind of transfer (direction × sparse × blocking).
#[derive(Debug, Clone, Copy, Default)]
struct Kind {
    run: u32,
    verified: u32,
    aborted: u32,
    restarted: u32,
    failed: u32,
    mismatched: u32,
    skipped: u32,
    /// The largest resident size seen during one transfer of this kind.
    peak: u64,
}

/// Memory samples and the bound on growth after warm-up.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub warm: Sample,
    pub end: Sample,
    pub bound: u64,
    /// Whether `VmHWM` could be reset before each transfer (else peaks are the run's so far).
    pub per_transfer_peaks: bool,
    /// The largest peak of one transfer, and which.
    top: Option<(u64, String)>,
}

impl Memory {
    fn growth(&self) -> Option<i64> {
        Some(self.end.rss? as i64 - self.warm.rss? as i64)
    }
}

/// One stream alone against the soak's threads at once, on the same transfers (all verified).
#[derive(Debug, Clone)]
pub struct Throughput {
    pub transfers: u32,
    /// Volume bytes of one pass (data, holes and zeros).
    pub bytes: u64,
    pub threads: u32,
    pub connections: u32,
    /// Wall time of each pass one at a time on one connection, and of each concurrent pass.
    pub alone: Vec<Duration>,
    pub together: Vec<Duration>,
}

impl Throughput {
    fn median(times: &[Duration]) -> Duration {
        let mut sorted = times.to_vec();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }

    fn rate(&self, times: &[Duration]) -> f64 {
        self.bytes as f64 / MIB / Self::median(times).as_secs_f64().max(1e-9)
    }

    /// Aggregate throughput over one stream alone's.
    pub fn ratio(&self) -> f64 {
        self.rate(&self.together) / self.rate(&self.alone)
    }

    fn line(&self) -> String {
        format!(
            "throughput: {} transfers ({:.1} MiB of volume bytes): one stream alone {:.0} MiB/s, {} threads on {} connections {:.0} MiB/s aggregate ({:.2}x), medians of {} alternating passes each, every transfer verified",
            self.transfers,
            self.bytes as f64 / MIB,
            self.rate(&self.alone),
            self.threads,
            self.connections,
            self.rate(&self.together),
            self.ratio(),
            self.alone.len()
        )
    }
}

#[derive(Debug)]
pub struct Report {
    seed: u64,
    planned: u32,
    threads: u32,
    connections: u32,
    pub throughput: Option<Throughput>,
    max_size: u64,
    uri: String,
    restartable: bool,
    pub memory: Memory,
    pub wall: Duration,
    pub stopped_early: Option<String>,
    kinds: BTreeMap<String, Kind>,
    moved: Moved,
    mismatches: Vec<(String, Mismatch)>,
    restart_errors: Vec<(String, Failure)>,
    failures: Vec<(String, Failure)>,
    hangs: Vec<String>,
    restart_times: Vec<Duration>,
}

impl Report {
    pub fn new(seed: u64, args: &SoakArgs, uri: &str, restartable: bool) -> Report {
        Report {
            seed,
            planned: args.transfers,
            threads: args.threads,
            connections: args.connections,
            throughput: None,
            max_size: args.max_size,
            uri: uri.to_owned(),
            restartable,
            memory: Memory {
                bound: args.memory_bound_mib << 20,
                per_transfer_peaks: true,
                ..Memory::default()
            },
            wall: Duration::ZERO,
            stopped_early: None,
            kinds: BTreeMap::new(),
            moved: Moved::default(),
            mismatches: Vec::new(),
            restart_errors: Vec::new(),
            failures: Vec::new(),
            hangs: Vec::new(),
            restart_times: Vec::new(),
        }
    }

    fn kind(&mut self, plan: &Plan) -> &mut Kind {
        self.kinds.entry(plan.kind()).or_default()
    }

    /// A restart transfer not run: the daemon is not ours to restart.
    pub fn skip(&mut self, plan: &Plan) {
        self.kind(plan).skipped += 1;
    }

    /// A transfer that did not end within the deadline; it counts as run in its kind's row.
    pub fn hang(&mut self, plan: &Plan, deadline: Duration) {
        self.kind(plan).run += 1;
        self.hangs
            .push(format!("{plan} (no end within {deadline:?})"));
    }

    pub fn restart_took(&mut self, took: Duration) {
        self.restart_times.push(took);
    }

    pub fn record(&mut self, plan: &Plan, outcome: &Outcome, peak: Option<u64>) {
        let described = plan.to_string();
        if let Some(peak) = peak {
            if self.memory.top.as_ref().is_none_or(|(top, _)| peak > *top) {
                self.memory.top = Some((peak, described.clone()));
            }
            let kind = self.kind(plan);
            kind.peak = kind.peak.max(peak);
        }
        let add = |total: &mut Moved, moved: &Moved| {
            total.data += moved.data;
            total.holes += moved.holes;
            total.would_blocks += moved.would_blocks;
            total.lost_events += moved.lost_events;
        };
        let kind = self.kind(plan);
        kind.run += 1;
        match outcome {
            Outcome::Verified(moved) => {
                kind.verified += 1;
                add(&mut self.moved, moved);
            }
            Outcome::Aborted(moved) => {
                kind.aborted += 1;
                add(&mut self.moved, moved);
            }
            Outcome::Mismatch(moved, mismatch) => {
                kind.mismatched += 1;
                add(&mut self.moved, moved);
                println!("MISMATCH {described}: {mismatch}");
                self.mismatches.push((described, mismatch.clone()));
            }
            Outcome::FailedAfterRestart(moved, failure) => {
                kind.restarted += 1;
                add(&mut self.moved, moved);
                self.restart_errors.push((described, failure.clone()));
            }
            Outcome::Failed(failure) => {
                kind.failed += 1;
                println!("FAILED {described}: {}: {}", failure.stage, failure.error);
                self.failures.push((described, failure.clone()));
            }
        }
    }

    fn total(&self) -> Kind {
        self.kinds.values().fold(Kind::default(), |sum, kind| Kind {
            run: sum.run + kind.run,
            verified: sum.verified + kind.verified,
            aborted: sum.aborted + kind.aborted,
            restarted: sum.restarted + kind.restarted,
            failed: sum.failed + kind.failed,
            mismatched: sum.mismatched + kind.mismatched,
            skipped: sum.skipped + kind.skipped,
            peak: sum.peak.max(kind.peak),
        })
    }

    pub fn progress(&self, done: u32) -> String {
        let total = self.total();
        format!(
            "  {done}/{} transfers: {} verified, {} aborted, {} cut by a restart, {} mismatches, {} unexpected failures, {:.0} MiB of data",
            self.planned,
            total.verified,
            total.aborted,
            total.restarted,
            total.mismatched,
            total.failed,
            self.moved.data as f64 / MIB
        )
    }

    /// Ok, or every reason the run failed.
    pub fn verdict(&self) -> Result<(), String> {
        let mut why = Vec::new();
        if let Some(stopped) = &self.stopped_early {
            why.push(format!("stopped early: {stopped}"));
        }
        if !self.mismatches.is_empty() {
            why.push(format!("{} mismatches", self.mismatches.len()));
        }
        if !self.hangs.is_empty() {
            why.push(format!("{} hangs", self.hangs.len()));
        }
        if !self.failures.is_empty() {
            why.push(format!("{} unexpected failures", self.failures.len()));
        }
        if let Some(growth) = self.memory.growth() {
            if growth > self.memory.bound as i64 {
                why.push(format!(
                    "memory grew {:.1} MiB after warm-up, over the {:.0} MiB bound",
                    growth as f64 / MIB,
                    self.memory.bound as f64 / MIB
                ));
            }
        }
        let total = self.total();
        if self.stopped_early.is_none() && total.run + total.skipped != self.planned {
            why.push(format!(
                "{} of {} transfers accounted for",
                total.run + total.skipped,
                self.planned
            ));
        }
        if why.is_empty() {
            Ok(())
        } else {
            Err(why.join("; "))
        }
    }

    /// Restart errors as `(count, "stage: message")`, most frequent first.
    fn restart_groups(&self) -> Vec<(usize, String)> {
        let mut groups: BTreeMap<String, usize> = BTreeMap::new();
        for (_, failure) in &self.restart_errors {
            *groups
                .entry(format!("{}: {}", failure.stage, failure.error))
                .or_default() += 1;
        }
        let mut groups: Vec<(usize, String)> =
            groups.into_iter().map(|(error, n)| (n, error)).collect();
        groups.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        groups
    }

    fn mib(bytes: Option<u64>) -> String {
        bytes.map_or_else(|| "?".into(), |b| format!("{:.1} MiB", b as f64 / MIB))
    }

    fn memory_line(&self) -> String {
        format!(
            "RSS after warm-up {}, at end {}, growth {} (bound {:.0} MiB), peak {}{}",
            Self::mib(self.memory.warm.rss),
            Self::mib(self.memory.end.rss),
            self.memory
                .growth()
                .map_or_else(|| "?".into(), |g| format!("{:.1} MiB", g as f64 / MIB)),
            self.memory.bound as f64 / MIB,
            Self::mib(self.peak()),
            match &self.memory.top {
                Some((_, plan)) if self.memory.per_transfer_peaks => format!(" during {plan}"),
                _ => String::new(),
            }
        )
    }

    /// The run's peak resident size.
    fn peak(&self) -> Option<u64> {
        let top = self.memory.top.as_ref().map(|(peak, _)| *peak);
        top.max(self.memory.end.peak)
    }

    fn restart_line(&self) -> String {
        if !self.restartable {
            return "restarts skipped: the daemon was given by --uri, not started by this run"
                .into();
        }
        let n = self.restart_times.len();
        let sum: Duration = self.restart_times.iter().sum();
        let max = self.restart_times.iter().max().copied().unwrap_or_default();
        format!(
            "{n} daemon restarts, {:.2} s on average, {:.2} s at most",
            if n == 0 {
                0.0
            } else {
                sum.as_secs_f64() / n as f64
            },
            max.as_secs_f64()
        )
    }

    /// The plain-text table for stdout (and, fenced, in report.md).
    pub fn table(&self) -> String {
        let mut out = String::new();
        // Transfers that overlap have no peak of their own: only the run's is shown then.
        let per_transfer = self.memory.per_transfer_peaks;
        let row = |out: &mut String, name: &str, k: &Kind| {
            let peak = if per_transfer {
                format!("{:.1}", k.peak as f64 / MIB)
            } else {
                "-".into()
            };
            let _ = writeln!(
                out,
                "{name:<26} {:>5} {:>9} {:>8} {:>10} {:>7} {:>11} {:>8} {peak:>9}",
                k.run, k.verified, k.aborted, k.restarted, k.failed, k.mismatched, k.skipped,
            );
        };
        let _ = writeln!(
            out,
            "{:<26} {:>5} {:>9} {:>8} {:>10} {:>7} {:>11} {:>8} {:>9}",
            "kind",
            "run",
            "verified",
            "aborted",
            "restarted",
            "failed",
            "mismatched",
            "skipped",
            "peak MiB"
        );
        for (name, kind) in &self.kinds {
            row(&mut out, name, kind);
        }
        row(&mut out, "total", &self.total());
        let total = self.total();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "transfers: {} run of {} planned ({} skipped)",
            total.run, self.planned, total.skipped
        );
        let _ = writeln!(
            out,
            "bytes through streams (verified and aborted transfers): {} of data ({:.1} MiB), {} in holes ({:.1} MiB)",
            self.moved.data,
            self.moved.data as f64 / MIB,
            self.moved.holes,
            self.moved.holes as f64 / MIB
        );
        let _ = writeln!(out, "mismatches: {}", self.mismatches.len());
        for (plan, mismatch) in &self.mismatches {
            let _ = writeln!(out, "  {plan}: {mismatch}");
        }
        let _ = writeln!(out, "hangs: {}", self.hangs.len());
        for hang in &self.hangs {
            let _ = writeln!(out, "  {hang}");
        }
        let _ = writeln!(out, "unexpected failures: {}", self.failures.len());
        for (plan, failure) in &self.failures {
            let _ = writeln!(out, "  {plan}: {}: {}", failure.stage, failure.error);
        }
        let _ = writeln!(
            out,
            "expected failures (daemon restarted mid-transfer): {}",
            self.restart_errors.len()
        );
        for (count, error) in self.restart_groups() {
            let _ = writeln!(out, "  {count}x {error}");
        }
        let _ = writeln!(
            out,
            "aborted (abort Ok, stream closed after): {}",
            total.aborted
        );
        let _ = writeln!(
            out,
            "NONBLOCK would-blocks: {}, of which the callback did not answer within {} ms: {}",
            self.moved.would_blocks,
            super::drive::EVENT_WAIT.as_millis(),
            self.moved.lost_events
        );
        let _ = writeln!(out, "{}", self.restart_line());
        let _ = writeln!(
            out,
            "concurrency: {} threads sharing {} connections",
            self.threads, self.connections
        );
        if let Some(throughput) = &self.throughput {
            let _ = writeln!(out, "{}", throughput.line());
        }
        let _ = writeln!(out, "memory: {}", self.memory_line());
        let _ = writeln!(
            out,
            "wall time: {:.1} s; seed {}; max size {} bytes; daemon {}",
            self.wall.as_secs_f64(),
            self.seed,
            self.max_size,
            self.uri
        );
        if let Some(stopped) = &self.stopped_early {
            let _ = writeln!(out, "STOPPED EARLY: {stopped}");
        }
        let _ = write!(
            out,
            "verdict: {}",
            match self.verdict() {
                Ok(()) => "PASS".to_string(),
                Err(why) => format!("FAIL ({why})"),
            }
        );
        out
    }

    fn markdown(&self) -> String {
        format!(
            "# virtstream soak\n\n`virtstream soak --transfers {} --seed {} --max-size {} --threads {} --connections {}`\n\n```text\n{}\n```\n",
            self.planned,
            self.seed,
            self.max_size,
            self.threads,
            self.connections,
            self.table()
        )
    }

    fn json(&self) -> String {
        let total = self.total();
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(name, k)| {
                format!(
                    "{}: {{\"run\": {}, \"verified\": {}, \"aborted\": {}, \"restarted\": {}, \"failed\": {}, \"mismatched\": {}, \"skipped\": {}, \"peak_rss\": {}}}",
                    json::string(name),
                    k.run,
                    k.verified,
                    k.aborted,
                    k.restarted,
                    k.failed,
                    k.mismatched,
                    k.skipped,
                    k.peak
                )
            })
            .collect();
        let pairs = |items: &[(String, String)]| -> String {
            let items: Vec<String> = items
                .iter()
                .map(|(transfer, error)| {
                    format!(
                        "{{\"transfer\": {}, \"error\": {}}}",
                        json::string(transfer),
                        json::string(error)
                    )
                })
                .collect();
            format!("[{}]", items.join(", "))
        };
        let mismatches: Vec<(String, String)> = self
            .mismatches
            .iter()
            .map(|(plan, m)| (plan.clone(), m.to_string()))
            .collect();
        let failures: Vec<(String, String)> = self
            .failures
            .iter()
            .map(|(plan, f)| (plan.clone(), format!("{}: {}", f.stage, f.error)))
            .collect();
        let groups: Vec<String> = self
            .restart_groups()
            .into_iter()
            .map(|(n, error)| format!("{{\"count\": {n}, \"error\": {}}}", json::string(&error)))
            .collect();
        let hangs: Vec<String> = self.hangs.iter().map(|h| json::string(h)).collect();
        let number = |value: Option<u64>| value.map_or_else(|| "null".into(), |v| v.to_string());
        format!(
            "{{\n  \"seed\": {},\n  \"planned\": {},\n  \"max_size\": {},\n  \"uri\": {},\n  \"restartable\": {},\n  \"passed\": {},\n  \"stopped_early\": {},\n  \"transfers\": {},\n  \"verified\": {},\n  \"aborted\": {},\n  \"restarted\": {},\n  \"skipped\": {},\n  \"data_bytes\": {},\n  \"hole_bytes\": {},\n  \"mismatches\": {},\n  \"mismatch_list\": {},\n  \"hangs\": {},\n  \"hang_list\": [{}],\n  \"unexpected_failures\": {},\n  \"failure_list\": {},\n  \"restart_errors\": [{}],\n  \"would_blocks\": {},\n  \"lost_events\": {},\n  \"rss_warm\": {},\n  \"rss_end\": {},\n  \"rss_peak\": {},\n  \"memory_bound\": {},\n  \"wall_seconds\": {:.3},\n  \"threads\": {},\n  \"connections\": {},\n  \"throughput_ratio\": {},\n  \"kinds\": {{{}}}\n}}\n",
            self.seed,
            self.planned,
            self.max_size,
            json::string(&self.uri),
            self.restartable,
            self.verdict().is_ok(),
            self.stopped_early
                .as_deref()
                .map_or_else(|| "null".into(), json::string),
            total.run,
            total.verified,
            total.aborted,
            total.restarted,
            total.skipped,
            self.moved.data,
            self.moved.holes,
            self.mismatches.len(),
            pairs(&mismatches),
            self.hangs.len(),
            hangs.join(", "),
            self.failures.len(),
            pairs(&failures),
            groups.join(", "),
            self.moved.would_blocks,
            self.moved.lost_events,
            number(self.memory.warm.rss),
            number(self.memory.end.rss),
            number(self.peak()),
            self.memory.bound,
            self.wall.as_secs_f64(),
            self.threads,
            self.connections,
            self.throughput
                .as_ref()
                .map_or_else(|| "null".into(), |t| format!("{:.3}", t.ratio())),
            kinds.join(", ")
        )
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        std::fs::write(dir.join("report.json"), self.json())
    }
}
