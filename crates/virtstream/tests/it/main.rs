//! virtstream's integration tests: one binary, a module per area.

mod bad_input;
mod cli;
mod cli_files;
mod daemon_cmd;
mod faults;
mod io_adapters;
mod main_job;
mod readme_serve;
mod releases;
mod scenario_files;
mod serve;
mod serve_faults;
mod soak;
mod sparse_file;
mod wire;
