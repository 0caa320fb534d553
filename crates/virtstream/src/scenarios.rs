//! `virtstream replay` and `virtstream record`: scenario files against one backend.

use std::path::Path;

use stream_conformance::scenario::{self, Scenario};
use stream_core::{Error, ErrorKind, Result};

use crate::cli::ScenarioArgs;
use crate::conformance::{label, open};

fn fail(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

fn load(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| fail(format!("cannot read {}: {error}", path.display())))?;
    scenario::parse(&text).map_err(|error| fail(format!("{}: {error}", path.display())))
}

pub fn replay(args: &ScenarioArgs) -> Result<()> {
    let backend = open(args.backend).map_err(fail)?;
    let mut failed = 0;
    for path in &args.scenarios {
        let scenario = load(path)?;
        match scenario::play(&scenario, backend.as_ref()) {
            Ok(Ok(())) => println!("ok       {}", path.display()),
            Ok(Err(mismatch)) => {
                failed += 1;
                println!(
                    "MISMATCH {} on {}\n{mismatch}",
                    path.display(),
                    label(args.backend)
                );
            }
            Err(why) => {
                failed += 1;
                println!("SETUP    {}: {why}", path.display());
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(fail(format!(
            "{n} of {} scenarios did not match",
            args.scenarios.len()
        ))),
    }
}

pub fn record(args: &ScenarioArgs) -> Result<()> {
    let backend = open(args.backend).map_err(fail)?;
    for path in &args.scenarios {
        let recorded = scenario::record(&load(path)?, backend.as_ref())
            .map_err(|why| fail(format!("{}: {why}", path.display())))?;
        std::fs::write(path, recorded.to_string())
            .map_err(|error| fail(format!("cannot write {}: {error}", path.display())))?;
        println!("recorded {} on {}", path.display(), label(args.backend));
    }
    Ok(())
}
