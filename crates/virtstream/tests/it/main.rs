//! virtstream's integration tests: one binary, a module per area.

mod cli;
mod sparse_file;
