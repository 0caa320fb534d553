//! The shapes of libvirt 9.0's remote protocol that `virtstream serve` speaks: procedure numbers
//! ([`procedure`]), the argument and reply structs of those procedures ([`calls`]), the objects
//! they name ([`objects`]), `remote_error` ([`error`]) and `virNetStreamHole` ([`stream_hole`]).
//!
//! Each struct follows `src/remote/remote_protocol.x` (or `src/rpc/virnetprotocol.x`) field for
//! field, with the `.x` names; bounds are the `.x` file's constants.

pub mod calls;
pub mod error;
pub mod objects;
pub mod procedure;
pub mod stream_hole;

pub use error::RemoteError;
pub use stream_hole::StreamHole;
