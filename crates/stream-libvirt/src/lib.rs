//! Real libvirt streams behind the `stream-core` contract, through the `virt` crate (and
//! `virt::sys` for every stream call): the in-process test driver and storage pools on a
//! private `libvirtd` ([`daemon::LocalDaemon`]).
//!
//! Every call goes through `stream-core`'s shared lifecycle first, so nothing that crashes,
//! hangs or silently loses data in raw libvirt 9.0 is reachable (see [`deviations`]).

mod backend;
mod callback;
mod connection;
pub mod daemon;
pub mod daemon_control;
pub mod deviations;
mod error;
mod event_loop;
mod hangup;
mod layout_io;
mod stream;
mod volume_size;

pub use backend::LibvirtBackend;
pub use stream::LibvirtStream;
