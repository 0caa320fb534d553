//! `cargo xtask lint`: the checks that need no libvirt daemon, in the order that fails fastest:
//! formatting, clippy with warnings as errors, and rustdoc with warnings as errors.

use crate::{
    setup,
    util::{Cmd, Result, project_root},
};

pub fn run() -> Result<()> {
    let root = project_root()?;
    Cmd::cargo(&root)
        .args(["fmt", "--all", "--", "--check"])
        .run()?;
    // clippy and rustdoc build stream-libvirt, which needs libvirt's headers.
    setup::ensure_libvirt_if_used()?;
    Cmd::cargo(&root)
        .args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])
        .run()?;
    Cmd::cargo(&root)
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings")
        .run()
}
