//! The `Stream` trait: one method per libvirt stream call.

use crate::{EventSet, Recv, RecvFlags, Result, Sent, StreamFlags, StreamState};

/// An event callback: runs on the event-loop thread with the events that fired.
///
/// libvirt's C API lets a caller register a NULL function (a crash); a `Box` cannot be null.
pub type EventCallback = Box<dyn FnMut(EventSet) + Send + 'static>;

/// A libvirt data stream (`virStreamPtr`), whichever backend serves it.
///
/// Every method is one libvirt call; errors carry libvirt's code, domain and message. Misuses
/// that crash, hang or lose data in raw libvirt return `InvalidArgument` / `InvalidOperation`
/// instead and leave the stream as it was (CONTRACT.md §4); misuses libvirt refuses itself get
/// libvirt's own error. Dropping an active stream aborts it.
pub trait Stream: Send {
    /// `virStreamSend`: send `data` on an upload. An empty `data` is refused (raw libvirt would
    /// end the stream).
    fn send(&mut self, data: &[u8]) -> Result<Sent>;

    /// `virStreamRecvFlags`: receive into `buf` from a download. With `STOP_AT_HOLE` on a sparse
    /// stream returns [`Recv::Hole`] when a hole is next.
    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv>;

    /// `virStreamSendHole`: skip `length` bytes of a sparse upload. `length ≥ 1`, `flags == 0`.
    fn send_hole(&mut self, length: i64, flags: u32) -> Result<()>;

    /// `virStreamRecvHole`: consume the pending hole and return its length (0 if none pending).
    fn recv_hole(&mut self, flags: u32) -> Result<i64>;

    /// `virStreamEventAddCallback`: at most one callback per stream.
    fn add_callback(&mut self, events: EventSet, callback: EventCallback) -> Result<()>;

    /// `virStreamEventUpdateCallback`: change the events the callback wants.
    fn update_callback(&mut self, events: EventSet) -> Result<()>;

    /// `virStreamEventRemoveCallback`.
    fn remove_callback(&mut self) -> Result<()>;

    /// `virStreamFinish`: complete the transfer; reports errors from the far side.
    fn finish(&mut self) -> Result<()>;

    /// `virStreamAbort`: cancel the transfer.
    fn abort(&mut self) -> Result<()>;

    /// Where the stream is in its lifecycle (not a libvirt call; for callers and the suite).
    fn state(&self) -> StreamState;

    /// The flags the stream was created with (`virStreamNew`'s).
    fn flags(&self) -> StreamFlags;
}

impl<S: Stream + ?Sized> Stream for Box<S> {
    fn send(&mut self, data: &[u8]) -> Result<Sent> {
        (**self).send(data)
    }
    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        (**self).recv(buf, flags)
    }
    fn send_hole(&mut self, length: i64, flags: u32) -> Result<()> {
        (**self).send_hole(length, flags)
    }
    fn recv_hole(&mut self, flags: u32) -> Result<i64> {
        (**self).recv_hole(flags)
    }
    fn add_callback(&mut self, events: EventSet, callback: EventCallback) -> Result<()> {
        (**self).add_callback(events, callback)
    }
    fn update_callback(&mut self, events: EventSet) -> Result<()> {
        (**self).update_callback(events)
    }
    fn remove_callback(&mut self) -> Result<()> {
        (**self).remove_callback()
    }
    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
    fn abort(&mut self) -> Result<()> {
        (**self).abort()
    }
    fn state(&self) -> StreamState {
        (**self).state()
    }
    fn flags(&self) -> StreamFlags {
        (**self).flags()
    }
}
