//! Scenario files (`*.scn`), in the spirit of sqllogictest: a setup, then one stream operation
//! per line, each followed by `=> result` as real libvirt gave it. The format is in
//! conformance/README.md.

mod digest;
mod files;
mod format;
mod generate;
mod needs;
mod play;
mod set;
mod timing;

pub use digest::{content_digest, fnv1a};
pub use files::{MAX_SCENARIO_BYTES, ReadError, read_scenario_file};
pub use format::{Op, Open, ParseError, Scenario, Setup, Step, parse};
pub use generate::{layouts, remote_scenarios};
pub use play::{Mismatch, Outcome, play, record, render_error, run, step_agrees};
pub use set::{Origin, ScenarioFile, ScenarioSet, SetError, replay_all};
pub use timing::{TIMING_RETRIES, drain_is_coalesced, is_packet_coalescing};
