//! `virtstream serve` (and its libvirt-free twin `virtstream-serve`): the simulator behind
//! libvirt's wire protocol on a unix socket, until SIGINT or SIGTERM, printing the URI to connect
//! to on stdout (one line, for `$(...)`). Both front ends parse their arguments into [`Options`]
//! and call [`run`].

use std::io::Write;
use std::path::{Path, PathBuf};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use stream_core::text_file::{TextFileError, read_text_file};
use stream_core::{Backend, Error, ErrorKind, Layout, Result, VolumeId};
use stream_sim::{DEFAULT_POOL, FaultPlan, Profile, SimBackend};

use crate::server::socket_dir;

/// What to serve.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The program's name in messages (`virtstream serve`).
    pub name: String,
    /// The socket to listen on (its directory the caller's and 0700); `None`: a new private
    /// directory, removed at exit.
    pub socket: Option<PathBuf>,
    /// `NAME=LAYOUT` volumes of the pool `default` to start with.
    pub volumes: Vec<String>,
    /// A fault plan file every stream follows.
    pub faults: Option<PathBuf>,
}

fn refused(what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidArgument, what.to_string())
}

/// `NAME=LAYOUT` of `--volume`.
fn preload(sim: &SimBackend, spec: &str) -> Result<()> {
    let (name, layout) = spec.split_once('=').ok_or_else(|| {
        refused(format!(
            "--volume {spec:?}: expected NAME=LAYOUT, like disk.raw=D4K+H1M+D10"
        ))
    })?;
    if name.is_empty() || name.contains('/') {
        return Err(refused(format!(
            "--volume {spec:?}: a volume name is not empty and has no '/'"
        )));
    }
    let layout = Layout::parse(&layout.replace(['+', ','], " "))
        .map_err(|why| refused(format!("--volume {spec:?}: {why}")))?;
    sim.create_volume(&VolumeId::new(DEFAULT_POOL, name), &layout)
}

/// The plan of `--faults FILE`: a regular text file of at most 1 MiB, every fault one a served
/// stream can follow.
fn fault_plan(path: &Path) -> Result<FaultPlan> {
    let refuse = |why: String| refused(format!("--faults {}: {why}", path.display()));
    let text = read_text_file(path, 1 << 20).map_err(|error| {
        refuse(match error {
            TextFileError::NotRegular(kind) => {
                format!("not a regular file (a {kind}); a fault plan must be a regular file")
            }
            TextFileError::TooLarge(_) => "larger than 1 MiB; a fault plan is a few lines".into(),
            TextFileError::NotText => "not UTF-8 text; a fault plan is text".into(),
            TextFileError::Io(error) => error.to_string(),
        })
    })?;
    let plan: FaultPlan = text
        .parse()
        .map_err(|error: Error| refuse(error.message().to_string()))?;
    plan.check_served()
        .map_err(|error| refuse(error.message().to_string()))?;
    Ok(plan)
}

/// Serves until SIGINT or SIGTERM: the URI on stdout (one line), the rest on stderr.
pub fn run(args: &Options) -> Result<()> {
    let sim = SimBackend::new(Profile::Remote);
    for spec in &args.volumes {
        preload(&sim, spec)?;
    }
    if let Some(path) = &args.faults {
        let plan = fault_plan(path)?;
        eprintln!(
            "{}: every stream follows the {} fault(s) of {}",
            args.name,
            plan.faults().len(),
            path.display()
        );
        sim.inject_every(plan);
    }
    // Taken before the socket exists, so a signal never leaves it behind.
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| {
        Error::new(
            ErrorKind::System,
            format!("cannot take SIGINT/SIGTERM: {e}"),
        )
    })?;
    let system = |e: socket_dir::SocketDirError| Error::new(ErrorKind::System, e.to_string());
    let (private_dir, socket) = match &args.socket {
        Some(socket) => (None, socket.clone()),
        None => {
            let dir = socket_dir::private_temp_dir().map_err(system)?;
            let socket = dir.path().join("libvirt-sock");
            (Some(dir), socket)
        }
    };
    let server = crate::server::Server::bind(&socket, sim).map_err(system)?;
    println!("{}", server.uri());
    let _ = std::io::stdout().flush();
    eprintln!(
        "{}: listening (test domain: {}); SIGINT or SIGTERM stops",
        args.name,
        server.test_uri()
    );
    let signal = signals.forever().next();
    server.stop();
    drop(private_dir);
    if let Some(signal) = signal {
        eprintln!("{}: stopped by signal {signal}, socket removed", args.name);
    }
    Ok(())
}
