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

    /// Receive into `buf` from a download, as Sys::Virt's `recv` does: `virStreamRecv` when
    /// `flags` is empty, else `virStreamRecvFlags`. With `STOP_AT_HOLE` on a sparse stream
    /// returns [`Recv::Hole`] when a hole is next; on a non-sparse stream `STOP_AT_HOLE` is a
    /// plain receive (CONTRACT.md §5).
    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv>;

    /// `virStreamRecvFlags` itself, whatever `flags` is (Python's `recvFlags`): the call
    /// [`Stream::recv`] makes only for non-empty flags. The two differ where a driver lacks
    /// `virStreamRecvFlags`: on a local fdstream (the in-process test driver's screenshot) this
    /// fails with libvirt's "not supported" error even with no flags, while `recv` reads (Q21).
    /// On a remote stream both are the same call.
    ///
    /// The default makes the call `recv` makes, which is right for remote streams only: a
    /// backend of local streams overrides it (the conformance suite checks).
    fn recv_flags(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        self.recv(buf, flags)
    }

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

    /// The MIME type `virDomainScreenshot` returned when it bound this stream (`image/png`
    /// from the test driver); `None` for a stream bound otherwise, or not bound. Not a libvirt
    /// stream call: libvirt hands the type to the caller of the bind, and the stream keeps it.
    ///
    /// The default is `None`: a backend that serves screenshots must return the type (the
    /// conformance suite checks it).
    fn mime_type(&self) -> Option<&str> {
        None
    }
}

impl<S: Stream + ?Sized> Stream for Box<S> {
    fn send(&mut self, data: &[u8]) -> Result<Sent> {
        (**self).send(data)
    }
    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        (**self).recv(buf, flags)
    }
    fn recv_flags(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        (**self).recv_flags(buf, flags)
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
    fn mime_type(&self) -> Option<&str> {
        (**self).mime_type()
    }
}
