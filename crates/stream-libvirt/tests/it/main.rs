//! stream-libvirt's integration tests against real libvirt: one binary, a module per area.

mod deviations;
mod raw;
mod round_trip;
mod suite;
mod support;
