//! stream-sim's integration tests: one binary, a module per behaviour.

mod events;
mod nonblock;
mod sequences;
