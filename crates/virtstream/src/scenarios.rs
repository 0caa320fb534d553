//! `virtstream replay` and `virtstream record`: scenario files against one backend.

use std::path::{Path, PathBuf};

use stream_conformance::scenario::{self, Scenario, read_scenario_file};
use stream_core::{Error, ErrorKind, Result};

use crate::cli::ScenarioArgs;
use crate::conformance::{label, open};

fn fail(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// What `record` does, said when it is given a file that does not exist.
const RECORD_NEEDS_A_FILE: &str = "record plays the operations of an existing scenario file on \
    the backend and writes the results into it; write the file's setup and operations first \
    (format: conformance/README.md)";

/// Every file, parsed, before any backend is opened: a bad path fails at once. Files are read
/// by the one reader that refuses devices, FIFOs and files past the size cap; `when_missing`
/// says what a missing file means to the command.
fn load_all<'a>(
    paths: &'a [PathBuf],
    when_missing: Option<&str>,
) -> Result<Vec<(&'a Path, Scenario)>> {
    paths
        .iter()
        .map(|path| {
            let text = read_scenario_file(path).map_err(|error| match when_missing {
                Some(what) if error.is_not_found() => {
                    fail(format!("{} does not exist: {what}", path.display()))
                }
                _ => fail(format!("cannot read {}: {error}", path.display())),
            })?;
            let scenario = scenario::parse(&text)
                .map_err(|error| fail(format!("{}: {error}", path.display())))?;
            Ok((path.as_path(), scenario))
        })
        .collect()
}

pub fn replay(args: &ScenarioArgs) -> Result<()> {
    let scenarios = load_all(&args.scenarios, None)?;
    let backend = open(args.backend).map_err(fail)?;
    let mut failed = 0;
    for (path, scenario) in &scenarios {
        match scenario::play(scenario, backend.as_ref()) {
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
            scenarios.len()
        ))),
    }
}

pub fn record(args: &ScenarioArgs) -> Result<()> {
    let scenarios = load_all(&args.scenarios, Some(RECORD_NEEDS_A_FILE))?;
    let backend = open(args.backend).map_err(fail)?;
    for (path, scenario) in &scenarios {
        let recorded = scenario::record(scenario, backend.as_ref())
            .map_err(|why| fail(format!("{}: {why}", path.display())))?;
        replace(path, &recorded.to_string())
            .map_err(|error| fail(format!("cannot write {}: {error}", path.display())))?;
        println!("recorded {} on {}", path.display(), label(args.backend));
    }
    Ok(())
}

/// Writes `text` into `path` by a new file renamed over it: nothing follows a link that was
/// put at `path` after it was read, and a failed write leaves the old file whole. The file
/// keeps its permission bits.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let directory = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut new = tempfile::Builder::new()
        .prefix(".virtstream-record-")
        .tempfile_in(directory)?;
    new.write_all(text.as_bytes())?;
    if let Ok(old) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = old.permissions().mode() & 0o777;
        new.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    new.persist(path).map(drop).map_err(|error| error.error)
}
