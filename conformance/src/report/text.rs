//! The report for people: the terminal table and report.md. Both show the table, then the
//! skips grouped by backend and reason with a count, then every failure in full, then the
//! columns that could not be opened, then the summary line, so the result is never buried
//! under one line per skipped cell.

use std::fmt::Write as _;

use super::Report;

/// Every line of `text` indented by `indent`: a multi-line failure (a scenario diff) stays
/// readable under its heading.
fn indented(text: &str, indent: &str) -> String {
    text.lines()
        .map(|line| format!("{indent}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Report {
    /// The table, then the skips as `<backend>: <n> skipped: <reason>`, every failure in full,
    /// the unavailable columns as `<backend>: unavailable: <reason>`. The caller prints
    /// [`Report::summary`] last.
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
        for (id, section, outcomes) in &self.rows {
            let _ = write!(out, "{section:<6} {id:<width$}");
            for outcome in outcomes {
                let _ = write!(out, "  {:<10}", outcome.label());
            }
            out.push('\n');
        }
        let skipped = self.grouped("skipped");
        if !skipped.is_empty() {
            out.push('\n');
            for group in skipped {
                let _ = writeln!(
                    out,
                    "{}: {} skipped: {}",
                    group.backend, group.count, group.reason
                );
            }
        }
        for (id, backend, why) in self.failures() {
            let _ = writeln!(out, "\nFAIL {id} on {backend}:\n{}", indented(why, "    "));
        }
        let unavailable = self.grouped("n/a");
        if !unavailable.is_empty() {
            out.push('\n');
            for group in unavailable {
                let _ = writeln!(out, "{}: unavailable: {}", group.backend, group.reason);
            }
        }
        out
    }

    /// The report as Markdown: the same sections as [`Report::to_table`], then the summary.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Conformance report\n\n| § | check |");
        for backend in &self.backends {
            let _ = write!(out, " {backend} |");
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---|".repeat(self.backends.len()));
        out.push('\n');
        for (id, section, outcomes) in &self.rows {
            let _ = write!(out, "| {section} | {id} |");
            for outcome in outcomes {
                let _ = write!(out, " {} |", outcome.label());
            }
            out.push('\n');
        }
        let skipped = self.grouped("skipped");
        if !skipped.is_empty() {
            out.push_str("\n## Skipped\n\n");
            for group in skipped {
                let _ = writeln!(
                    out,
                    "- {}: {} skipped: {}",
                    group.backend, group.count, group.reason
                );
            }
        }
        let failures = self.failures();
        if !failures.is_empty() {
            out.push_str("\n## Failures\n");
            for (id, backend, why) in failures {
                let _ = write!(out, "\n- **FAIL** {id} on {backend}:\n\n```\n{why}\n```\n");
            }
        }
        let unavailable = self.grouped("n/a");
        if !unavailable.is_empty() {
            out.push_str("\n## Unavailable\n\n");
            for group in unavailable {
                let _ = writeln!(out, "- {}: unavailable: {}", group.backend, group.reason);
            }
        }
        let _ = writeln!(out, "\n**{}**", self.summary());
        out
    }
}
