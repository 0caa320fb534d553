//! stream-rpc's integration tests: framing round trips and refusals, the record format, and the
//! recordings under `fixtures/rpc/libvirt-9.0/` (they must parse and hang together).

mod differential;
mod frames;
mod lean_binary;
mod payloads;
mod proxy;
mod raw_client;
mod recordings;
mod records;
mod served_clients;
mod served_raw;
mod sparse_image;
