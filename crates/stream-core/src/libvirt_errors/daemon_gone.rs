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

/// Whether libvirt's error (`code`, `domain`, `message`) says the daemon is gone: the four
/// errors below, plus "Cannot recv data: Connection reset by peer" (measured once, Q11).
pub fn is_daemon_gone(code: i32, domain: i32, message: &str) -> bool {
    domain == domain::RPC
        && match code {
            code::INTERNAL_ERROR => [
                "internal error: client socket is closed",
                "internal error: received hangup event on socket",
            ]
            .contains(&message),
            code::SYSTEM_ERROR => [
                "End of file while reading data",
                "Cannot write data",
                "Cannot recv data",
            ]
            .iter()
            .any(|start| message.starts_with(start)),
            _ => false,
        }
}
use crate::{Error, ErrorKind};

/// The first blocking `recv` to notice (the event loop parked): the socket read hit EOF.
pub fn end_of_file() -> Error {
    Error::libvirt(
        ErrorKind::Disconnected,
        code::SYSTEM_ERROR,
        domain::RPC,
        "End of file while reading data: Input/output error",
    )
}

/// A `send` that wrote to the dead socket before the event loop noticed (timing).
pub fn broken_pipe() -> Error {
    Error::libvirt(
        ErrorKind::Disconnected,
        code::SYSTEM_ERROR,
        domain::RPC,
        "Cannot write data: Broken pipe",
    )
}

/// What the one call to touch the dead socket got instead of end of file in 1 of 6 runs with
/// two streams on the connection (Q27): the client saw the socket's hangup first.
pub fn hangup() -> Error {
    Error::libvirt(
        ErrorKind::Disconnected,
        code::INTERNAL_ERROR,
        domain::RPC,
        "internal error: received hangup event on socket",
    )
}

/// Every later call that needs the daemon: stream data calls, `finish`, `abort`, binding a new
/// stream, volume and pool calls.
pub fn socket_closed() -> Error {
    Error::libvirt(
        ErrorKind::Disconnected,
        code::INTERNAL_ERROR,
        domain::RPC,
        "internal error: client socket is closed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_gone_errors_are_recognised_and_others_are_not() {
        for error in [end_of_file(), broken_pipe(), hangup(), socket_closed()] {
            let libvirt = error.libvirt_code().unwrap();
            assert!(is_daemon_gone(
                libvirt.code,
                libvirt.domain,
                error.message()
            ));
        }
        let reset = "Cannot recv data: Connection reset by peer";
        assert!(is_daemon_gone(code::SYSTEM_ERROR, domain::RPC, reset));
        let closed = crate::libvirt_errors::stream_closed();
        let libvirt = closed.libvirt_code().unwrap();
        assert!(!is_daemon_gone(
            libvirt.code,
            libvirt.domain,
            closed.message()
        ));
        assert!(!is_daemon_gone(
            code::SYSTEM_ERROR,
            domain::STREAMS,
            "cannot write to stream: No space left on device"
        ));
    }
}
