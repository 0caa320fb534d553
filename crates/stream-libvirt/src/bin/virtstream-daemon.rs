//! `virtstream-daemon start|stop|env [--state FILE]`: a private libvirtd that outlives this command,
//! found again through a state file, for shells, CI steps and `cargo xtask daemon`.

use std::{
    env,
    path::{Path, PathBuf},
    process::ExitCode,
};

use stream_libvirt::daemon::{DaemonError, URI_ENV};
use stream_libvirt::daemon_control;

const USAGE: &str = "usage: virtstream-daemon start|stop|env [--state FILE]\n\
    \x20 start  start a private storage-only libvirtd and print VIRTSTREAM_DAEMON_URI=<uri>\n\
    \x20 stop   stop the daemon named by the state file and remove its directory\n\
    \x20 env    print VIRTSTREAM_DAEMON_URI=<uri> of the running daemon\n\
    \x20 --state FILE  default: $XDG_RUNTIME_DIR/virtstream/daemon.state, else\n\
    \x20               $TMPDIR/virtstream-<uid>/daemon.state";

fn main() -> ExitCode {
    let Some((command, state_file)) = parse(env::args().skip(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = state_file
        .map_or_else(daemon_control::default_state_file, Ok)
        .and_then(|state_file| match command.as_str() {
            "start" => start(&state_file),
            "stop" => stop(&state_file),
            "env" => print_env(&state_file),
            _ => unreachable!("parse accepts only the three commands"),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("virtstream-daemon: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The command and the state file given (`None`: the default), or `None` for anything else
/// (then the usage is shown).
fn parse(mut args: impl Iterator<Item = String>) -> Option<(String, Option<PathBuf>)> {
    let command = args
        .next()
        .filter(|c| ["start", "stop", "env"].contains(&c.as_str()))?;
    let state_file = match (args.next().as_deref(), args.next(), args.next()) {
        (None, ..) => None,
        (Some("--state"), Some(file), None) => Some(PathBuf::from(file)),
        _ => return None,
    };
    Some((command, state_file))
}

fn start(state_file: &Path) -> Result<(), DaemonError> {
    let done = daemon_control::start(state_file)?;
    tell(&done);
    println!("{URI_ENV}={}", done.state.uri);
    Ok(())
}

fn stop(state_file: &Path) -> Result<(), DaemonError> {
    tell(&daemon_control::stop(state_file)?);
    Ok(())
}

fn tell(done: &daemon_control::Done) {
    for message in &done.messages {
        eprintln!("{message}");
    }
}

fn print_env(state_file: &Path) -> Result<(), DaemonError> {
    println!("{URI_ENV}={}", daemon_control::running(state_file)?.uri);
    Ok(())
}
