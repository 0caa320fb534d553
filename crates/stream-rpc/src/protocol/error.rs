//! `remote_error` of `remote_protocol.x`: the payload of every `status=ERROR` reply and stream
//! message, as `virNetMessageSaveError` fills it from a `virError`.

use crate::protocol::objects::Domain;
use crate::xdr_struct;

xdr_struct! {
    /// `remote_error`; `dom` and `net` are always NULL in what libvirtd 9.0 sent (recordings).
    pub struct RemoteError {
        /// `virErrorNumber`.
        pub code: i32,
        /// `virErrorDomain`.
        pub domain: i32,
        /// The whole message.
        pub message: Option<String>,
        /// `virErrorLevel` (2: error).
        pub level: i32,
        /// The domain the error is about.
        pub dom: Option<Domain>,
        /// The format of the code's message (`"Storage volume not found: %s"`).
        pub str1: Option<String>,
        /// The detail filled into it.
        pub str2: Option<String>,
        /// Unused by these errors.
        pub str3: Option<String>,
        /// `errno` for a system error, else -1.
        pub int1: i32,
        /// -1.
        pub int2: i32,
        /// `remote_network`: a network the error is about (never here; its shape is the pool's).
        pub net: Option<crate::protocol::objects::Pool>,
    }
}
