//! `cargo xtask soak`: `virtstream soak` built in release mode (a debug build would spend the
//! run in unoptimised byte comparisons) on a private daemon of its own, since it must restart it.

use std::process::ExitCode;

use crate::{
    setup,
    util::{Cmd, Result, project_root, require_crate},
};

/// Runs the soak (on `threads` sharing `connections`, when given) with `args` and returns its exit status as this process's own: the report is
/// the verdict. `$VIRTSTREAM_DAEMON_URI` is deliberately not passed on: a shared daemon cannot
/// be restarted mid-transfer, so the soak starts its own unless `--uri` is among `args`.
pub fn run(threads: Option<u32>, connections: Option<u32>, args: &[String]) -> Result<ExitCode> {
    let root = project_root()?;
    require_crate(&root, "crates/virtstream", "virtstream")?;
    setup::ensure_libvirt()?;
    let mut concurrency = Vec::new();
    for (flag, value) in [("--threads", threads), ("--connections", connections)] {
        if let Some(value) = value {
            concurrency.extend([flag.to_string(), value.to_string()]);
        }
    }
    Cmd::cargo(&root)
        .args(["run", "--release", "--package", "virtstream", "--", "soak"])
        .args(concurrency)
        .args(args)
        .exit_code()
}
