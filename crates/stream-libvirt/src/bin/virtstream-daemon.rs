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
    \x20 --state FILE  default: <workspace>/target/virtstream-daemon.state";

fn main() -> ExitCode {
    let Some((command, state_file)) = parse(env::args().skip(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match command.as_str() {
        "start" => start(&state_file),
        "stop" => stop(&state_file),
        "env" => print_env(&state_file),
        _ => unreachable!("parse accepts only the three commands"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("virtstream-daemon: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The command and the state file, or `None` for anything else (then the usage is shown).
fn parse(mut args: impl Iterator<Item = String>) -> Option<(String, PathBuf)> {
    let command = args
        .next()
        .filter(|c| ["start", "stop", "env"].contains(&c.as_str()))?;
    let state_file = match (args.next().as_deref(), args.next(), args.next()) {
        (None, ..) => default_state_file(),
        (Some("--state"), Some(file), None) => PathBuf::from(file),
        _ => return None,
    };
    Some((command, state_file))
}

/// `$CARGO_TARGET_DIR` or the workspace's `target/`: where cargo's other per-checkout state lives.
fn default_state_file() -> PathBuf {
    let target = env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("virtstream-daemon.state")
}

fn start(state_file: &Path) -> Result<(), DaemonError> {
    let state = daemon_control::start(state_file)?;
    eprintln!("started libvirtd {} in {}", state.pid, state.dir.display());
    println!("{URI_ENV}={}", state.uri);
    Ok(())
}

fn stop(state_file: &Path) -> Result<(), DaemonError> {
    let (state, was_running) = daemon_control::stop(state_file)?;
    if was_running {
        eprintln!("stopped libvirtd {}", state.pid);
    } else {
        eprintln!("libvirtd {} was not running; removed its state", state.pid);
    }
    Ok(())
}

fn print_env(state_file: &Path) -> Result<(), DaemonError> {
    println!("{URI_ENV}={}", daemon_control::running(state_file)?.uri);
    Ok(())
}
