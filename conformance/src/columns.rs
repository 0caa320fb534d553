//! The report's backend columns: each backend by name, reopened after something fails on it, so a
//! failure that breaks a connection (raw libvirt can close one over a single misuse, Q14) stays
//! one failure instead of failing every row after it. A backend that cannot be opened at all
//! (a daemon that needs root) is an unavailable column: `n/a` everywhere with the reason, while
//! the other columns run.

use stream_core::Backend;

use crate::Outcome;

/// Opens a fresh backend of one column (a new connection, a new simulator).
pub type Opener<'a> = Box<dyn Fn() -> Result<Box<dyn Backend>, String> + 'a>;

struct Column<'a> {
    name: String,
    /// The backend, or why it could not be opened: then every cell of the column is `n/a`.
    backend: Result<Box<dyn Backend>, String>,
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
            backend: Ok(backend),
            reopen: None,
        });
    }

    /// A column opened by `open`, and opened again after a row fails on it. When it cannot be
    /// opened, the column is unavailable (every cell `n/a`, with the reason) and the reason is
    /// returned too, so the caller may say so at once; the other columns still run.
    pub fn push_reopening(&mut self, name: &str, open: Opener<'a>) -> Result<(), String> {
        let backend = open();
        let opened = backend.as_ref().map(|_| ()).map_err(String::clone);
        self.columns.push(Column {
            name: name.to_string(),
            backend,
            reopen: Some(open),
        });
        opened
    }

    /// The columns' names, in order, unavailable ones included.
    pub fn names(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|column| column.name.clone())
            .collect()
    }

    /// Whether the column `name` exists and has a backend.
    pub fn is_available(&self, name: &str) -> bool {
        self.columns
            .iter()
            .any(|column| column.name == name && column.backend.is_ok())
    }

    /// One outcome per column from `row`; a column that failed gets a fresh backend for the next
    /// row. If that cannot be opened, the next row fails saying so (on the old backend).
    pub fn run(&mut self, mut row: impl FnMut(&dyn Backend) -> Outcome) -> Vec<Outcome> {
        self.columns
            .iter_mut()
            .map(|column| {
                let backend = match &column.backend {
                    Ok(backend) => backend,
                    Err(why) => return Outcome::Unavailable(why.clone()),
                };
                let outcome = row(backend.as_ref());
                if let (Outcome::Fail(_), Some(open)) = (&outcome, &column.reopen) {
                    if let Ok(fresh) = open() {
                        column.backend = Ok(fresh);
                    }
                }
                outcome
            })
            .collect()
    }

    /// One outcome per column for a row that does not run on the column's backend (one that
    /// opens backends of its own, such as a differential): `row` gets the column's name;
    /// an unavailable column is `n/a` without asking.
    pub fn each(&self, mut row: impl FnMut(&str) -> Outcome) -> Vec<Outcome> {
        self.columns
            .iter()
            .map(|column| match &column.backend {
                Ok(_) => row(&column.name),
                Err(why) => Outcome::Unavailable(why.clone()),
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

    #[test]
    fn a_column_that_cannot_open_is_unavailable_and_the_others_run() {
        let mut columns = Columns::new();
        columns.push("sim", Box::new(SimBackend::new(Profile::Remote)));
        let refused = columns.push_reopening("daemon", Box::new(|| Err("needs root".into())));
        assert_eq!(refused, Err("needs root".to_string()));
        assert_eq!(columns.names(), ["sim", "daemon"]);
        assert!(columns.is_available("sim") && !columns.is_available("daemon"));
        let mut ran = 0;
        let outcomes = columns.run(|_| {
            ran += 1;
            Outcome::Fail("broke".into())
        });
        assert_eq!(ran, 1, "the row runs on the available column only");
        assert_eq!(
            outcomes,
            [
                Outcome::Fail("broke".into()),
                Outcome::Unavailable("needs root".into())
            ]
        );
        let outcomes = columns.each(|name| Outcome::Skipped(name.to_string()));
        assert_eq!(
            outcomes,
            [
                Outcome::Skipped("sim".into()),
                Outcome::Unavailable("needs root".into())
            ]
        );
    }
}
