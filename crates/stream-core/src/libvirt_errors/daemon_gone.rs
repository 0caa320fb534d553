//! What libvirt 9.0 reports once the libvirtd at the other end of a connection was killed
//! (measured: fixtures/libvirt-9.0/FINDINGS.md, Q11, `q11.py` → `q11.out`).
//!
//! The client notices the death on the first socket read or write. A blocking `recv` with the
//! event loop parked (as the libvirt backend parks it for blocking downloads) is that first
//! reader: it gets "End of file while reading data". Otherwise the event-loop thread notices
//! first and closes the client, and every call that needs the daemon gets "client socket is
//! closed" — a `send` that races the loop thread can still get "Cannot write data: Broken pipe"
//! (timing). Calls that stay in the client (`recv_hole`, the callback calls, a new stream)
//! behave as on a live connection.

use crate::error::{code, domain};
use crate::{Error, ErrorKind};

/// The first blocking `recv` to notice (the event loop parked): the socket read hit EOF.
pub fn end_of_file() -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::RPC,
        "End of file while reading data: Input/output error",
    )
}

/// A `send` that wrote to the dead socket before the event loop noticed (timing).
pub fn broken_pipe() -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::RPC,
        "Cannot write data: Broken pipe",
    )
}

/// Every later call that needs the daemon: stream data calls, `finish`, `abort`, binding a new
/// stream, volume and pool calls.
pub fn socket_closed() -> Error {
    Error::libvirt(
        ErrorKind::Internal,
        code::INTERNAL_ERROR,
        domain::RPC,
        "internal error: client socket is closed",
    )
}
