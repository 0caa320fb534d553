//! Running rules against backends and printing the rule × backend table.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use stream_core::Backend;

use crate::Fixture;
use crate::rules::Rule;

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
    /// Per rule: its id, section, and one outcome per backend.
    pub rows: Vec<(&'static str, &'static str, Vec<Outcome>)>,
}

/// Run `rules` on each of `backends`.
pub fn run_suite(rules: &[Rule], backends: &[(&str, &dyn Backend)]) -> Report {
    let rows = rules
        .iter()
        .map(|rule| {
            let outcomes = backends
                .iter()
                .map(|(_, backend)| run_rule(rule, *backend))
                .collect();
            (rule.id, rule.section, outcomes)
        })
        .collect();
    Report {
        backends: backends.iter().map(|(name, _)| name.to_string()).collect(),
        rows,
    }
}

impl Report {
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
