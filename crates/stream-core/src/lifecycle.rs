//! The stream lifecycle of CONTRACT.md §3 and the guards of §4, as one state machine that every
//! backend runs before it touches its own machinery, so all backends refuse the same calls with
//! the same errors.

use crate::libvirt_errors::{self, Call, guard};
use crate::{RecvFlags, Result, StreamFlags, StreamKind};

/// Which way bytes flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Application to volume.
    Upload,
    /// Volume (or screen) to application.
    Download,
}

/// What an active stream was bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Binding {
    /// Which way bytes flow.
    pub direction: Direction,
    /// Bound with the sparse flag: holes travel as holes.
    pub sparse: bool,
}

/// Where a stream is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamState {
    /// Created, not bound: every call but `abort` fails.
    New,
    /// Bound to a transfer.
    Active(Binding),
    /// `finish` succeeded.
    Finished,
    /// `finish` failed; the stream is closed all the same.
    FinishFailed,
    /// `abort` was called.
    Aborted,
}

impl StreamState {
    /// Finished, failed to finish, or aborted.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            StreamState::Finished | StreamState::FinishFailed | StreamState::Aborted
        )
    }
}

/// What the backend must do for an `abort` the lifecycle accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortAction {
    /// The stream was never bound: nothing to cancel (libvirt returns 0 at once).
    Nothing,
    /// Cancel the active transfer.
    Cancel(Binding),
}

/// The lifecycle and guard checks of one stream.
///
/// Each check follows the order in which libvirt 9.0 checks the same call (measured:
/// fixtures/libvirt-9.0/FINDINGS.md Q5, Q17): what libvirt checks without looking at the
/// stream's state (flags, sparseness, the size of a send, a call the driver lacks) comes first
/// and answers with libvirt's own error, even after `finish` or `abort`; then the closed state
/// ("stream is closed", which local streams get too: raw fdstreams return 0, "stream is not
/// open" or crash there); then the guards, only where raw libvirt would accept the call and
/// crash, hang or lose data.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    kind: StreamKind,
    flags: StreamFlags,
    state: StreamState,
    has_callback: bool,
    /// What the stream was bound to, kept after it closed: libvirt still checks it first.
    binding: Option<Binding>,
    /// A `recv` returned end of stream.
    ended: bool,
}

impl Lifecycle {
    /// A new, unbound stream of `kind` created with `flags`.
    pub fn new(kind: StreamKind, flags: StreamFlags) -> Lifecycle {
        Lifecycle {
            kind,
            flags,
            state: StreamState::New,
            has_callback: false,
            binding: None,
            ended: false,
        }
    }

    /// The stream kind this lifecycle speaks for.
    pub fn kind(&self) -> StreamKind {
        self.kind
    }

    /// The flags the stream was created with.
    pub fn flags(&self) -> StreamFlags {
        self.flags
    }

    /// `VIR_STREAM_NONBLOCK` was given.
    pub fn nonblock(&self) -> bool {
        self.flags.contains(StreamFlags::NONBLOCK)
    }

    /// The current state.
    pub fn state(&self) -> StreamState {
        self.state
    }

    /// Whether an event callback is registered.
    pub fn has_callback(&self) -> bool {
        self.has_callback
    }

    /// The stream was bound to a transfer.
    pub fn bind(&mut self, binding: Binding) {
        self.state = StreamState::Active(binding);
        self.binding = Some(binding);
    }

    /// A `recv` returned end of stream (backends report it: a NONBLOCK local stream refuses a
    /// `send` safely only from then on).
    pub fn reached_end(&mut self) {
        self.ended = true;
    }

    /// What a stream that is not `New` was bound to, open or closed; libvirt's "not supported"
    /// for `call` otherwise (an unbound stream has no driver: libvirt checks that first).
    fn bound(&self, call: Call) -> Result<Binding> {
        match (self.state, self.binding) {
            (StreamState::New, _) | (_, None) => Err(libvirt_errors::not_supported(call)),
            (_, Some(binding)) => Ok(binding),
        }
    }

    /// The closed-stream error once the stream is finished or aborted.
    fn open(&self) -> Result<()> {
        if self.state.is_closed() {
            Err(libvirt_errors::stream_closed())
        } else {
            Ok(())
        }
    }

    /// The binding of an active stream; libvirt's error for `call` otherwise.
    fn active(&self, call: Call) -> Result<Binding> {
        let binding = self.bound(call)?;
        self.open()?;
        Ok(binding)
    }

    /// May `send` of `len` bytes go ahead?
    pub fn check_send(&self, len: usize) -> Result<Binding> {
        let binding = self.bound(Call::Send)?;
        if self.kind == StreamKind::Remote && len > libvirt_errors::MAX_REMOTE_SEND {
            // Checked while the packet is built, before the stream's state.
            return Err(libvirt_errors::send_too_long(len));
        }
        self.open()?;
        match (binding.direction, self.kind) {
            // Raw: accepted; every byte still arrives, but finish and every later call then fail
            // with "stream had unexpected termination" (Q17 B).
            (Direction::Download, StreamKind::Remote) => Err(guard::send_on_download("send")),
            // Raw, before the end: accepted; the bytes come back out of recv, and an empty send
            // ends the screenshot (Q17 B). Blocking, or after the end: libvirt refuses it safely.
            (Direction::Download, StreamKind::Local) if self.nonblock() && !self.ended => {
                Err(guard::send_on_download("send"))
            }
            (Direction::Download, StreamKind::Local) => Ok(binding),
            (Direction::Upload, _) if len == 0 => Err(guard::empty_send()),
            (Direction::Upload, _) => Ok(binding),
        }
    }

    /// May `recv` with `flags` go ahead?
    pub fn check_recv(&self, flags: RecvFlags) -> Result<Binding> {
        let call = if flags.is_empty() {
            Call::Recv
        } else {
            Call::RecvFlags
        };
        let binding = self.bound(call)?;
        if self.kind == StreamKind::Local && !flags.is_empty() {
            // The fdstream driver has no virStreamRecvFlags at all: any flag, STOP_AT_HOLE
            // included, is that call, and libvirt answers "not supported" (Q21), as Sys::Virt's
            // `recv` with flags gets it.
            return Err(libvirt_errors::not_supported(Call::RecvFlags));
        }
        if flags.unknown_bits() != 0 {
            return Err(libvirt_errors::unsupported_flags(
                "remoteStreamRecvFlags",
                flags.unknown_bits(),
            ));
        }
        self.open()?;
        if binding.direction == Direction::Upload && !self.nonblock() {
            // A NONBLOCK recv on an upload returns -2, as libvirt's does (Q17 C).
            return Err(guard::recv_on_upload());
        }
        Ok(binding)
    }

    /// May `recv_flags` (always `virStreamRecvFlags`, even with no flags) go ahead? A local
    /// fdstream has no `virStreamRecvFlags` (Q21); a remote stream checks as for `recv`.
    pub fn check_recv_flags(&self, flags: RecvFlags) -> Result<Binding> {
        if self.state == StreamState::New || self.kind == StreamKind::Local {
            self.active(Call::RecvFlags)?;
        }
        if self.kind == StreamKind::Local {
            return Err(libvirt_errors::not_supported(Call::RecvFlags));
        }
        self.check_recv(flags)
    }

    /// May `send_hole(length, flags)` go ahead?
    pub fn check_send_hole(&self, length: i64, flags: u32) -> Result<Binding> {
        let binding = self.bound(Call::SendHole)?;
        if self.kind == StreamKind::Local {
            // virFDStreamSendHole checks its arguments before it touches the stream.
            if flags != 0 {
                return Err(libvirt_errors::fdstream_unsupported_flags(
                    "virFDStreamSendHole",
                    flags,
                ));
            }
            if length < 1 {
                return Err(libvirt_errors::fdstream_hole_length());
            }
            // Raw after finish/abort: a segmentation fault.
            self.open()?;
            if binding.direction == Direction::Download {
                // Raw: blocking, "unable to truncate" after skipping `length` bytes of the
                // screenshot; NONBLOCK, a segmentation fault (Q17 B).
                return Err(guard::send_on_download("send_hole"));
            }
            return Ok(binding);
        }
        if !binding.sparse {
            return Err(libvirt_errors::skipping_not_supported());
        }
        self.open()?;
        if binding.direction == Direction::Download {
            // Raw: accepted; finish and every later call then fail (Q4, Q17 B).
            return Err(guard::send_on_download("send_hole"));
        }
        if flags != 0 {
            return Err(guard::hole_flags(flags));
        }
        if length < 1 {
            return Err(guard::hole_length(length));
        }
        Ok(binding)
    }

    /// May `recv_hole(flags)` go ahead?
    pub fn check_recv_hole(&self, flags: u32) -> Result<Binding> {
        let binding = self.bound(Call::RecvHole)?;
        if self.kind == StreamKind::Local {
            // The fdstream driver has no virStreamRecvHole.
            return Err(libvirt_errors::not_supported(Call::RecvHole));
        }
        if flags != 0 {
            return Err(libvirt_errors::unsupported_flags(
                "remoteStreamRecvHole",
                flags,
            ));
        }
        if !binding.sparse {
            return Err(libvirt_errors::holes_not_supported());
        }
        self.open()?;
        Ok(binding)
    }

    /// May `call` (one of the three callback calls) go ahead?
    pub fn check_callback(&self, call: Call) -> Result<Binding> {
        self.active(call)
    }

    /// Record whether a callback is registered.
    pub fn set_callback(&mut self, registered: bool) {
        self.has_callback = registered;
    }

    /// May `finish` go ahead? The backend then reports the outcome with [`Lifecycle::finished`].
    pub fn check_finish(&self) -> Result<Binding> {
        self.active(Call::Finish)
    }

    /// Record the outcome of `finish`: closed either way, the callback gone.
    pub fn finished(&mut self, succeeded: bool) {
        self.state = if succeeded {
            StreamState::Finished
        } else {
            StreamState::FinishFailed
        };
        self.has_callback = false;
    }

    /// Accept an `abort`: closes the stream and says what the backend must cancel.
    pub fn abort(&mut self) -> Result<AbortAction> {
        let action = match self.state {
            StreamState::New => AbortAction::Nothing,
            StreamState::Active(binding) => AbortAction::Cancel(binding),
            _ => return Err(libvirt_errors::stream_closed()),
        };
        if action != AbortAction::Nothing {
            self.state = StreamState::Aborted;
        }
        self.has_callback = false;
        Ok(action)
    }
}
