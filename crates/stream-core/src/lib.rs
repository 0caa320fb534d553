//! The libvirt stream contract (CONTRACT.md) as Rust types: the [`Stream`] and [`Backend`]
//! traits, outcomes with libvirt's sentinels, [`Error`], the shared [`Lifecycle`] with its
//! guards, the sparse [`Layout`] model and the `*_all` helpers.
//!
//! This crate never links libvirt: applications that test against the simulator need no libvirt
//! on the machine.

pub mod all;
mod backend;
mod error;
mod flags;
pub mod layout;
pub mod libvirt_errors;
mod lifecycle;
#[cfg(any(test, feature = "mock"))]
pub mod mock;
mod outcome;
mod stream;
pub mod text_file;
mod upload_ledger;

pub use all::{ALL_BUFFER_SIZE, Section, recv_all, send_all, sparse_recv_all, sparse_send_all};
pub use backend::{Backend, Capabilities, StreamKind, Transfer, VolumeId};
pub use error::{Error, ErrorKind, ErrorLevel, LibvirtCode, Result, code, domain};
pub use flags::{EventSet, RecvFlags, StreamFlags};
pub use layout::{Extent, Fill, Layout, LayoutError};
pub use lifecycle::{AbortAction, Binding, Direction, Lifecycle, StreamState};
pub use outcome::{ERROR_SENTINEL, Recv, Sent, sentinel_of};
pub use stream::{EventCallback, Stream};
pub use upload_ledger::UploadLedger;
