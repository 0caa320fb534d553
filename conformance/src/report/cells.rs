//! The report as plain cells, one row a line, for a run in another process (a column of another
//! libvirt release, whose client library must be loaded at process start) to hand its columns
//! back; and [`Report::add_columns`], which joins them to the table by row id.

use super::{Outcome, Report};

/// `\t`, `\n` and `\\` escaped, so a cell is one field of one line.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn cell(outcome: &Outcome) -> String {
    match outcome.reason() {
        None => outcome.label().to_owned(),
        Some(why) => format!("{}:{}", outcome.label(), escape(why)),
    }
}

fn parse_cell(text: &str) -> Result<Outcome, String> {
    let (label, why) = match text.split_once(':') {
        Some((label, why)) => (label, Some(unescape(why))),
        None => (text, None),
    };
    match (label, why) {
        ("pass", None) => Ok(Outcome::Pass),
        ("FAIL", Some(why)) => Ok(Outcome::Fail(why)),
        ("skipped", Some(why)) => Ok(Outcome::Skipped(why)),
        ("n/a", Some(why)) => Ok(Outcome::Unavailable(why)),
        _ => Err(format!("not a cell: {text:?}")),
    }
}

impl Report {
    /// `backends\t<name>…`, then one `<id>\t<section>\t<cell>…` line per row; a cell is `pass`
    /// or `<label>:<reason>`.
    pub fn to_cells(&self) -> String {
        let mut out = String::from("backends");
        for backend in &self.backends {
            out.push('\t');
            out.push_str(&escape(backend));
        }
        out.push('\n');
        for (id, section, outcomes) in &self.rows {
            out.push_str(&escape(id));
            out.push('\t');
            out.push_str(&escape(section));
            for outcome in outcomes {
                out.push('\t');
                out.push_str(&cell(outcome));
            }
            out.push('\n');
        }
        out
    }

    /// The report that [`Report::to_cells`] wrote.
    pub fn from_cells(text: &str) -> Result<Report, String> {
        let mut lines = text.lines();
        let header = lines.next().ok_or("no header line")?;
        let mut fields = header.split('\t');
        if fields.next() != Some("backends") {
            return Err(format!("the first line is not `backends…`: {header:?}"));
        }
        let backends: Vec<String> = fields.map(unescape).collect();
        let rows = lines
            .enumerate()
            .map(|(number, line)| {
                let mut fields = line.split('\t');
                let (Some(id), Some(section)) = (fields.next(), fields.next()) else {
                    return Err(format!("line {}: no id and section", number + 2));
                };
                let outcomes = fields
                    .map(parse_cell)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|why| format!("line {}: {why}", number + 2))?;
                if outcomes.len() != backends.len() {
                    return Err(format!(
                        "line {}: {} cells for {} backends",
                        number + 2,
                        outcomes.len(),
                        backends.len()
                    ));
                }
                Ok((unescape(id), unescape(section), outcomes))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Report { backends, rows })
    }

    /// Appends `other`'s columns, row by row matched by id. A row of this report that `other`
    /// lacks fails in `other`'s columns (it should have run there); a row only `other` has is
    /// added, skipped in this report's columns.
    pub fn add_columns(&mut self, other: Report) {
        let mut theirs = other.rows;
        for (id, _, outcomes) in &mut self.rows {
            match theirs.iter().position(|(their_id, _, _)| their_id == id) {
                Some(index) => outcomes.extend(theirs.remove(index).2),
                None => outcomes.extend(other.backends.iter().map(|backend| {
                    Outcome::Fail(format!("the run of column {backend} reported no row {id}"))
                })),
            }
        }
        let ours = self.backends.len();
        for (id, section, outcomes) in theirs {
            let mut row: Vec<Outcome> = (0..ours)
                .map(|_| Outcome::Skipped("only run in other columns".into()))
                .collect();
            row.extend(outcomes);
            self.rows.push((id, section, row));
        }
        self.backends.extend(other.backends);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            backends: vec!["test-11.3".into(), "daemon-11.3".into()],
            rows: vec![
                (
                    "holes/a\tb".into(),
                    "5".into(),
                    vec![Outcome::Pass, Outcome::Fail("line 1\nline\\2\tx: y".into())],
                ),
                (
                    "only-theirs".into(),
                    "F".into(),
                    vec![
                        Outcome::Skipped("no daemon".into()),
                        Outcome::Unavailable("needs root".into()),
                    ],
                ),
            ],
        }
    }

    #[test]
    fn cells_read_back_as_written() {
        let original = report();
        let back = Report::from_cells(&original.to_cells()).unwrap();
        assert_eq!(back.backends, original.backends);
        assert_eq!(back.rows, original.rows);
        assert!(Report::from_cells("rows\n").is_err());
        assert!(Report::from_cells("backends\ta\nid\tsec\tpass\tpass\n").is_err());
        assert!(Report::from_cells("backends\ta\nid\tsec\tmaybe\n").is_err());
    }

    #[test]
    fn columns_join_by_row_id() {
        let mut ours = Report {
            backends: vec!["sim-remote".into()],
            rows: vec![
                ("mine".into(), "1".into(), vec![Outcome::Pass]),
                ("holes/a\tb".into(), "5".into(), vec![Outcome::Pass]),
            ],
        };
        ours.add_columns(report());
        assert_eq!(ours.backends, ["sim-remote", "test-11.3", "daemon-11.3"]);
        assert_eq!(ours.rows.len(), 3);
        assert_eq!(ours.rows[0].2[0], Outcome::Pass);
        assert!(matches!(&ours.rows[0].2[1], Outcome::Fail(why) if why.contains("no row mine")));
        assert_eq!(ours.rows[1].2[1], Outcome::Pass);
        assert!(matches!(ours.rows[1].2[2], Outcome::Fail(_)));
        assert_eq!(ours.rows[2].0, "only-theirs");
        assert!(matches!(ours.rows[2].2[0], Outcome::Skipped(_)));
        assert!(ours.rows.iter().all(|row| row.2.len() == 3));
    }
}
