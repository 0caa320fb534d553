//! stream-sim's integration tests: one binary, a module per behaviour.

mod bad_input;
mod events;
mod faults;
mod nonblock;
mod sequences;
