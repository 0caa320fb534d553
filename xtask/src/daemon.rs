//! `cargo xtask daemon start|stop|env`, and the one private libvirtd that `test` and `conformance`
//! share, through stream-libvirt's `virtstream-daemon` (xtask itself must build without libvirt).

use std::{env, path::PathBuf};

use clap::ValueEnum;

use crate::{
    setup,
    util::{Cmd, Error, Result, project_root, require_crate},
};

/// Names the shared daemon to every test process; if set already, that daemon is used as it is.
const URI_ENV: &str = "VIRTSTREAM_DAEMON_URI";
const LIBVIRT_CRATE_DIR: &str = "crates/stream-libvirt";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Action {
    /// Start a private storage-only libvirtd and print `VIRTSTREAM_DAEMON_URI=<uri>`.
    Start,
    /// Stop it and remove its directory.
    Stop,
    /// Print `VIRTSTREAM_DAEMON_URI=<uri>` of the running one.
    Env,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Env => "env",
        }
    }
}

pub fn run(action: Action) -> Result<()> {
    setup::ensure_libvirt()?;
    daemon_cmd(action)?.run()
}

/// Runs `work` with the URI of the shared daemon (`None` while no crate uses libvirt). The daemon
/// is `$VIRTSTREAM_DAEMON_URI`'s when set; otherwise one is started for `work` and always stopped
/// after it, whether `work` passed or not.
pub fn with_shared<T>(work: impl FnOnce(Option<&str>) -> Result<T>) -> Result<T> {
    let root = project_root()?;
    if require_crate(&root, LIBVIRT_CRATE_DIR, "stream-libvirt").is_err() {
        setup::ensure_libvirt_if_used()?;
        return work(None);
    }
    setup::ensure_libvirt()?;
    if let Some(uri) = env::var(URI_ENV).ok().filter(|uri| !uri.is_empty()) {
        println!("using the daemon named by {URI_ENV}, leaving it running");
        return work(Some(&uri));
    }
    // A daemon started earlier with `cargo xtask daemon start` is used, and left running.
    if let Some(printed) = daemon_cmd(Action::Env)?.read_quietly() {
        if let Some(uri) = printed
            .lines()
            .find_map(|line| line.strip_prefix(URI_ENV)?.strip_prefix('='))
        {
            println!("using the daemon started by `cargo xtask daemon start`, leaving it running");
            return work(Some(uri));
        }
    }
    let printed = daemon_cmd(Action::Start)?.read()?;
    let uri = printed
        .lines()
        .find_map(|line| line.strip_prefix(URI_ENV)?.strip_prefix('='))
        .ok_or_else(|| Error::new(format!("virtstream-daemon start printed no {URI_ENV}=…")))?
        .to_owned();
    println!("started the shared daemon: {URI_ENV}={uri}");
    let result = work(Some(&uri));
    let stopped = daemon_cmd(Action::Stop)?.run();
    match (result, stopped) {
        (Ok(value), stopped) => stopped.map(|()| value),
        // The work's failure is the news; a failed stop is reported but does not replace it.
        (Err(err), Err(stop_err)) => {
            println!("also failed: {stop_err}");
            Err(err)
        }
        (Err(err), Ok(())) => Err(err),
    }
}

/// `cmd` with the shared daemon's URI in its environment, when there is one.
pub fn with_uri(cmd: Cmd, uri: Option<&str>) -> Cmd {
    match uri {
        Some(uri) => cmd.env(URI_ENV, uri),
        None => cmd,
    }
}

fn daemon_cmd(action: Action) -> Result<Cmd> {
    let root = project_root()?;
    // One state file per target dir, so `cargo xtask daemon stop` finds a daemon that a killed
    // `cargo xtask test` left running.
    let target = env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(Cmd::cargo(&root)
        .args([
            "run",
            "--quiet",
            "--package",
            "stream-libvirt",
            "--bin",
            "virtstream-daemon",
            "--",
            action.name(),
            "--state",
        ])
        .arg(root.join(target).join("virtstream-daemon.state")))
}
