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
