//! stream-libvirt's integration tests against real libvirt: one binary, a module per area.

mod bad_input;
mod callback_removal;
mod daemon_death;
mod deviations;
mod differential;
mod disk_full;
mod empty_volume;
mod events;
mod keepalive;
mod libvirt_answers;
mod raw;
mod round_trip;
mod scenarios;
mod screenshot;
mod suite;
mod support;
