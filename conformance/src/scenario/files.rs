//! Finding the recorded scenario files and replaying them all on a backend.

use std::path::{Path, PathBuf};

use stream_core::{Backend, StreamKind};

use super::{parse, play};

/// Every `*.scn` under `dir`, sorted, recursively.
pub fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "scn") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Replay every scenario under `dir` recorded on streams of `kind` against `backend`; returns
/// how many ran, or every failure as a readable report.
pub fn replay_all(dir: &Path, kind: StreamKind, backend: &dyn Backend) -> Result<usize, String> {
    let mut ran = 0;
    let mut failures = Vec::new();
    for path in scenario_files(dir) {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let scenario = parse(&text).map_err(|error| format!("{}: {error}", path.display()))?;
        if scenario.setup.kind != kind {
            continue;
        }
        ran += 1;
        match play(&scenario, backend) {
            Ok(Ok(())) => {}
            Ok(Err(mismatch)) => failures.push(format!("{}\n{mismatch}", path.display())),
            Err(why) => failures.push(format!("{}: setup failed: {why}", path.display())),
        }
    }
    if failures.is_empty() {
        Ok(ran)
    } else {
        Err(failures.join("\n\n"))
    }
}
