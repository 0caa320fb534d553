//! Filling the report: rules and scenario groups run on every column.

use std::panic::{AssertUnwindSafe, catch_unwind};

use stream_core::Backend;

use super::{Outcome, Report};
use crate::Scope;
use crate::columns::Columns;
use crate::rules::Rule;
use crate::scenario::{ScenarioFile, ScenarioSet, play};

/// Run one rule, catching a panic in the backend as a failure.
pub fn run_rule(rule: &Rule, backend: &dyn Backend) -> Outcome {
    if let Some(reason) = rule.needs.missing_from(&backend.capabilities()) {
        return Outcome::Skipped(reason);
    }
    let scope = Scope::new(backend);
    match catch_unwind(AssertUnwindSafe(|| (rule.check)(scope.fixture()))) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(why)) => Outcome::Fail(why),
        Err(_) => Outcome::Fail("panicked".into()),
    }
}

/// Run `rules` on each column (an unavailable column's cells are `n/a`).
pub fn run_suite(rules: &[Rule], columns: &mut Columns<'_>) -> Report {
    let rows = rules
        .iter()
        .map(|rule| {
            let outcomes = columns.run(|backend| run_rule(rule, backend));
            (rule.id.to_string(), rule.section.to_string(), outcomes)
        })
        .collect();
    Report {
        backends: columns.names(),
        rows,
    }
}

/// One row per scenario group, `scenarios/<group> (<n> files)`: on each column, every scenario
/// of the backend's stream kind replayed; groups of the other kind are skipped with the reason.
/// The count in the id shows how much of the set each row plays.
pub fn run_scenarios(
    set: &ScenarioSet,
    columns: &mut Columns<'_>,
) -> Vec<(String, String, Vec<Outcome>)> {
    set.groups()
        .into_iter()
        .map(|(group, files)| {
            let outcomes = columns.run(|backend| replay_group(&files, backend));
            let plural = if files.len() == 1 { "" } else { "s" };
            (
                format!("scenarios/{group} ({} file{plural})", files.len()),
                "scn".to_string(),
                outcomes,
            )
        })
        .collect()
}

fn replay_group(files: &[&ScenarioFile], backend: &dyn Backend) -> Outcome {
    let capabilities = backend.capabilities();
    let mine: Vec<_> = files
        .iter()
        .filter(|file| file.scenario.unplayable_on(&capabilities).is_none())
        .collect();
    if mine.is_empty() {
        // Every file is unplayable here; the first one's reason speaks for the group.
        let why = files[0].scenario.unplayable_on(&capabilities);
        return Outcome::Skipped(why.unwrap_or_default());
    }
    for file in mine {
        match play(&file.scenario, backend) {
            Ok(Ok(())) => {}
            Ok(Err(mismatch)) => return Outcome::Fail(format!("{}\n{mismatch}", file.name)),
            Err(why) => return Outcome::Fail(format!("{}: setup failed: {why}", file.name)),
        }
    }
    Outcome::Pass
}
