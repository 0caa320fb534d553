//! `cargo xtask soak`: `virtstream soak` built in release mode (a debug build would spend the
//! run in unoptimised byte comparisons) on a private daemon of its own, since it must restart it.

use std::process::ExitCode;

use crate::{
    setup,
    util::{Cmd, Result, project_root, require_crate},
};

/// Runs the soak with `args` and returns its exit status as this process's own: the report is
/// the verdict. `$VIRTSTREAM_DAEMON_URI` is deliberately not passed on: a shared daemon cannot
/// be restarted mid-transfer, so the soak starts its own unless `--uri` is among `args`.
pub fn run(args: &[String]) -> Result<ExitCode> {
    let root = project_root()?;
    require_crate(&root, "crates/virtstream", "virtstream")?;
    setup::ensure_libvirt()?;
    Cmd::cargo(&root)
        .args(["run", "--release", "--package", "virtstream", "--", "soak"])
        .args(args)
        .exit_code()
}
