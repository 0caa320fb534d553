//! `cargo xtask ci`: everything CI checks, in the order that fails fastest: formatting, clippy
//! and rustdoc (`lint`), tests, then the conformance suite.

use crate::{conformance, lint, test, util::Result};

pub fn run() -> Result<()> {
    lint::run()?;
    test::run(&[])?;
    conformance::command(&[])?.run()
}
