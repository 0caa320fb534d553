//! stream-sim's integration tests: one binary, a module per behaviour.

mod bad_input;
mod events;
mod faults;
mod libvirt_answers;
mod nonblock;
mod sequences;
