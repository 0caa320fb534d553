//! `cargo xtask conformance`: the conformance runner, built in release mode because property tests
//! against real libvirt are slow in debug builds.

use crate::{
    setup,
    util::{Cmd, Result, project_root, require_crate},
};

/// The runner's command line after the checks it needs; the caller decides whether its exit
/// status is passed through (`cargo xtask conformance`) or is a step that must pass (`ci`).
pub fn command(args: &[String]) -> Result<Cmd> {
    let root = project_root()?;
    require_crate(&root, "conformance", "stream-conformance")?;
    setup::ensure_libvirt_if_used()?;
    Ok(Cmd::cargo(&root)
        .args([
            "run",
            "--release",
            "--package",
            "stream-conformance",
            "--bin",
            "conformance",
            "--",
        ])
        .args(args))
}
