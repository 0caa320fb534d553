//! What a client sees once its libvirtd was killed, as measured on libvirt 9.0
//! (fixtures/libvirt-9.0/FINDINGS.md, Q11; the errors are in `libvirt_errors::daemon_gone`).

use stream_core::Error;
use stream_core::libvirt_errors::{Call, daemon_gone};

use crate::connection::Connection;

/// The error of `call` on a stream of the dead `connection`. With the event loop parked (a
/// blocking download), the first call to touch the socket notices: a read sees end of file, a
/// write (`finish` and `abort` send a packet) a broken pipe. With the loop running, its thread
/// has already closed the client. After that, every call gets "client socket is closed".
pub fn stream_error(call: Call, loop_parked: bool, connection: &Connection) -> Error {
    let first = connection.notice();
    match call {
        _ if !(first && loop_parked) => daemon_gone::socket_closed(),
        Call::Recv | Call::RecvFlags => daemon_gone::end_of_file(),
        _ => daemon_gone::broken_pipe(),
    }
}

/// The error of a backend call (volume and pool calls, binding a stream) on a dead connection.
pub fn connection_error(connection: &Connection) -> Error {
    connection.notice();
    daemon_gone::socket_closed()
}
