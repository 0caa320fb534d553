//! The stream contract (CONTRACT.md) as a suite of rules that any [`Backend`] can be run
//! against, and the table that reports them.
//!
//! Each rule is a plain function over `&dyn Backend`; a rule needing something a backend's
//! [`Capabilities`] lack is reported as skipped with the reason, never as a pass.

mod check;
mod columns;
pub mod differential;
pub mod faults;
mod fixture;
pub mod json;
mod report;
pub mod rules;
pub mod scenario;
mod suite;

pub use check::{Check, ensure, ensure_eq};
pub use columns::{Columns, Opener};
pub use fixture::{Fixture, Scope};
pub use report::{Grouped, Outcome, Report, run_rule, run_scenarios, run_suite};
pub use rules::{Needs, Rule, all_rules};

pub use stream_core::{Backend, Capabilities};
