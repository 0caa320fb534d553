//! What a client sees once its libvirtd was killed, as measured on libvirt 9.0
//! (fixtures/libvirt-9.0/FINDINGS.md, Q11; the errors are in `libvirt_errors::daemon_gone`).

use stream_core::Error;
use stream_core::libvirt_errors::{Call, daemon_gone};

use crate::connection::Connection;

/// The error of `call` on a stream of the dead `connection`. Only a blocking `recv` made while
/// the event loop is parked reads the socket itself, so only it can be the first to notice and
/// see end of file; in every other case the event-loop thread has already closed the client.
pub fn stream_error(call: Call, loop_parked: bool, connection: &Connection) -> Error {
    let first = connection.notice();
    match call {
        Call::Recv | Call::RecvFlags if first && loop_parked => daemon_gone::end_of_file(),
        _ => daemon_gone::socket_closed(),
    }
}

/// The error of a backend call (volume and pool calls, binding a stream) on a dead connection.
pub fn connection_error(connection: &Connection) -> Error {
    connection.notice();
    daemon_gone::socket_closed()
}
