//! Scenario files (`*.scn`), in the spirit of sqllogictest: a setup, then one stream operation
//! per line, each followed by `=> result` as real libvirt gave it. The format is in
//! conformance/README.md.

mod files;
mod format;
mod generate;
mod play;
mod timing;

pub use files::{replay_all, scenario_files};
pub use format::{Op, Open, ParseError, Scenario, Setup, Step, parse};
pub use generate::{layouts, remote_scenarios};
pub use play::{Mismatch, Outcome, play, record, render_error, run, step_agrees};
pub use timing::{TIMING_RETRIES, drain_is_coalesced, is_packet_coalescing};
