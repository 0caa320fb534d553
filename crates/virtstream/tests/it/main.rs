//! virtstream's integration tests: one binary, a module per area.

mod sparse_file;
