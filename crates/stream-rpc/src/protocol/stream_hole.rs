//! `virNetStreamHole` of `virnetprotocol.x`: the payload of a `STREAM_HOLE` message.

use crate::xdr_struct;

xdr_struct! {
    /// A hole of `length` bytes in a sparse stream (`flags` is 0 in libvirt 9.0).
    pub struct StreamHole {
        /// The hole's length in bytes.
        pub length: i64,
        /// Always 0.
        pub flags: u32,
    }
}
