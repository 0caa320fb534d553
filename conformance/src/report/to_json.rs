//! The report for programs: report.json, the same cells and the same summary as the table.

use super::{Outcome, Report};
use crate::json;

fn result(outcome: &Outcome) -> String {
    let reason = outcome.reason().map_or("null".to_string(), json::string);
    format!(
        "{{\"outcome\":{},\"reason\":{reason}}}",
        json::string(outcome.label())
    )
}

impl Report {
    /// The report as JSON: `{"backends": [...], "rows": [{"id", "section", "results":
    /// [{"outcome", "reason"}]}], "summary": {"passed", "failed", "skipped", "unavailable":
    /// [{"backend", "reason"}], "line"}}`. An outcome is `pass`, `FAIL`, `skipped` or `n/a`.
    pub fn to_json(&self) -> String {
        let backends: Vec<String> = self.backends.iter().map(|b| json::string(b)).collect();
        let rows: Vec<String> = self
            .rows
            .iter()
            .map(|(id, section, outcomes)| {
                let results: Vec<String> = outcomes.iter().map(result).collect();
                format!(
                    "{{\"id\":{},\"section\":{},\"results\":[{}]}}",
                    json::string(id),
                    json::string(section),
                    results.join(",")
                )
            })
            .collect();
        let unavailable: Vec<String> = self
            .grouped("n/a")
            .iter()
            .map(|group| {
                format!(
                    "{{\"backend\":{},\"reason\":{}}}",
                    json::string(group.backend),
                    json::string(group.reason)
                )
            })
            .collect();
        format!(
            "{{\"backends\":[{}],\"rows\":[\n{}\n],\n\"summary\":{{\"passed\":{},\"failed\":{},\"skipped\":{},\"unavailable\":[{}],\"line\":{}}}}}\n",
            backends.join(","),
            rows.join(",\n"),
            self.count("pass"),
            self.count("FAIL"),
            self.count("skipped"),
            unavailable.join(","),
            json::string(&self.summary())
        )
    }
}
