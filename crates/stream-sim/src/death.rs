//! What a client sees once its libvirtd was killed (measured on libvirt 9.0:
//! fixtures/libvirt-9.0/FINDINGS.md, Q11).

use stream_core::Error;
use stream_core::libvirt_errors::{self, Call};

/// The error `call` on a stream gets after the daemon died; `first`: the first call of this
/// stream to notice.
pub fn stream_error(call: Call, first: bool) -> Error {
    libvirt_errors::daemon_gone::stream_call(call, first)
}

/// The error of a backend call (volume lookup, new stream) on a dead connection.
pub fn connection_error() -> Error {
    libvirt_errors::daemon_gone::connection_call()
}
