//! virtstream's integration tests: one binary, a module per area.

mod cli;
mod io_adapters;
mod sparse_file;
