//! `cargo xtask bench <target>`: one benchmark target, named by what it measures rather than by
//! the crate that holds it.

use clap::ValueEnum;

use crate::{
    setup,
    util::{Cmd, Result, project_root, require_crate},
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Target {
    /// The in-memory simulator (crate `stream-sim`).
    Sim,
    /// Real libvirt (crate `stream-libvirt`).
    Libvirt,
    /// The `virtstream` command-line tool (crate `virtstream`).
    Cli,
    /// `virtstream serve` against libvirtd, with virsh as the client (crate `virtstream`).
    Serve,
}

impl Target {
    /// The crate's directory, its package name and its bench target.
    fn location(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Sim => ("crates/stream-sim", "stream-sim", "sim"),
            Self::Libvirt => ("crates/stream-libvirt", "stream-libvirt", "libvirt"),
            Self::Cli => ("crates/virtstream", "virtstream", "cli"),
            Self::Serve => ("crates/virtstream", "virtstream", "serve"),
        }
    }

    fn links_libvirt(self) -> bool {
        matches!(self, Self::Libvirt | Self::Cli | Self::Serve)
    }
}

pub fn run(target: Target, args: &[String]) -> Result<()> {
    let root = project_root()?;
    let (dir, package, bench) = target.location();
    require_crate(&root, dir, package)?;
    if target.links_libvirt() {
        setup::ensure_libvirt_if_used()?;
    }
    if matches!(target, Target::Serve) {
        // The lean twin whose start the bench times beside `virtstream serve`'s.
        Cmd::cargo(&root)
            .args([
                "build",
                "--release",
                "--package",
                "stream-rpc",
                "--bin",
                "virtstream-serve",
            ])
            .run()?;
    }
    let mut cmd = Cmd::cargo(&root).args(["bench", "--package", package, "--bench", bench]);
    // Without extra arguments a bare `--` would only clutter the echoed line.
    if !args.is_empty() {
        cmd = cmd.arg("--").args(args);
    }
    cmd.run()
}
