//! stream-libvirt's integration tests against real libvirt: one binary, a module per area.

mod suite;
