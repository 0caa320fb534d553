//! `cargo xtask conformance`: the conformance runner, built in release mode because property tests
//! against real libvirt are slow in debug builds.

use std::process::ExitCode;

use crate::{
    daemon,
    util::{Cmd, Result, project_root, require_crate},
};

/// The runner with its arguments; running it also starts and stops the shared private libvirtd
/// around it (see [`daemon::with_shared`]).
#[derive(Debug)]
pub struct Runner {
    args: Vec<String>,
}

/// The runner after the checks it needs; the caller decides whether its exit status is passed
/// through (`cargo xtask conformance`) or is a step that must pass (`ci`).
pub fn command(args: &[String]) -> Result<Runner> {
    require_crate(&project_root()?, "crates/virtstream", "virtstream")?;
    Ok(Runner {
        args: args.to_vec(),
    })
}

impl Runner {
    pub fn run(self) -> Result<()> {
        daemon::with_shared(|uri| self.cmd(uri)?.run())
    }

    pub fn exit_code(self) -> Result<ExitCode> {
        daemon::with_shared(|uri| self.cmd(uri)?.exit_code())
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
        Ok(daemon::with_uri(runner, uri).args(&self.args))
    }
}
