//! `virtstream serve`: the simulator behind libvirt's wire protocol on a unix socket, until
//! SIGINT or SIGTERM. Prints the URI to connect to on stdout (one line, for `$(...)`).

use std::io::Write;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::path::Path;
use stream_core::{Backend, Error, ErrorKind, Layout, Result, VolumeId};
use stream_rpc::server::{Server, socket_dir};

use stream_conformance::scenario::{ReadError, read_scenario_file};
use stream_sim::{DEFAULT_POOL, FaultPlan, Profile, SimBackend};

use crate::cli::ServeArgs;

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
    let text = read_scenario_file(path).map_err(|error| {
        refuse(match error {
            ReadError::NotRegular(kind) => {
                format!("not a regular file (a {kind}); a fault plan must be a regular file")
            }
            ReadError::TooLarge => "larger than 1 MiB; a fault plan is a few lines".into(),
            ReadError::NotText => "not UTF-8 text; a fault plan is text".into(),
            ReadError::Io(error) => error.to_string(),
        })
    })?;
    let plan: FaultPlan = text
        .parse()
        .map_err(|error: Error| refuse(error.message().to_string()))?;
    plan.check_served()
        .map_err(|error| refuse(error.message().to_string()))?;
    Ok(plan)
}

pub fn run(args: &ServeArgs) -> Result<()> {
    let sim = SimBackend::new(Profile::Remote);
    for spec in &args.volumes {
        preload(&sim, spec)?;
    }
    if let Some(path) = &args.faults {
        let plan = fault_plan(path)?;
        eprintln!(
            "virtstream serve: every stream follows the {} fault(s) of {}",
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
    let server = Server::bind(&socket, sim).map_err(system)?;
    println!("{}", server.uri());
    let _ = std::io::stdout().flush();
    eprintln!(
        "virtstream serve: listening (test domain: {}); SIGINT or SIGTERM stops",
        server.test_uri()
    );
    let signal = signals.forever().next();
    server.stop();
    drop(private_dir);
    if let Some(signal) = signal {
        eprintln!("virtstream serve: stopped by signal {signal}, socket removed");
    }
    Ok(())
}
