//! What libvirt 9.0 reports once the libvirtd at the other end of a connection was killed
//! (measured: fixtures/libvirt-9.0/FINDINGS.md, Q11). PLACEHOLDER until the probe is in.

use crate::error::{code, domain};
use crate::libvirt_errors::Call;
use crate::{Error, ErrorKind};

/// The error of `call` on a stream of a dead connection; `first`: the stream's first call to
/// notice the death.
pub fn stream_call(_call: Call, first: bool) -> Error {
    if first {
        Error::libvirt(
            ErrorKind::System,
            code::SYSTEM_ERROR,
            domain::RPC,
            "End of file while reading data: Input/output error",
        )
    } else {
        connection_call()
    }
}

/// Any call that needs the connection after the daemon died.
pub fn connection_call() -> Error {
    Error::libvirt(
        ErrorKind::Internal,
        code::INTERNAL_ERROR,
        domain::RPC,
        "internal error: client socket is closed",
    )
}
