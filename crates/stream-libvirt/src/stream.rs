//! `LibvirtStream`: a real `virStreamPtr` behind the shared lifecycle and guards; every call is
//! one `virt::sys` call.

use std::sync::Arc;

use stream_core::libvirt_errors::{self, Call, daemon_gone};
use stream_core::{
    AbortAction, EventCallback, EventSet, Lifecycle, Recv, RecvFlags, Result, Sent, Stream,
    StreamFlags, StreamState, UploadLedger,
};
use virt::storage_vol::StorageVol;
use virt::sys;

use crate::callback;
use crate::connection::Connection;
use crate::error::last_error;
use crate::event_loop::{self, Demand, Quiet};
use crate::hangup::Watchers;
use crate::volume_size;

/// A real libvirt stream.
#[derive(Debug)]
pub struct LibvirtStream {
    ptr: sys::virStreamPtr,
    lifecycle: Lifecycle,
    /// Keeps the connection open as long as the stream lives.
    connection: Arc<Connection>,
    /// The connection's callbacks, told when the daemon dies.
    watchers: Arc<Watchers>,
    /// NONBLOCK streams need the event loop for their whole life; blocking ones want it parked.
    _loop_need: LoopNeed,
    /// A registered callback needs the event loop while registered.
    callback_demand: Option<Demand>,
    /// An upload's volume and how far its bytes must reach, checked after `finish`.
    upload: Option<(StorageVol, UploadLedger)>,
    /// What `virDomainScreenshot` returned when it bound the stream.
    mime_type: Option<String>,
}

// SAFETY: libvirt stream objects are thread-safe (locked internally); the pointer is owned.
unsafe impl Send for LibvirtStream {}

impl LibvirtStream {
    /// Wrap a new (unbound) stream pointer owned by the caller.
    /// `downloads` says whether the stream will receive: a blocking receiver keeps the event
    /// loop parked so each `recv` takes one packet, as without a loop.
    pub(crate) fn new(
        ptr: sys::virStreamPtr,
        lifecycle: Lifecycle,
        connection: Arc<Connection>,
        watchers: Arc<Watchers>,
        downloads: bool,
    ) -> Self {
        let loop_need = if lifecycle.nonblock() {
            LoopNeed::Run(Demand::new())
        } else if downloads {
            LoopNeed::Park(Quiet::new())
        } else {
            // A blocking upload is indifferent; the running loop answers keepalive meanwhile.
            LoopNeed::Indifferent
        };
        LibvirtStream {
            ptr,
            lifecycle,
            connection,
            watchers,
            _loop_need: loop_need,
            callback_demand: None,
            upload: None,
            mime_type: None,
        }
    }

    /// The stream was bound to upload into `vol`'s range `offset`, `length`: a `send` past the
    /// range is refused (libvirt can close the connection over it, Q14) and `finish` checks that
    /// the volume kept every byte (libvirt 9.0 can drop bytes and still succeed, Q13).
    pub(crate) fn check_upload_into(&mut self, vol: StorageVol, offset: u64, length: u64) {
        self.upload = Some((vol, UploadLedger::for_range(offset, length)));
    }

    /// The stream was bound to a screenshot of type `mime_type`.
    pub(crate) fn bound_to_image(&mut self, mime_type: String) {
        self.mime_type = Some(mime_type);
    }

    fn ledger(&mut self) -> Option<&mut UploadLedger> {
        self.upload.as_mut().map(|(_, ledger)| ledger)
    }

    /// After a successful `finish`: the volume's file must reach where the upload's bytes did.
    fn verify_upload(&self) -> Result<()> {
        let Some((vol, ledger)) = &self.upload else {
            return Ok(());
        };
        let size = volume_size::physical_size(vol)?;
        ledger.verify(size)
    }

    pub(crate) fn as_ptr(&self) -> sys::virStreamPtr {
        self.ptr
    }

    pub(crate) fn lifecycle_mut(&mut self) -> &mut Lifecycle {
        &mut self.lifecycle
    }

    /// Whether the daemon at the other end is still there (always, for in-process drivers).
    fn connection_alive(&self) -> bool {
        // SAFETY: the connection outlives the stream (held above).
        !self.watchers.is_dead() && unsafe { sys::virConnectIsAlive(self.connection.as_ptr()) == 1 }
    }

    /// libvirt's remote driver keeps a callback past finish/abort; the contract removes it first.
    fn drop_callback(&mut self) {
        if self.callback_demand.take().is_some() {
            // SAFETY: live stream pointer.
            unsafe { sys::virStreamEventRemoveCallback(self.ptr) };
            // A dispatch in flight must end before finish/abort/free frees the fdstream.
            event_loop::settle();
            self.lifecycle.set_callback(false);
        }
    }

    /// What a receive call's integer means (`empty`: the buffer had no room).
    fn received(&mut self, got: i32, empty: bool) -> Result<Recv> {
        Ok(match got {
            // A NONBLOCK remote stream whose daemon died returns -2 forever (measured, Q11):
            // once libvirt has closed the connection, say so instead.
            -2 if !self.connection_alive() => return Err(daemon_gone::socket_closed()),
            -2 => Recv::WouldBlock,
            -3 => Recv::Hole,
            0 if !empty => {
                // The lifecycle knows the end was reached (a drained NONBLOCK screenshot, Q17).
                self.lifecycle.reached_end();
                Recv::Eof
            }
            n => Recv::Data(n.max(0) as usize),
        })
    }
}

/// What a stream needs of the event loop, held for its life.
#[derive(Debug)]
enum LoopNeed {
    Run(#[allow(dead_code)] Demand),
    Park(#[allow(dead_code)] Quiet),
    Indifferent,
}

fn check(result: i32) -> Result<i32> {
    if result == -1 {
        Err(last_error())
    } else {
        Ok(result)
    }
}

impl Stream for LibvirtStream {
    fn send(&mut self, data: &[u8]) -> Result<Sent> {
        self.lifecycle.check_send(data.len())?;
        if let Some(ledger) = self.ledger() {
            ledger.check_send(data.len())?;
        }
        // SAFETY: live stream, `data` valid for `data.len()` bytes.
        let sent =
            check(unsafe { sys::virStreamSend(self.ptr, data.as_ptr().cast(), data.len()) })?;
        Ok(if sent == -2 {
            Sent::WouldBlock
        } else {
            if let Some(ledger) = self.ledger() {
                ledger.sent(sent.unsigned_abs().into());
            }
            Sent::Bytes(sent as usize)
        })
    }

    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        let binding = self.lifecycle.check_recv(flags)?;
        let (ptr, len) = (buf.as_mut_ptr().cast(), buf.len());
        // STOP_AT_HOLE means nothing on a non-sparse stream, and the local fdstream has no
        // virStreamRecvFlags at all: plain virStreamRecv is the same call there.
        // SAFETY: live stream, `buf` valid for `len` bytes.
        let got = if flags.is_empty() || !binding.sparse {
            check(unsafe { sys::virStreamRecv(self.ptr, ptr, len) })?
        } else {
            check(unsafe { sys::virStreamRecvFlags(self.ptr, ptr, len, flags.bits()) })?
        };
        self.received(got, buf.is_empty())
    }

    fn recv_flags(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        self.lifecycle.check_recv_flags(flags)?;
        // SAFETY: live stream, `buf` valid for its length.
        let got = check(unsafe {
            sys::virStreamRecvFlags(self.ptr, buf.as_mut_ptr().cast(), buf.len(), flags.bits())
        })?;
        self.received(got, buf.is_empty())
    }

    fn send_hole(&mut self, length: i64, flags: u32) -> Result<()> {
        self.lifecycle.check_send_hole(length, flags)?;
        // SAFETY: live stream.
        check(unsafe { sys::virStreamSendHole(self.ptr, length, flags) })?;
        if let Some(ledger) = self.ledger() {
            // The lifecycle refused lengths below 1.
            ledger.hole(length.unsigned_abs());
        }
        Ok(())
    }

    fn recv_hole(&mut self, flags: u32) -> Result<i64> {
        self.lifecycle.check_recv_hole(flags)?;
        let mut length = 0;
        // SAFETY: live stream, `length` is a valid out pointer.
        check(unsafe { sys::virStreamRecvHole(self.ptr, &mut length, flags) })?;
        Ok(length)
    }

    fn add_callback(&mut self, events: EventSet, callback: EventCallback) -> Result<()> {
        self.lifecycle.check_callback(Call::AddCallback)?;
        if self.lifecycle.has_callback() {
            return Err(libvirt_errors::callback_exists(self.lifecycle.kind()));
        }
        let demand = Demand::new();
        // SAFETY: live stream.
        check(unsafe { callback::add(self.ptr, events, callback, &self.watchers) })?;
        self.callback_demand = Some(demand);
        self.lifecycle.set_callback(true);
        Ok(())
    }

    fn update_callback(&mut self, events: EventSet) -> Result<()> {
        self.lifecycle.check_callback(Call::UpdateCallback)?;
        if !self.lifecycle.has_callback() {
            return Err(libvirt_errors::no_callback(self.lifecycle.kind()));
        }
        // SAFETY: live stream.
        check(unsafe { sys::virStreamEventUpdateCallback(self.ptr, events.bits() as i32) })
            .map(drop)
    }

    fn remove_callback(&mut self) -> Result<()> {
        self.lifecycle.check_callback(Call::RemoveCallback)?;
        if !self.lifecycle.has_callback() {
            return Err(libvirt_errors::no_callback(self.lifecycle.kind()));
        }
        // SAFETY: live stream.
        check(unsafe { sys::virStreamEventRemoveCallback(self.ptr) })?;
        event_loop::settle();
        self.callback_demand = None;
        self.lifecycle.set_callback(false);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.lifecycle.check_finish()?;
        self.drop_callback();
        // SAFETY: live stream.
        let result = check(unsafe { sys::virStreamFinish(self.ptr) })
            .map(drop)
            .and_then(|()| self.verify_upload());
        self.lifecycle.finished(result.is_ok());
        result
    }

    fn abort(&mut self) -> Result<()> {
        if let AbortAction::Cancel(_) = self.lifecycle.abort()? {
            self.drop_callback();
            // SAFETY: live stream. The stream is closed whatever abort returns.
            check(unsafe { sys::virStreamAbort(self.ptr) })?;
        }
        Ok(())
    }

    fn state(&self) -> StreamState {
        self.lifecycle.state()
    }

    fn flags(&self) -> StreamFlags {
        self.lifecycle.flags()
    }

    fn mime_type(&self) -> Option<&str> {
        self.mime_type.as_deref()
    }
}

impl Drop for LibvirtStream {
    /// Dropping an active stream aborts it; then the reference is released.
    fn drop(&mut self) {
        if matches!(self.lifecycle.state(), StreamState::Active(_)) {
            let _ = self.abort();
        }
        self.drop_callback();
        // SAFETY: we own one reference to the stream.
        unsafe { sys::virStreamFree(self.ptr) };
    }
}
