//! The faults group: what streams and connections do when the daemon dies, checked on any
//! backend whose daemon can be killed (the simulator's connection, a private libvirtd), plus
//! the differential property that kills both at the same byte and compares what followed.
//!
//! Expected errors are libvirt 9.0's, measured (`stream_core::libvirt_errors::daemon_gone`).

mod differential;
mod rules;
mod shared;
mod sim;
mod trace;

use std::panic::{AssertUnwindSafe, catch_unwind};

use stream_core::Backend;

pub use differential::check_deaths;
pub use rules::FAULT_RULES;
pub use sim::SimKillable;
pub use trace::{DeathTrace, Direction, Plan};

use crate::{Check, Columns, Outcome};

/// A backend with a daemon the faults group may kill: a fresh one for every check.
pub trait Killable {
    /// The backend, connected to a live daemon until [`Killable::kill`].
    fn backend(&self) -> &dyn Backend;
    /// The daemon dies now (SIGKILL for a real one). Takes `&self`: the backend is in use
    /// while the daemon dies.
    fn kill(&self) -> Result<(), String>;
    /// A name for reports.
    fn name(&self) -> &str;
    /// Give the backend's event loop a turn, for backends whose loop is stepped by the caller
    /// (the simulator); real libvirt's loop runs on its own thread.
    fn run_events(&self) {}
}

/// Makes a fresh [`Killable`] (a new daemon) for each check.
pub type MakeKillable<'a> = &'a dyn Fn() -> Result<Box<dyn Killable>, String>;

/// One fault rule.
#[derive(Clone, Copy)]
pub struct FaultRule {
    /// Its name: also the name of its test.
    pub id: &'static str,
    /// The check.
    pub check: fn(&dyn Killable) -> Check,
}

impl std::fmt::Debug for FaultRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// Run one fault rule on a fresh killable backend, a panic counting as a failure.
pub fn run_fault_rule(rule: &FaultRule, make: MakeKillable<'_>) -> Outcome {
    let target = match make() {
        Ok(target) => target,
        Err(why) => return Outcome::Fail(format!("cannot start a daemon to kill: {why}")),
    };
    match catch_unwind(AssertUnwindSafe(|| (rule.check)(target.as_ref()))) {
        Ok(Ok(())) => Outcome::Pass,
        Ok(Err(why)) => Outcome::Fail(why),
        Err(_) => Outcome::Fail("panicked".into()),
    }
}

/// The faults rows of the report, one per fault rule: on each column, `killable(name)` gives
/// the column's killable backends, or why it has none (the cell is then skipped with that
/// reason); an unavailable column is `n/a`.
pub fn fault_rows<'a>(
    columns: &Columns<'_>,
    killable: impl Fn(&str) -> Result<MakeKillable<'a>, String>,
) -> Vec<(String, String, Vec<Outcome>)> {
    FAULT_RULES
        .iter()
        .map(|rule| {
            let outcomes = columns.each(|name| match killable(name) {
                Ok(make) => run_fault_rule(rule, make),
                Err(why) => Outcome::Skipped(why),
            });
            (format!("faults/{}", rule.id), "F".to_string(), outcomes)
        })
        .collect()
}
