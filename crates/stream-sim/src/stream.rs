//! `SimStream`: the simulator's [`Stream`], the shared lifecycle in front of the profile's
//! transfer model.

use std::sync::{Arc, Mutex, MutexGuard};

use stream_core::libvirt_errors::{self, Call};
use stream_core::{
    AbortAction, Binding, Error, EventCallback, EventSet, Lifecycle, Recv, RecvFlags, Result, Sent,
    Stream, StreamFlags, StreamKind, StreamState, UploadLedger,
};

use crate::connection::Connection;
use crate::death;
use crate::faults::{FaultRun, Verdict};
use crate::local::LocalDownload;
use crate::mutation::Mutation;
use crate::remote::RemoteDownload;
use crate::schedule::Schedule;
use crate::upload::Upload;

/// What a bound stream moves.
#[derive(Debug)]
pub enum TransferState {
    /// A remote (`virNetClientStream`) download.
    Remote(RemoteDownload),
    /// A local (fdstream) download.
    Local(LocalDownload),
    /// An upload.
    Upload(Upload),
}

/// A registered event callback. `callback` is `None` while the event loop is running it.
pub struct Registration {
    /// The events the callback asked for.
    pub events: EventSet,
    /// The function.
    pub callback: Option<EventCallback>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// Everything about one stream, shared between its handle and the event loop.
#[derive(Debug)]
pub struct StreamInner {
    /// Lifecycle and guards, shared with every backend.
    pub lifecycle: Lifecycle,
    /// The transfer, once bound.
    pub transfer: Option<TransferState>,
    /// The event callback, if any.
    pub registration: Option<Registration>,
    /// The NONBLOCK would-block schedule.
    pub schedule: Schedule,
    /// A rule broken on purpose (tests of the conformance suite only).
    pub mutation: Option<Mutation>,
    /// The fault plan being followed.
    pub faults: FaultRun,
    /// The connection the stream runs over.
    pub connection: Arc<Connection>,
    /// The callback was told that the daemon died.
    pub hung_up: bool,
    /// An upload: how far its bytes must reach, checked after `finish`.
    pub ledger: Option<UploadLedger>,
}

/// What a data call may do once the faults have had their say.
enum Gate {
    /// Nothing is ready (a planned would-block).
    WouldBlock,
    /// Go ahead: at most `max` bytes in this call, `room` bytes before a fault point.
    Go { max: usize, room: u64 },
}

/// Lock a stream; every update is a single call, so a poisoned lock is still consistent.
pub fn lock(inner: &Mutex<StreamInner>) -> MutexGuard<'_, StreamInner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A simulated libvirt stream.
#[derive(Debug)]
pub struct SimStream {
    inner: Arc<Mutex<StreamInner>>,
    /// What the screenshot's bind returned.
    mime_type: Option<&'static str>,
}

impl SimStream {
    pub(crate) fn new(
        inner: Arc<Mutex<StreamInner>>,
        mime_type: Option<&'static str>,
    ) -> SimStream {
        SimStream { inner, mime_type }
    }

    fn lock(&self) -> MutexGuard<'_, StreamInner> {
        lock(&self.inner)
    }
}

impl StreamInner {
    /// A new stream of `kind`.
    pub fn new(
        kind: StreamKind,
        flags: StreamFlags,
        schedule: Schedule,
        mutation: Option<Mutation>,
        connection: Arc<Connection>,
    ) -> StreamInner {
        StreamInner {
            lifecycle: Lifecycle::new(kind, flags),
            transfer: None,
            registration: None,
            schedule,
            mutation,
            faults: FaultRun::default(),
            connection,
            hung_up: false,
            ledger: None,
        }
    }

    /// The error `call` gets once the connection is dead (`None` while it lives).
    fn dead(&mut self, call: Call) -> Option<Error> {
        if !self.connection.is_dead() {
            return None;
        }
        // The libvirt backend parks the event loop for a blocking download with no callback.
        let loop_parked = !self.lifecycle.nonblock()
            && self.registration.is_none()
            && matches!(self.transfer, Some(TransferState::Remote(_)));
        Some(death::stream_error(call, loop_parked, &self.connection))
    }

    /// The far side's error or the dead connection, before any other work of `call`.
    fn failed(&mut self, call: Call) -> Result<()> {
        if let Some(error) = self.faults.raised() {
            return Err(error);
        }
        self.dead(call).map_or(Ok(()), Err)
    }

    /// What the fault plan lets `verdict`'s call do; a planned death kills the connection.
    fn gate(&mut self, call: Call, verdict: Verdict) -> Result<Gate> {
        match verdict {
            Verdict::Go { max, room } => Ok(Gate::Go { max, room }),
            Verdict::WouldBlock => Ok(Gate::WouldBlock),
            Verdict::Fail(error) => Err(error),
            // Only NONBLOCK streams take a stall (FaultPlan::check): nothing comes, for ever.
            Verdict::Stall => Ok(Gate::WouldBlock),
            Verdict::Die => {
                self.connection.kill();
                Err(self
                    .dead(call)
                    .unwrap_or_else(libvirt_errors::stream_closed))
            }
        }
    }

    /// A `send` or `recv` that passed the lifecycle's checks.
    fn data_gate(&mut self, call: Call) -> Result<Gate> {
        if let Some(error) = self.faults.raised() {
            return Err(error);
        }
        // What the client already received is still handed out after the daemon died
        // (measured: the rest of a packet comes, then the error).
        if !self.holds_received() {
            self.failed(call)?;
        }
        let verdict = self.faults.data_call();
        self.gate(call, verdict)
    }

    /// Whether a remote download has packets (or its end) queued in the client.
    fn holds_received(&self) -> bool {
        matches!(&self.transfer, Some(TransferState::Remote(download)) if !download.waiting())
    }

    /// A call that moves no data but needs the daemon (`send_hole`, `finish`, `abort` of a
    /// bound stream): the far side's error, a dead connection, or a death point already reached
    /// all fail it. (`recv_hole` answers from the client: only a kept far-side error fails it.)
    fn positioned_gate(&mut self, call: Call) -> Result<()> {
        self.failed(call)?;
        let verdict = self.faults.hole_call();
        self.gate(call, verdict).map(drop)
    }

    /// The stream uploads into the range `offset`, `length`: a `send` past the range is refused
    /// and `finish` checks that the volume kept every byte, as the libvirt backend does.
    pub fn expect_upload(&mut self, offset: u64, length: u64) {
        self.ledger = Some(UploadLedger::for_range(offset, length));
    }

    /// After a successful `finish`: the bytes the volume lost, as an error.
    fn shortfall(&self) -> Option<Error> {
        let (Some(ledger), Some(TransferState::Upload(upload))) = (&self.ledger, &self.transfer)
        else {
            return None;
        };
        upload
            .volume_size()
            .and_then(|size| ledger.verify(size))
            .err()
    }

    /// Bind to `transfer`.
    pub fn bind(&mut self, binding: Binding, transfer: TransferState) {
        self.lifecycle.bind(binding);
        self.transfer = Some(transfer);
    }
}

impl Stream for SimStream {
    fn send(&mut self, data: &[u8]) -> Result<Sent> {
        let mut inner = self.lock();
        inner.lifecycle.check_send(data.len())?;
        if let Some(ledger) = &inner.ledger {
            ledger.check_send(data.len())?;
        }
        if let Some(TransferState::Local(_)) = inner.transfer {
            // A screenshot's file is open for reading: the write fails, nothing changes (Q17 B).
            return Err(libvirt_errors::cannot_write_bad_fd());
        }
        let (max, room) = match inner.data_gate(Call::Send)? {
            Gate::WouldBlock => return Ok(Sent::WouldBlock),
            Gate::Go { max, room } => (max, room),
        };
        let accepted = data.len().min(max);
        // Bytes past a fault point are accepted (the far side fails after) but never land.
        let lands = accepted.min(usize::try_from(room).unwrap_or(usize::MAX));
        let inner = &mut *inner;
        match inner.transfer.as_mut() {
            Some(TransferState::Upload(upload)) => {
                upload.send(&data[..accepted], lands)?;
                inner.faults.moved(accepted as u64);
                if let Some(ledger) = inner.ledger.as_mut() {
                    ledger.sent(accepted as u64);
                }
                Ok(Sent::Bytes(accepted))
            }
            _ => Err(libvirt_errors::not_supported(Call::Send)),
        }
    }

    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        let mut inner = self.lock();
        inner.lifecycle.check_recv(flags)?;
        let call = if flags.is_empty() {
            Call::Recv
        } else {
            Call::RecvFlags
        };
        let limit = match inner.data_gate(call)? {
            Gate::WouldBlock => return Ok(Recv::WouldBlock),
            Gate::Go { max, room } => max.min(usize::try_from(room).unwrap_or(usize::MAX)),
        };
        let len = buf.len().min(limit);
        let buf = &mut buf[..len];
        let inner = &mut *inner;
        let schedule = inner.lifecycle.nonblock().then_some(&mut inner.schedule);
        let got = match inner.transfer.as_mut() {
            Some(TransferState::Remote(download)) => download.recv(buf, flags, schedule),
            Some(TransferState::Local(download)) => download.recv(buf, schedule)?,
            // Only a NONBLOCK recv gets here: nothing ever arrives on an upload (Q17 C).
            Some(TransferState::Upload(_)) => Recv::WouldBlock,
            None => return Err(libvirt_errors::not_supported(Call::Recv)),
        };
        match got {
            Recv::Data(n) => inner.faults.moved(n as u64),
            Recv::Eof => inner.lifecycle.reached_end(),
            _ => {}
        }
        Ok(got)
    }

    fn recv_flags(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        // A local fdstream has no virStreamRecvFlags; on a remote one it is `recv`'s call.
        self.lock().lifecycle.check_recv_flags(flags)?;
        self.recv(buf, flags)
    }

    fn send_hole(&mut self, length: i64, flags: u32) -> Result<()> {
        let mut inner = self.lock();
        inner.lifecycle.check_send_hole(length, flags)?;
        inner.positioned_gate(Call::SendHole)?;
        // The lifecycle refused lengths below 1.
        let length = length.unsigned_abs();
        let inner = &mut *inner;
        match inner.transfer.as_mut() {
            Some(TransferState::Upload(upload)) => {
                upload.send_hole(length)?;
                inner.faults.moved(length);
                if let Some(ledger) = inner.ledger.as_mut() {
                    ledger.hole(length);
                }
                Ok(())
            }
            _ => Err(libvirt_errors::not_supported(Call::SendHole)),
        }
    }

    fn recv_hole(&mut self, flags: u32) -> Result<i64> {
        let mut inner = self.lock();
        inner.lifecycle.check_recv_hole(flags)?;
        if let Some(error) = inner.faults.raised() {
            return Err(error);
        }
        let inner = &mut *inner;
        match inner.transfer.as_mut() {
            Some(TransferState::Remote(download)) => {
                let length = download
                    .recv_hole()
                    .ok_or_else(libvirt_errors::holes_not_supported)?;
                inner.faults.moved(length.unsigned_abs());
                Ok(length)
            }
            // A sparse upload has no hole to receive: libvirt returns 0.
            _ => Ok(0),
        }
    }

    fn add_callback(&mut self, events: EventSet, callback: EventCallback) -> Result<()> {
        let mut inner = self.lock();
        inner.lifecycle.check_callback(Call::AddCallback)?;
        if inner.registration.is_some() {
            return Err(libvirt_errors::callback_exists(inner.lifecycle.kind()));
        }
        inner.registration = Some(Registration {
            events,
            callback: Some(callback),
        });
        inner.lifecycle.set_callback(true);
        Ok(())
    }

    fn update_callback(&mut self, events: EventSet) -> Result<()> {
        let mut inner = self.lock();
        inner.lifecycle.check_callback(Call::UpdateCallback)?;
        let kind = inner.lifecycle.kind();
        let registration = inner
            .registration
            .as_mut()
            .ok_or_else(|| libvirt_errors::no_callback(kind))?;
        registration.events = events;
        Ok(())
    }

    fn remove_callback(&mut self) -> Result<()> {
        let mut inner = self.lock();
        inner.lifecycle.check_callback(Call::RemoveCallback)?;
        let kind = inner.lifecycle.kind();
        inner
            .registration
            .take()
            .ok_or_else(|| libvirt_errors::no_callback(kind))?;
        inner.lifecycle.set_callback(false);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let mut inner = self.lock();
        if inner.mutation == Some(Mutation::FinishTwiceSucceeds)
            && inner.lifecycle.state() == StreamState::Finished
        {
            return Ok(());
        }
        inner.lifecycle.check_finish()?;
        inner.registration = None;
        let written = match &inner.transfer {
            Some(TransferState::Upload(upload)) => upload.failure(),
            _ => None,
        };
        let failure = match inner.positioned_gate(Call::Finish) {
            Err(error) => Some(error),
            Ok(()) => written.or_else(|| inner.shortfall()),
        };
        inner.lifecycle.finished(failure.is_none());
        inner.transfer = None;
        failure.map_or(Ok(()), Err)
    }

    fn abort(&mut self) -> Result<()> {
        let mut inner = self.lock();
        let action = inner.lifecycle.abort()?;
        let registration = inner.registration.take();
        let kind = inner.lifecycle.kind();
        // An unbound stream has nothing to tell the far side: libvirt returns 0 at once.
        let failure = match action {
            AbortAction::Nothing => Ok(()),
            AbortAction::Cancel(_) => {
                let failed = inner.positioned_gate(Call::Abort);
                inner.transfer = None;
                failed
            }
        };
        drop(inner);
        // virFDStreamAbort tells a READABLE/WRITABLE callback about the abort, once, with ERROR.
        if kind == StreamKind::Local
            && let Some(Registration {
                events,
                callback: Some(mut callback),
            }) = registration
            && events.intersects(EventSet::READABLE | EventSet::WRITABLE)
        {
            callback(EventSet::ERROR);
        }
        failure
    }

    fn state(&self) -> StreamState {
        self.lock().lifecycle.state()
    }

    fn flags(&self) -> StreamFlags {
        self.lock().lifecycle.flags()
    }

    fn mime_type(&self) -> Option<&str> {
        self.mime_type
    }
}

impl Drop for SimStream {
    /// Dropping an active stream aborts it (CONTRACT.md §3).
    fn drop(&mut self) {
        if matches!(self.state(), StreamState::Active(_)) {
            let _ = self.abort();
        }
    }
}

impl StreamInner {
    /// The events this stream reports now, for the event loop (None: no callback to run).
    pub fn ready_events(&mut self) -> Option<EventSet> {
        let wanted = self.registration.as_ref()?.events;
        let nonblock = self.lifecycle.nonblock();
        let ready = match self.transfer.as_mut()? {
            TransferState::Remote(download) => {
                // A dead daemon sends nothing more: READABLE never comes again, while WRITABLE
                // still fires whenever asked for (measured: Q11).
                if download.waiting() && !self.connection.is_dead() {
                    download.deliver_one();
                }
                // The remote stream's timer reports WRITABLE whenever it is asked for, downloads
                // included (measured: q8).
                let mut ready = EventSet::WRITABLE;
                if download.readable() {
                    ready |= EventSet::READABLE;
                }
                ready & wanted
            }
            TransferState::Upload(_) => EventSet::WRITABLE & wanted,
            TransferState::Local(download) if nonblock => {
                download.thread_step();
                let mut ready = EventSet::empty();
                if download.message_ready() {
                    ready |= EventSet::READABLE & wanted;
                }
                if download.thread_done() && !download.message_ready() && !wanted.is_empty() {
                    // poll() reports a closed pipe whatever was asked for, but a callback
                    // updated to no events has no watch at all: nothing fires (Q17 E).
                    ready |= EventSet::HANGUP;
                }
                ready
            }
            // A regular file polls readable and writable at all times.
            TransferState::Local(_) => (EventSet::READABLE | EventSet::WRITABLE) & wanted,
        };
        // Both backends tell a callback once that the daemon died, whatever it asked for (raw
        // libvirt never does: see stream-libvirt's hangup module).
        if self.connection.is_dead() && !std::mem::replace(&mut self.hung_up, true) {
            return Some(ready | EventSet::ERROR | EventSet::HANGUP);
        }
        Some(ready)
    }
}
