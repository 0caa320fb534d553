//! `cargo xtask ci`: everything CI checks, in the order that fails fastest: formatting, lints,
//! tests, then the conformance suite.

use crate::{
    conformance, test,
    util::{Cmd, Result, project_root},
};

pub fn run() -> Result<()> {
    let root = project_root()?;
    Cmd::cargo(&root)
        .args(["fmt", "--all", "--", "--check"])
        .run()?;
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
    test::run(&[])?;
    conformance::command(&[])?.run()
}
