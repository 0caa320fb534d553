//! The command line: what each subcommand takes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sparse volume transfers over libvirt streams, and the stream conformance matrix.
#[derive(Debug, Parser)]
#[command(name = "virtstream", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy a local file into a storage volume.
    Upload(TransferArgs),
    /// Copy a storage volume into a local file.
    Download(TransferArgs),
    /// Run every contract rule against the chosen backends and print the rule × backend table.
    Conformance(ConformanceArgs),
    /// A private storage-only libvirtd for tests and demos, outliving this command.
    Daemon(DaemonArgs),
    /// Play scenario files against a backend: each result, or the first mismatch as a diff.
    Replay(ScenarioArgs),
    /// Play scenario files against a (real) backend and write its results into them.
    Record(ScenarioArgs),
    /// Many random transfers through a daemon (aborts and daemon restarts among them), each
    /// checked against its source, under a watchdog, with memory sampled; then a report.
    Soak(SoakArgs),
}

#[derive(Debug, Args)]
pub struct SoakArgs {
    /// How many transfers.
    #[arg(long, default_value_t = 1000)]
    pub transfers: u32,
    /// Seed of the plan (default: from the clock; printed, so a run can be replayed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Largest volume, in bytes (suffixes K, M, G).
    #[arg(long, default_value = "64M", value_parser = parse_bytes)]
    pub max_size: u64,
    /// A running daemon to use instead of a private one; restart transfers are then skipped.
    #[arg(long)]
    pub uri: Option<String>,
    /// Storage pool on --uri's daemon (a private daemon's is `default`).
    #[arg(long, default_value = "default")]
    pub pool: String,
    /// Seconds a transfer may take before it counts as a hang.
    #[arg(long, default_value_t = 60)]
    pub deadline: u64,
    /// Most the resident memory may grow between warm-up and the end, in MiB.
    // Measured over 1,000-transfer runs: 1-3 MiB of growth; transient peaks up to ~56 MiB over
    // the baseline (NONBLOCK downloads, whose packets libvirt queues while the event loop runs)
    // are freed by the end. One leaked 256 KiB packet per transfer would cross 64 MiB in 256.
    #[arg(long, default_value_t = 64)]
    pub memory_bound_mib: u64,
    /// Where report.md and report.json are written.
    #[arg(long, default_value = "target/soak")]
    pub report_dir: PathBuf,
    /// Flip one byte of the first completed, non-empty transfer from this index on, before it
    /// is checked (proves a corrupted transfer is reported).
    #[arg(long, hide = true)]
    pub inject_mismatch: Option<u32>,
}

/// A byte count with an optional binary suffix: `16M`, `512K`, `1G`, `4096`.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let (digits, shift) = match text.strip_suffix(['K', 'k']) {
        Some(digits) => (digits, 10),
        None => match text.strip_suffix(['M', 'm']) {
            Some(digits) => (digits, 20),
            None => match text.strip_suffix(['G', 'g']) {
                Some(digits) => (digits, 30),
                None => (text, 0),
            },
        },
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a byte count like 4096, 512K, 16M or 1G"))?;
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Scenario files (*.scn).
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// The backend to play them on.
    #[arg(long, value_enum)]
    pub backend: BackendName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DaemonAction {
    /// Start one and print VIRTSTREAM_DAEMON_URI=<uri>.
    Start,
    /// Stop it and remove its directory.
    Stop,
    /// Print VIRTSTREAM_DAEMON_URI=<uri> of the running one.
    Env,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// What to do.
    #[arg(value_enum)]
    pub action: DaemonAction,
    /// Where the running daemon is recorded (default: virtstream-daemon.state in the temp dir).
    #[arg(long)]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TransferArgs {
    /// libvirt connection URI, e.g. storage:///system?socket=/tmp/vs-x/libvirt-sock or qemu:///system.
    #[arg(long)]
    pub uri: String,
    /// Storage pool name.
    #[arg(long)]
    pub pool: String,
    /// Volume name within the pool.
    #[arg(long)]
    pub vol: String,
    /// The local file.
    pub file: PathBuf,
    /// Move holes as holes (SEEK_DATA / SEEK_HOLE on the file, sparse streams on the volume).
    #[arg(long)]
    pub sparse: bool,
    /// Byte offset in the volume.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
    /// Bytes to move; 0 means to the end.
    #[arg(long, default_value_t = 0)]
    pub length: u64,
}

/// A backend of the conformance matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendName {
    /// The simulator's remote (libvirtd socket) profile.
    SimRemote,
    /// The simulator's local (in-process fdstream) profile.
    SimLocal,
    /// Real libvirt's in-process test driver (test:///default).
    Test,
    /// Real libvirt's storage driver on a private libvirtd ($VIRTSTREAM_DAEMON_URI, or one started for the run).
    Daemon,
}

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Backends to check (default: all four).
    #[arg(long = "backend", value_enum)]
    pub backends: Vec<BackendName>,
    /// Recorded scenarios to replay (default: fixtures/scenarios of this checkout).
    #[arg(long)]
    pub scenarios: Option<PathBuf>,
    /// Cases per differential property (sim-remote against daemon).
    #[arg(long, default_value_t = 256)]
    pub cases: u32,
    /// Where report.md and report.json are written.
    #[arg(long, default_value = "target/conformance")]
    pub report_dir: PathBuf,
}
