//! Fuzz targets as proptests with many cases (`VIRTSTREAM_FUZZ_CASES`, 512 by default; `cargo
//! xtask fuzz` runs 100,000 each in release): the scenario parser, the layout notation and random
//! operation sequences on the simulator, and
//! any bytes a client sends to the wire server. Each replays its corpus under `fixtures/fuzz/` first.

/// The targets, one module each under `tests/fuzz/`.
mod fuzz {
    pub mod corpus;
    pub mod layout_notation;
    pub mod rpc_server;
    pub mod scenario_parser;
    pub mod sim_case;
    pub mod sim_sequences;
}

#[test]
fn scenario_parser() {
    fuzz::scenario_parser::run();
}

#[test]
fn layout_notation() {
    fuzz::layout_notation::run();
}

#[test]
fn rpc_server() {
    fuzz::rpc_server::run();
}

#[test]
fn sim_sequences() {
    fuzz::sim_sequences::run();
}
