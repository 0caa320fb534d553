//! stream-core's integration tests: one binary, a module per part of the contract.

mod all_helpers;
mod bad_input;
mod error_display;
mod layout_notation;
mod lifecycle_rules;
mod sentinels;
