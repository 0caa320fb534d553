//! `virtstream daemon start|stop|env`: the project's private libvirtd for people outside this
//! repository (the same as `cargo xtask daemon`).

use stream_core::{Error, ErrorKind, Result};
use stream_libvirt::daemon::URI_ENV;
use stream_libvirt::daemon_control;

use crate::cli::{DaemonAction, DaemonArgs};

fn to_error(error: stream_libvirt::daemon::DaemonError) -> Error {
    Error::new(ErrorKind::System, error.to_string())
}

pub fn run(args: &DaemonArgs) -> Result<()> {
    let state_file = args
        .state
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("virtstream-daemon.state"));
    match args.action {
        DaemonAction::Start => {
            let state = daemon_control::start(&state_file).map_err(to_error)?;
            eprintln!(
                "started libvirtd {} in {} (state: {})",
                state.pid,
                state.dir.display(),
                state_file.display()
            );
            println!("{URI_ENV}={}", state.uri);
        }
        DaemonAction::Stop => {
            let (state, was_running) = daemon_control::stop(&state_file).map_err(to_error)?;
            let how = if was_running {
                "stopped"
            } else {
                "removed the state of dead"
            };
            eprintln!("{how} libvirtd {}", state.pid);
        }
        DaemonAction::Env => println!(
            "{URI_ENV}={}",
            daemon_control::running(&state_file).map_err(to_error)?.uri
        ),
    }
    Ok(())
}
