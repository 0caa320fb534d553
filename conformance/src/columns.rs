//! The report's backend columns: each backend by name, reopened after something fails on it, so a
//! failure that breaks a connection (raw libvirt can close one over a single misuse, Q14) stays
//! one failure instead of failing every row after it.

use stream_core::Backend;

use crate::Outcome;

/// Opens a fresh backend of one column (a new connection, a new simulator).
pub type Opener<'a> = Box<dyn Fn() -> Result<Box<dyn Backend>, String> + 'a>;

struct Column<'a> {
    name: String,
    backend: Box<dyn Backend>,
    reopen: Option<Opener<'a>>,
}

/// The backends a report runs on, in column order.
#[derive(Default)]
pub struct Columns<'a> {
    columns: Vec<Column<'a>>,
}

impl std::fmt::Debug for Columns<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl<'a> Columns<'a> {
    /// No columns yet.
    pub fn new() -> Self {
        Columns::default()
    }

    /// A column whose backend is kept whatever happens on it.
    pub fn push(&mut self, name: &str, backend: Box<dyn Backend>) {
        self.columns.push(Column {
            name: name.to_string(),
            backend,
            reopen: None,
        });
    }

    /// A column opened by `open`, and opened again after a row fails on it.
    pub fn push_reopening(&mut self, name: &str, open: Opener<'a>) -> Result<(), String> {
        let backend = open()?;
        self.columns.push(Column {
            name: name.to_string(),
            backend,
            reopen: Some(open),
        });
        Ok(())
    }

    /// The columns' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|column| column.name.clone())
            .collect()
    }

    /// One outcome per column from `row`; a column that failed gets a fresh backend for the next
    /// row. If that cannot be opened, the next row fails saying so (on the old backend).
    pub fn run(&mut self, mut row: impl FnMut(&dyn Backend) -> Outcome) -> Vec<Outcome> {
        self.columns
            .iter_mut()
            .map(|column| {
                let outcome = row(column.backend.as_ref());
                if let (Outcome::Fail(_), Some(open)) = (&outcome, &column.reopen) {
                    if let Ok(fresh) = open() {
                        column.backend = fresh;
                    }
                }
                outcome
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use stream_sim::{Profile, SimBackend};

    use super::*;

    #[test]
    fn a_column_is_reopened_after_a_failure_and_only_then() {
        let opened = Cell::new(0);
        let mut columns = Columns::new();
        columns
            .push_reopening(
                "sim",
                Box::new(|| {
                    opened.set(opened.get() + 1);
                    Ok(Box::new(SimBackend::new(Profile::Remote)) as Box<dyn Backend>)
                }),
            )
            .unwrap();
        columns.push("kept", Box::new(SimBackend::new(Profile::Local)));
        assert_eq!(columns.names(), ["sim", "kept"]);
        assert_eq!(opened.get(), 1);
        let outcomes = columns.run(|_| Outcome::Pass);
        assert_eq!(outcomes, [Outcome::Pass, Outcome::Pass]);
        assert_eq!(opened.get(), 1);
        let outcomes = columns.run(|_| Outcome::Fail("broke".into()));
        assert_eq!(outcomes.len(), 2);
        assert_eq!(opened.get(), 2);
    }
}
