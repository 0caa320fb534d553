//! `virtstream-daemon start|stop|env [--state FILE]`: a private libvirtd that outlives this command,
//! found again through a state file, for shells, CI steps and `cargo xtask daemon`.

use std::{
    env,
    path::{Path, PathBuf},
    process::ExitCode,
};

use stream_libvirt::daemon::{DaemonError, DaemonState, LocalDaemon, URI_ENV};

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
    if state_file.exists() {
        let old = DaemonState::read(state_file)?;
        if old.is_running() {
            return Err(DaemonError::Unusable(format!(
                "already started: libvirtd {} at {} (state file {}); run `virtstream-daemon stop` (or `cargo xtask daemon stop`) first",
                old.pid,
                old.uri,
                state_file.display()
            )));
        }
        // A daemon that died (or a machine that rebooted) left its state; clear it and go on.
        eprintln!("removing stale state of libvirtd {} (not running)", old.pid);
        old.stop()?;
        remove(state_file)?;
    }
    let state = LocalDaemon::start()?.persist();
    if let Err(err) = write_state(&state, state_file) {
        // Without the state file nothing could find this daemon again; do not leave it running.
        let _ = state.stop();
        return Err(err);
    }
    eprintln!("started libvirtd {} in {}", state.pid, state.dir.display());
    println!("{URI_ENV}={}", state.uri);
    Ok(())
}

fn write_state(state: &DaemonState, state_file: &Path) -> Result<(), DaemonError> {
    if let Some(parent) = state_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| DaemonError::Io {
            what: format!("creating {}", parent.display()),
            source,
        })?;
    }
    state.write(state_file)
}

fn stop(state_file: &Path) -> Result<(), DaemonError> {
    let state = read_existing(state_file)?;
    let (pid, was_running) = (state.pid, state.is_running());
    state.stop()?;
    remove(state_file)?;
    if was_running {
        eprintln!("stopped libvirtd {pid}");
    } else {
        eprintln!("libvirtd {pid} was not running; removed its state");
    }
    Ok(())
}

fn print_env(state_file: &Path) -> Result<(), DaemonError> {
    let state = read_existing(state_file)?;
    if !state.is_running() {
        return Err(DaemonError::Unusable(format!(
            "libvirtd {} named by {} is not running; `virtstream-daemon start` starts one",
            state.pid,
            state_file.display()
        )));
    }
    println!("{URI_ENV}={}", state.uri);
    Ok(())
}

/// The state, with a message that says no daemon was started when the file does not exist.
fn read_existing(state_file: &Path) -> Result<DaemonState, DaemonError> {
    if !state_file.exists() {
        return Err(DaemonError::State {
            path: state_file.to_owned(),
            reason: "does not exist: no daemon was started (`virtstream-daemon start`)".to_owned(),
        });
    }
    DaemonState::read(state_file)
}

fn remove(state_file: &Path) -> Result<(), DaemonError> {
    std::fs::remove_file(state_file).map_err(|source| DaemonError::Io {
        what: format!("removing {}", state_file.display()),
        source,
    })
}
