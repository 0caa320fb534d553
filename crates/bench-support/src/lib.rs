//! What the workspace's benches share: whether this is a full run, criterion's medians of this
//! run (for the ratio summaries), CPU time, the 1 GiB / 10 % data layout, and the alternating
//! side-by-side runner of the virsh comparisons.

pub mod alternating;

use std::path::PathBuf;
use std::time::Duration;

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use stream_core::Layout;

/// `cargo bench` passes `--bench`; under `cargo test` / nextest (`--list`, test mode) each
/// function runs once as a smoke test, and benches shrink their data.
pub fn full_run() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// 1 GiB with 10 % data: 102 × "1 MiB data, 9 MiB hole", then a 4 MiB hole (20 MiB when not
/// a full run).
pub fn tenth_data_layout() -> Layout {
    let mut notation = "D1M H9M ".repeat(if full_run() { 102 } else { 2 });
    notation.push_str("H4M");
    Layout::parse(&notation).expect("valid notation")
}

/// Ten samples over 15 s: transfers of a GiB take a few hundred milliseconds each.
pub fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
}

/// criterion's median estimate (ns) for `group/function` from this run.
pub fn median_ns(group: &str, function: &str) -> Option<f64> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let path = target
        .join("criterion")
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let json = std::fs::read_to_string(path).ok()?;
    let median = &json[json.find("\"median\"")?..];
    let value = &median[median.find("\"point_estimate\":")? + 17..];
    value[..value.find(',')?].trim().parse().ok()
}

/// Whose CPU time to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cpu {
    /// This process (all threads).
    Own,
    /// Its children that have been waited for (tools run as processes).
    Children,
}

fn cpu_time(who: Cpu) -> Duration {
    let who = match who {
        Cpu::Own => libc::RUSAGE_SELF,
        Cpu::Children => libc::RUSAGE_CHILDREN,
    };
    // SAFETY: getrusage fills the struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(who, &mut usage), 0, "getrusage");
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// The CPU time (user + system) `who` spends over `iterations` runs of `run`: for criterion's
/// `iter_custom`.
pub fn cpu_of(iterations: u64, who: Cpu, mut run: impl FnMut()) -> Duration {
    let before = cpu_time(who);
    for _ in 0..iterations {
        run();
    }
    cpu_time(who).saturating_sub(before)
}
