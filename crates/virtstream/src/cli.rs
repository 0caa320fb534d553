//! The command line: what each subcommand takes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sparse volume transfers over libvirt streams, and the stream conformance matrix.
#[derive(Debug, Parser)]
#[command(name = "virtstream", version)]
pub struct Cli {
    /// Use the libvirt unpacked under PREFIX (by `cargo xtask setup`: target/libvirt-11.3)
    /// instead of the system's, client library and private daemon alike: virtstream re-executes
    /// itself with LD_LIBRARY_PATH set and checks that it loaded that release. Real-libvirt
    /// columns are then named test-<release>, daemon-<release>.
    #[arg(long, global = true, value_name = "PREFIX")]
    pub libvirt: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy a local file into a storage volume.
    Upload(TransferArgs),
    /// Copy a storage volume into a local file.
    Download(TransferArgs),
    /// Run every contract rule and recorded scenario against the chosen backends and print the
    /// rule × backend table.
    ///
    /// Exit status: 0 every check that ran passed; 1 a check failed, or the run could not start;
    /// 3 incomplete: nothing failed, but a backend could not be opened (its column is n/a, with
    /// the reason).
    Conformance(ConformanceArgs),
    /// A private storage-only libvirtd for tests and demos, outliving this command.
    Daemon(DaemonArgs),
    /// Play scenario files against a backend: each result, or the first mismatch as a diff.
    Replay(ScenarioArgs),
    /// Play the operations of existing scenario files on a (real) backend and write its results
    /// into them.
    Record(ScenarioArgs),
    /// Serve the simulator's pools, volumes and test domain on a unix socket, behind libvirt's
    /// wire protocol: any libvirt client (virsh, python3-libvirt, Sys::Virt, virt programs)
    /// connects to the URI it prints as to a libvirtd. No root, no libvirt daemon, no TCP.
    /// SIGINT or SIGTERM stops it and removes the socket.
    Serve(ServeArgs),
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
    /// Threads running transfers at once (1: one transfer at a time, as before).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: u32,
    /// Connections the threads share: thread `i` uses connection `i % connections`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub connections: u32,
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

/// A byte count with an optional binary suffix (`4096`, `512K`, `16M`, `1G`, `2T`; lower case
/// too), in the layout notation's syntax, so the command line and layouts read sizes alike.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let upper = text.to_ascii_uppercase();
    stream_core::layout::parse_length(&upper).map_err(|why| {
        format!(
            "`{text}` is not a byte count ({why}): sizes are whole numbers of bytes, 0 or more, \
             like 4096, 512K, 16M or 1G"
        )
    })
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The socket to listen on; its directory must be yours and 0700. Default: a new private
    /// directory under $TMPDIR, removed at exit.
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// A volume of the pool `default` to start with, NAME=LAYOUT in the layout notation with
    /// `+` between extents (`disk.raw=D4K+H1M+D10`); repeatable.
    #[arg(long = "volume", value_name = "NAME=LAYOUT")]
    pub volumes: Vec<String>,
    /// A fault plan every stream follows, one fault per line at byte positions: `error at=64K
    /// code=38 domain=38 message="..."`, `die at=1M` (the connection is cut), `stall at=2M` (the
    /// transfer goes quiet), `disk-full at=512K` (an upload's writes fail, ENOSPC).
    #[arg(long, value_name = "FILE")]
    pub faults: Option<PathBuf>,
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
    /// Start one and print `VIRTSTREAM_DAEMON_URI=<uri>`.
    Start,
    /// Stop it and remove its directory.
    Stop,
    /// Print `VIRTSTREAM_DAEMON_URI=<uri>` of the running one.
    Env,
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// What to do.
    #[arg(value_enum)]
    pub action: DaemonAction,
    /// Where the running daemon is recorded (default: `$XDG_RUNTIME_DIR/virtstream/daemon.state`
    /// when that is your own 0700 directory, else `$TMPDIR/virtstream-<uid>/daemon.state`). Only a
    /// 0600 file of yours, in a directory no other user can write, is believed.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = TRANSFER_HELP)]
pub struct TransferArgs {
    /// libvirt connection URI: storage:///system?socket=PATH (a private daemon's, see `virtstream
    /// daemon env`), qemu:///system, …; or sim:// (sim://?layout=D4K+H1M+D10) for the in-process
    /// simulator, no libvirt needed.
    #[arg(long)]
    pub uri: String,
    /// Storage pool name (a private daemon's pool is `default`).
    #[arg(long)]
    pub pool: String,
    /// Volume name within the pool.
    #[arg(long)]
    pub vol: String,
    /// The local file; for download, `-` is stdout, and a device or FIFO is written through.
    pub file: PathBuf,
    /// Move holes as holes (SEEK_DATA / SEEK_HOLE on the file, sparse streams on the volume).
    #[arg(long)]
    pub sparse: bool,
    /// Byte offset in the volume (suffixes K, M, G, T).
    #[arg(long, default_value = "0", value_parser = parse_bytes, allow_hyphen_values = true)]
    pub offset: u64,
    /// Bytes to move; 0 means to the end (suffixes K, M, G, T).
    #[arg(long, default_value = "0", value_parser = parse_bytes, allow_hyphen_values = true)]
    pub length: u64,
    /// upload: create the volume if it does not exist (raw, sized to what the upload writes, or
    /// --capacity).
    #[arg(long)]
    pub create: bool,
    /// upload --create: the new volume's size in bytes (suffixes K, M, G, T).
    #[arg(long, value_parser = parse_bytes, requires = "create", allow_hyphen_values = true)]
    pub capacity: Option<u64>,
    /// upload: let the upload change the volume's size (a whole-volume upload sizes it to the
    /// file; a range past its end grows it).
    #[arg(long)]
    pub resize: bool,
}

/// The rules of upload and download, shown under `--help`.
const TRANSFER_HELP: &str = "\
Rules:
  upload without --offset/--length (a whole-volume upload) leaves the volume holding exactly the
  file: same size, same bytes, with or without --sparse. If the sizes differ it is refused unless
  --resize is given. An upload into a range never changes the volume's size unless --resize is
  given. The volume must exist (or pass --create).
  download writes a regular file under a temporary name beside it and renames it into place when
  complete (keeping an existing file's mode, owner and group); stdout (-), FIFOs and devices are
  written through, holes as zeros. Ctrl-C or SIGTERM removes a partial download (exit 130/143).

Examples:
  eval \"$(virtstream daemon start)\"
  virtstream upload --uri \"$VIRTSTREAM_DAEMON_URI\" --pool default --vol disk.raw disk.raw --sparse --create
  virtstream download --uri \"$VIRTSTREAM_DAEMON_URI\" --pool default --vol disk.raw copy.raw --sparse
  virtstream download --uri 'sim://?layout=D4K+H1M+D10' --pool p --vol v - | wc -c";

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
    /// Real libvirt's test driver through that libvirtd (test+unix:///default on its socket): the screenshot as a remote stream.
    TestDaemon,
    /// Real libvirt (libvirt.so as the client) talking to `virtstream serve`'s simulator, served in this process on a private socket.
    Served,
    /// The same through the test driver's URI (test+unix:///default on the served socket): the screenshot as a remote stream.
    ServedTest,
}

#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Backends to check (default: all seven).
    #[arg(long = "backend", value_enum)]
    pub backends: Vec<BackendName>,
    /// Replay the scenarios under DIR (*.scn, recursively; each directory a group) instead of
    /// the recorded ones built into virtstream. A missing or empty DIR, or an unreadable file in
    /// it, is an error.
    #[arg(long, value_name = "DIR")]
    pub scenarios: Option<PathBuf>,
    /// Cases per differential property (sim-remote against daemon).
    #[arg(long, default_value_t = 256)]
    pub cases: u32,
    /// Where report.md and report.json are written.
    #[arg(long, default_value = "target/conformance")]
    pub report_dir: PathBuf,
    /// Also run the test and daemon columns on the libvirt unpacked under PREFIX (repeatable):
    /// a child `virtstream --libvirt PREFIX conformance`, run beside this one, whose columns
    /// (test-<release>, daemon-<release>) join this table. Its own report and output go to
    /// <report-dir>/libvirt-<release>/.
    #[arg(long = "with-libvirt", value_name = "PREFIX")]
    pub with_libvirt: Vec<PathBuf>,
    /// Also write the report's cells to FILE, for a parent run that joins them to its table.
    #[arg(long, value_name = "FILE", hide = true)]
    pub cells_to: Option<PathBuf>,
}
