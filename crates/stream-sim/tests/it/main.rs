//! stream-sim's integration tests: one binary, a module per behaviour.

mod events;
mod faults;
mod nonblock;
mod sequences;
