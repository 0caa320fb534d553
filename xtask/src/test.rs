//! `cargo xtask test`: every test in the workspace, with nextest for unit and integration tests
//! and then `cargo test --doc`, because nextest cannot run doctests.

use crate::{
    daemon, private_libvirt,
    util::{Cmd, Error, Result, project_root},
};

const INSTALL_NEXTEST: [&str; 3] = ["install", "cargo-nextest", "--locked"];

/// Both runs share one private libvirtd (see [`daemon::with_shared`]) instead of one per test process.
/// The other libvirt releases are fetched first if missing: tests of them fail without.
pub fn run(nextest_args: &[String]) -> Result<()> {
    ensure_nextest()?;
    private_libvirt::ensure_all()?;
    let root = project_root()?;
    daemon::with_shared(|uri| {
        let nextest = Cmd::cargo(&root).args([
            "nextest",
            "run",
            "--workspace",
            "--all-targets",
            "--profile",
            "ci",
        ]);
        daemon::with_uri(nextest, uri).args(nextest_args).run()?;
        let doc = Cmd::cargo(&root).args(["test", "--workspace", "--doc"]);
        daemon::with_uri(doc, uri).run()
    })
}

/// Installs cargo-nextest when it is missing, since a fresh CI machine has to work unattended.
fn ensure_nextest() -> Result<()> {
    if let Some(version) = nextest_version()? {
        println!("found: {version}");
        return Ok(());
    }
    println!("missing: cargo-nextest; installing it");
    Cmd::cargo(&project_root()?).args(INSTALL_NEXTEST).run()?;
    match nextest_version()? {
        Some(version) => {
            println!("installed: {version}");
            Ok(())
        }
        None => Err(Error::new(format!(
            "`cargo nextest --version` still fails after installing (is cargo's bin directory on \
             PATH?); install it with `cargo {}`",
            INSTALL_NEXTEST.join(" ")
        ))),
    }
}

/// The first line of `cargo nextest --version`, or `None` when nextest does not run.
fn nextest_version() -> Result<Option<String>> {
    let probe = Cmd::cargo(&project_root()?).args(["nextest", "--version"]);
    // Only the version line is wanted, so the probe's output is read, not echoed.
    Ok(probe
        .read_quietly()
        .map(|out| out.lines().next().unwrap_or_default().to_owned()))
}
