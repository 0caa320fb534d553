//! The rule × backend report: what each cell holds, and the tallies every rendering of it (the
//! terminal table, report.md, report.json) shares, so the three always agree.

mod cells;
mod run;
mod text;
mod to_json;

pub use run::{run_rule, run_scenarios, run_suite};

/// What happened when a rule ran on a backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend kept the rule.
    Pass,
    /// It did not; the message says how.
    Fail(String),
    /// The backend cannot do what the rule needs; the reason is reported, never counted as a pass.
    Skipped(String),
    /// The backend could not be opened at all (a daemon that needs root, say): nothing ran on it.
    /// The reason is reported; the run is incomplete, not passed.
    Unavailable(String),
}

impl Outcome {
    /// `pass`, `FAIL`, `skipped` or `n/a`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skipped(_) => "skipped",
            Outcome::Unavailable(_) => "n/a",
        }
    }

    /// Why it did not pass, if it did not.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Pass => None,
            Outcome::Fail(why) | Outcome::Skipped(why) | Outcome::Unavailable(why) => Some(why),
        }
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

/// Cells that share a backend and a reason: how the report lists skips (one line per reason,
/// not per cell) and unavailable columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouped<'a> {
    /// The column.
    pub backend: &'a str,
    /// The reason they share.
    pub reason: &'a str,
    /// How many cells.
    pub count: usize,
}

impl Report {
    /// Every cell with its row id and backend, row by row.
    fn cells(&self) -> impl Iterator<Item = (&str, &str, &Outcome)> {
        self.rows.iter().flat_map(move |(id, _, outcomes)| {
            self.backends
                .iter()
                .zip(outcomes)
                .map(move |(backend, outcome)| (id.as_str(), backend.as_str(), outcome))
        })
    }

    fn count(&self, label: &str) -> usize {
        self.cells()
            .filter(|(_, _, outcome)| outcome.label() == label)
            .count()
    }

    /// Whether any rule failed anywhere.
    pub fn failed(&self) -> bool {
        self.count("FAIL") > 0
    }

    /// Whether some backend could not be opened, so the run did not check everything it was
    /// asked to.
    pub fn incomplete(&self) -> bool {
        self.count("n/a") > 0
    }

    /// The cells labelled `label`, grouped by (backend, reason): backends in column order,
    /// reasons in order of first appearance.
    pub fn grouped(&self, label: &str) -> Vec<Grouped<'_>> {
        let mut groups: Vec<Grouped<'_>> = Vec::new();
        for backend in &self.backends {
            for (_, _, outcome) in self.cells().filter(|cell| cell.1 == backend) {
                let (true, Some(reason)) = (outcome.label() == label, outcome.reason()) else {
                    continue;
                };
                match groups
                    .iter_mut()
                    .find(|group| group.backend == backend && group.reason == reason)
                {
                    Some(group) => group.count += 1,
                    None => groups.push(Grouped {
                        backend,
                        reason,
                        count: 1,
                    }),
                }
            }
        }
        groups
    }

    /// Every failed cell: (row id, backend, the failure in full).
    pub fn failures(&self) -> Vec<(&str, &str, &str)> {
        self.cells()
            .filter_map(|(id, backend, outcome)| match outcome {
                Outcome::Fail(why) => Some((id, backend, why.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The result in one line: `146 passed, 0 failed, 86 skipped`, then
    /// `; 1 backend unavailable: daemon` when a column could not be opened.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} passed, {} failed, {} skipped",
            self.count("pass"),
            self.count("FAIL"),
            self.count("skipped")
        );
        let mut unavailable: Vec<&str> = self
            .grouped("n/a")
            .iter()
            .map(|group| group.backend)
            .collect();
        unavailable.dedup();
        if !unavailable.is_empty() {
            let backends = if unavailable.len() == 1 {
                "backend"
            } else {
                "backends"
            };
            line.push_str(&format!(
                "; {} {backends} unavailable: {}",
                unavailable.len(),
                unavailable.join(", ")
            ));
        }
        line
    }
}
