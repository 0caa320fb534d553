//! Running rules against backends and printing the rule × backend table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use stream_core::Backend;

use crate::Fixture;
use crate::columns::Columns;
use crate::json;
use crate::rules::Rule;
use crate::scenario::{Scenario, parse, play, scenario_files};

/// What happened when a rule ran on a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend kept the rule.
    Pass,
    /// It did not; the message says how.
    Fail(String),
    /// The backend cannot do what the rule needs; the reason is reported, never counted as a pass.
    Skipped(String),
}

impl Outcome {
    /// `pass`, `FAIL` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skipped(_) => "skipped",
        }
    }
}

/// Run one rule, catching a panic in the backend as a failure.
pub fn run_rule(rule: &Rule, backend: &dyn Backend) -> Outcome {
    if let Some(reason) = rule.needs.missing_from(&backend.capabilities()) {
        return Outcome::Skipped(reason);
    }
    match catch_unwind(AssertUnwindSafe(|| (rule.check)(Fixture::new(backend)))) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(why)) => Outcome::Fail(why),
        Err(_) => Outcome::Fail("panicked".into()),
    }
}

/// Every rule on every named backend.
#[derive(Debug, Default)]
pub struct Report {
    /// Backend names, in column order.
    pub backends: Vec<String>,
    /// Per rule or scenario group: its id, section, and one outcome per backend.
    pub rows: Vec<(String, String, Vec<Outcome>)>,
}

/// Run `rules` on each column.
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

/// One row per scenario group (a directory under `dir`): on each column, every scenario of the
/// backend's stream kind replayed; groups of the other kind are skipped with the reason.
pub fn run_scenarios(dir: &Path, columns: &mut Columns<'_>) -> Vec<(String, String, Vec<Outcome>)> {
    let mut groups: BTreeMap<String, Vec<(PathBuf, Scenario)>> = BTreeMap::new();
    for path in scenario_files(dir) {
        let group = path
            .parent()
            .and_then(|parent| parent.strip_prefix(dir).ok())
            .map(|p| p.display().to_string());
        let scenario = std::fs::read_to_string(&path)
            .map_err(|error| error.to_string())
            .and_then(|text| parse(&text).map_err(|error| error.to_string()));
        match scenario {
            Ok(scenario) => groups
                .entry(group.unwrap_or_default())
                .or_default()
                .push((path, scenario)),
            // An unreadable file becomes a group of its own with no scenario: reported as a failure.
            Err(why) => {
                groups
                    .entry(format!("unreadable {}: {why}", path.display()))
                    .or_default();
            }
        }
    }
    groups
        .into_iter()
        .map(|(group, scenarios)| {
            let outcomes = columns.run(|backend| replay_group(&scenarios, backend));
            (format!("scenarios/{group}"), "scn".to_string(), outcomes)
        })
        .collect()
}

fn replay_group(scenarios: &[(PathBuf, Scenario)], backend: &dyn Backend) -> Outcome {
    let kind = backend.capabilities().kind;
    let mine: Vec<_> = scenarios
        .iter()
        .filter(|(_, scenario)| scenario.setup.kind == kind)
        .collect();
    if scenarios.is_empty() {
        return Outcome::Fail("no readable scenario in this group".into());
    }
    if mine.is_empty() {
        return Outcome::Skipped(format!(
            "recorded on {:?} streams, backend serves {kind:?}",
            scenarios[0].1.setup.kind
        ));
    }
    for (path, scenario) in mine {
        match play(scenario, backend) {
            Ok(Ok(())) => {}
            Ok(Err(mismatch)) => return Outcome::Fail(format!("{}\n{mismatch}", path.display())),
            Err(why) => return Outcome::Fail(format!("{}: setup failed: {why}", path.display())),
        }
    }
    Outcome::Pass
}

impl Report {
    /// The report as Markdown: the table, then every failure and skip with its reason.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Conformance report\n\n| § | check |");
        for backend in &self.backends {
            let _ = write!(out, " {backend} |");
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---|".repeat(self.backends.len()));
        out.push('\n');
        let mut notes = Vec::new();
        for (id, section, outcomes) in &self.rows {
            let _ = write!(out, "| {section} | {id} |");
            for (backend, outcome) in self.backends.iter().zip(outcomes) {
                let _ = write!(out, " {} |", outcome.label());
                if let Outcome::Fail(why) | Outcome::Skipped(why) = outcome {
                    notes.push(format!(
                        "- **{}** {id} on {backend}:\n\n```\n{why}\n```",
                        outcome.label()
                    ));
                }
            }
            out.push('\n');
        }
        if !notes.is_empty() {
            out.push_str("\n## Failures and skips\n\n");
            out.push_str(&notes.join("\n"));
            out.push('\n');
        }
        out
    }

    /// The report as JSON: `{"backends": [...], "rows": [{"id", "section", "results": [{"outcome", "reason"}]}]}`.
    pub fn to_json(&self) -> String {
        let backends: Vec<String> = self.backends.iter().map(|b| json::string(b)).collect();
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|(id, section, outcomes)| {
                let results: Vec<String> = outcomes
                    .iter()
                    .map(|outcome| {
                        let reason = match outcome {
                            Outcome::Pass => "null".to_string(),
                            Outcome::Fail(why) | Outcome::Skipped(why) => json::string(why),
                        };
                        format!(
                            "{{\"outcome\":{},\"reason\":{reason}}}",
                            json::string(outcome.label())
                        )
                    })
                    .collect();
                format!(
                    "{{\"id\":{},\"section\":{},\"results\":[{}]}}",
                    json::string(id),
                    json::string(section),
                    results.join(",")
                )
            })
            .collect();
        format!(
            "{{\"backends\":[{}],\"rows\":[\n{}\n]}}\n",
            backends.join(","),
            rows.join(",\n")
        )
    }

    /// Whether any rule failed anywhere.
    pub fn failed(&self) -> bool {
        self.rows.iter().any(|(_, _, outcomes)| {
            outcomes
                .iter()
                .any(|outcome| matches!(outcome, Outcome::Fail(_)))
        })
    }

    /// The table, then one line per failure or skip with its reason.
    pub fn to_table(&self) -> String {
        let width = self
            .rows
            .iter()
            .map(|(id, _, _)| id.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = String::new();
        let _ = write!(out, "{:<6} {:<width$}", "§", "rule");
        for backend in &self.backends {
            let _ = write!(out, "  {backend:<10}");
        }
        out.push('\n');
        let mut notes = Vec::new();
        for (id, section, outcomes) in &self.rows {
            let _ = write!(out, "{section:<6} {id:<width$}");
            for (backend, outcome) in self.backends.iter().zip(outcomes) {
                let _ = write!(out, "  {:<10}", outcome.label());
                if let Outcome::Fail(why) | Outcome::Skipped(why) = outcome {
                    notes.push(format!("{} {id} on {backend}: {why}", outcome.label()));
                }
            }
            out.push('\n');
        }
        let count = |label| {
            self.rows
                .iter()
                .flat_map(|row| &row.2)
                .filter(|o| o.label() == label)
                .count()
        };
        let _ = writeln!(
            out,
            "\n{} pass, {} fail, {} skipped",
            count("pass"),
            count("FAIL"),
            count("skipped")
        );
        for note in notes {
            let _ = writeln!(out, "{note}");
        }
        out
    }
}
