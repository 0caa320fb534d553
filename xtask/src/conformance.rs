//! `cargo xtask conformance`: the conformance runner, built in release mode because property tests
//! against real libvirt are slow in debug builds.

use std::process::ExitCode;

use crate::{
    daemon, private_libvirt,
    util::{Cmd, Result, project_root, require_crate},
};

/// The runner with its arguments; running it also starts and stops the shared private libvirtd
/// around it (see [`daemon::with_shared`]). Every release of [`private_libvirt::RELEASES`] gets
/// its test and daemon columns (`--with-libvirt <prefix>`), fetched first if missing.
#[derive(Debug)]
pub struct Runner {
    args: Vec<String>,
    prefixes: Vec<std::path::PathBuf>,
}

/// The runner after the checks it needs; the caller decides whether its exit status is passed
/// through (`cargo xtask conformance`) or is a step that must pass (`ci`).
pub fn command(args: &[String]) -> Result<Runner> {
    require_crate(&project_root()?, "crates/virtstream", "virtstream")?;
    let prefixes = private_libvirt::ensure_all()?
        .into_iter()
        .map(|(_, prefix)| prefix)
        .collect();
    Ok(Runner {
        args: args.to_vec(),
        prefixes,
    })
}

/// Whether a private libvirtd can be had: one named by `$VIRTSTREAM_DAEMON_URI`, or root to start
/// one (it needs a mount namespace).
fn daemon_possible() -> bool {
    let named = std::env::var_os("VIRTSTREAM_DAEMON_URI").is_some_and(|uri| !uri.is_empty());
    named
        || Cmd::new("id")
            .arg("-u")
            .read_quietly()
            .as_deref()
            .map(str::trim)
            == Some("0")
}

/// `work` with the shared daemon's URI, or, when none can be had, with none: the runner then
/// shows the daemon columns as unavailable and exits 3 (incomplete) while every other backend
/// runs, instead of the whole job stopping at the daemon's start.
fn with_daemon_if_possible<T>(work: impl FnOnce(Option<&str>) -> Result<T>) -> Result<T> {
    if daemon_possible() {
        return daemon::with_shared(work);
    }
    println!(
        "not root and no VIRTSTREAM_DAEMON_URI: no private libvirtd; the daemon and test-daemon \
         columns will be unavailable"
    );
    work(None)
}

impl Runner {
    pub fn run(self) -> Result<()> {
        with_daemon_if_possible(|uri| self.cmd(uri)?.run())
    }

    pub fn exit_code(self) -> Result<ExitCode> {
        with_daemon_if_possible(|uri| self.cmd(uri)?.exit_code())
    }

    fn cmd(&self, uri: Option<&str>) -> Result<Cmd> {
        let runner = Cmd::cargo(&project_root()?).args([
            "run",
            "--release",
            "--package",
            "virtstream",
            "--",
            "conformance",
        ]);
        let runner = self.prefixes.iter().fold(runner, |runner, prefix| {
            runner.arg("--with-libvirt").arg(prefix)
        });
        Ok(daemon::with_uri(runner, uri).args(&self.args))
    }
}
