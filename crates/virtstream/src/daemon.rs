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
    let state_file = match &args.state {
        Some(file) => file.clone(),
        None => daemon_control::default_state_file().map_err(to_error)?,
    };
    match args.action {
        DaemonAction::Start => {
            let done = daemon_control::start(&state_file).map_err(to_error)?;
            tell(&done);
            println!("{URI_ENV}={}", done.state.uri);
        }
        DaemonAction::Stop => tell(&daemon_control::stop(&state_file).map_err(to_error)?),
        DaemonAction::Env => println!(
            "{URI_ENV}={}",
            daemon_control::running(&state_file).map_err(to_error)?.uri
        ),
    }
    Ok(())
}

/// What was done, on stderr: stdout is only the URI, for `eval "$(virtstream daemon start)"`.
fn tell(done: &daemon_control::Done) {
    for message in &done.messages {
        eprintln!("{message}");
    }
}
