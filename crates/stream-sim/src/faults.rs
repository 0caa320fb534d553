//! Fault plans: what goes wrong on a simulated stream, and exactly when, so applications can
//! test their failure paths without a misbehaving libvirt.
//!
//! A plan is a list of [`Fault`]s that the next stream opened with
//! [`SimBackend::inject`](crate::SimBackend::inject) follows. Calls are counted per stream (only
//! `send` and `recv` that pass the stream's own argument checks count, first call = 1); bytes are
//! the transfer's position: data sent or received, plus holes sent or received.
//!
//! ```
//! use stream_core::{Backend, ErrorKind, Layout, Recv, RecvFlags, StreamFlags, Transfer, VolumeId};
//! use stream_sim::{FaultPlan, InjectedError, Profile, SimBackend};
//!
//! let sim = SimBackend::new(Profile::Remote);
//! let volume = VolumeId::new("default", "disk.raw");
//! sim.create_volume(&volume, &Layout::parse("D1M").unwrap()).unwrap();
//! let failing_read = InjectedError::new(ErrorKind::System, 38, 38, "cannot read from stream: Input/output error");
//! sim.inject(FaultPlan::new().short_at(1, 100).error_at(1000, failing_read));
//! let mut stream = sim.open(StreamFlags::empty(), &Transfer::download(volume, false)).unwrap();
//! let mut buf = vec![0; 65536];
//! assert_eq!(stream.recv(&mut buf, RecvFlags::empty()).unwrap(), Recv::Data(100)); // short
//! assert_eq!(stream.recv(&mut buf, RecvFlags::empty()).unwrap(), Recv::Data(900)); // up to the error
//! let error = stream.recv(&mut buf, RecvFlags::empty()).unwrap_err();
//! assert_eq!(error.message(), "cannot read from stream: Input/output error");
//! assert_eq!(stream.finish().unwrap_err(), error); // libvirt keeps a far-side error
//! ```

use stream_core::{Error, ErrorKind, Result, StreamFlags, StreamKind, libvirt_errors};

/// One thing that goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Data call number `call` of a NONBLOCK stream finds nothing ready: `-2`, nothing moves.
    WouldBlockAt {
        /// Which `send`/`recv` (1 = the first).
        call: u64,
    },
    /// Data call number `call` moves at most `max` bytes (a short send or receive).
    ShortAt {
        /// Which `send`/`recv` (1 = the first).
        call: u64,
        /// At most this many bytes (≥ 1).
        max: usize,
    },
    /// The far side fails at byte `at`: bytes before it move, the call that reaches it fails with
    /// `error`, and (as `virNetClientStream` keeps a server error) so does every later data call,
    /// `finish` and `abort`.
    ErrorAt {
        /// The transfer position where the far side fails.
        at: u64,
        /// What it reports.
        error: InjectedError,
    },
    /// The connection dies at byte `at`, as a killed libvirtd does: bytes before it move, then
    /// the stream and every other use of the connection fail as real libvirt 9.0 fails.
    DieAt {
        /// The transfer position where the daemon dies.
        at: u64,
    },
    /// The far side stops answering at byte `at` (a daemon wedged on its disk): bytes before it
    /// move, then nothing more does; the connection stays up. For clients' timeouts: on the
    /// wire (`virtstream serve`) the transfer goes quiet while keepalives and other calls are
    /// still answered; in process a NONBLOCK stream's data calls return `-2` from then on (a
    /// blocking one would hang its caller, so a plan for one is refused).
    StallAt {
        /// The transfer position where the far side stops.
        at: u64,
    },
    /// The filesystem under the pool fills at byte `at` of an upload: bytes before it are
    /// written, then the daemon's write fails as libvirt 9.0's does on a full disk, 38/38
    /// `Unable to write <volume>: No space left on device` (fixtures/libvirt-9.0 Q16), and the
    /// error stays. Only an upload writes: a plan with it is refused for a download.
    DiskFullAt {
        /// The upload position where the filesystem is full.
        at: u64,
    },
}

/// An error the far side reports: libvirt's code, domain and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedError {
    /// What kind of failure it is, for matching.
    pub kind: ErrorKind,
    /// libvirt's error code (`virErrorNumber`).
    pub code: i32,
    /// libvirt's error domain (`virErrorDomain`).
    pub domain: i32,
    /// The message as libvirt would print it.
    pub message: String,
}

impl InjectedError {
    /// An error with libvirt's `code`, `domain` and `message`.
    pub fn new(kind: ErrorKind, code: i32, domain: i32, message: impl Into<String>) -> Self {
        InjectedError {
            kind,
            code,
            domain,
            message: message.into(),
        }
    }

    /// The error a call returns.
    pub fn to_error(&self) -> Error {
        Error::libvirt(self.kind, self.code, self.domain, self.message.clone())
    }
}

/// What a stream does when things go wrong; empty by default. It reads from and prints as text
/// (one fault per line, see the `FromStr` impl) so a plan can be kept in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    faults: Vec<Fault>,
}

impl FaultPlan {
    /// A plan with no faults.
    pub fn new() -> FaultPlan {
        FaultPlan::default()
    }

    /// Also: data call `call` would block.
    pub fn would_block_at(self, call: u64) -> FaultPlan {
        self.with(Fault::WouldBlockAt { call })
    }

    /// Also: data call `call` moves at most `max` bytes.
    pub fn short_at(self, call: u64, max: usize) -> FaultPlan {
        self.with(Fault::ShortAt { call, max })
    }

    /// Also: the far side fails with `error` at byte `at`.
    pub fn error_at(self, at: u64, error: InjectedError) -> FaultPlan {
        self.with(Fault::ErrorAt { at, error })
    }

    /// Also: the connection dies at byte `at`.
    pub fn die_at(self, at: u64) -> FaultPlan {
        self.with(Fault::DieAt { at })
    }

    /// Also: the far side stops answering at byte `at`.
    pub fn stall_at(self, at: u64) -> FaultPlan {
        self.with(Fault::StallAt { at })
    }

    /// Also: the pool's filesystem is full at byte `at` of an upload.
    pub fn disk_full_at(self, at: u64) -> FaultPlan {
        self.with(Fault::DiskFullAt { at })
    }

    /// Also `fault`.
    pub fn with(mut self, fault: Fault) -> FaultPlan {
        self.faults.push(fault);
        self
    }

    /// The faults, in the order they were added.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Whether the plan has no faults.
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Refuse a plan that a stream of `kind` created with `flags` cannot follow, naming the rule.
    pub fn check(&self, kind: StreamKind, flags: StreamFlags) -> Result<()> {
        for fault in &self.faults {
            match fault {
                Fault::WouldBlockAt { call } | Fault::ShortAt { call, .. } if *call == 0 => {
                    return Err(plan_error(format!("{fault:?}: calls are counted from 1")));
                }
                Fault::WouldBlockAt { .. } if !flags.contains(StreamFlags::NONBLOCK) => {
                    return Err(plan_error(format!(
                        "{fault:?} needs a NONBLOCK stream: libvirt never returns -2 from a blocking one"
                    )));
                }
                Fault::ShortAt { max: 0, .. } => {
                    return Err(plan_error(format!(
                        "{fault:?}: a short call moves at least 1 byte (0 would read as end of stream)"
                    )));
                }
                Fault::DieAt { .. } if kind == StreamKind::Local => {
                    return Err(plan_error(format!(
                        "{fault:?}: a local stream runs in-process, there is no daemon connection to lose"
                    )));
                }
                Fault::StallAt { .. } if !flags.contains(StreamFlags::NONBLOCK) => {
                    return Err(plan_error(format!(
                        "{fault:?} on a blocking stream would hang its caller for ever: make it \
                         NONBLOCK (its calls then return -2), or serve it (virtstream serve) so \
                         the client's own timeout meets the stall"
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Refuse a plan that the daemon's side of a served stream cannot follow: the call-counted
    /// faults are the client library's (which calls return -2 or move less), not the daemon's.
    pub fn check_served(&self) -> Result<()> {
        match self
            .faults
            .iter()
            .find(|fault| matches!(fault, Fault::WouldBlockAt { .. } | Fault::ShortAt { .. }))
        {
            Some(fault) => Err(plan_error(format!(
                "{fault:?} counts the client's calls; a served stream's faults are at byte \
                 positions (error, die, stall, disk-full)"
            ))),
            None => Ok(()),
        }
    }

    /// Refuse a plan with a full filesystem for a stream that does not upload.
    pub fn check_direction(&self, uploads: bool) -> Result<()> {
        match self
            .faults
            .iter()
            .find(|f| matches!(f, Fault::DiskFullAt { .. }))
        {
            Some(fault) if !uploads => Err(plan_error(format!(
                "{fault:?}: a full filesystem fails an upload's writes; this stream downloads"
            ))),
            _ => Ok(()),
        }
    }
}

fn plan_error(why: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("bad fault plan: {why}"))
}

/// What a data call may do, by the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Go {
        /// The call moves at most this many bytes (a short call; `usize::MAX`: no limit).
        max: usize,
        /// Bytes left before a fault point: a download stops there; an upload's send is
        /// accepted whole, but only these bytes reach the volume (the far side failed after).
        room: u64,
    },
    /// Return would-block; nothing moves.
    WouldBlock,
    /// Fail with the far side's error, which stays.
    Fail(Error),
    /// The connection dies now.
    Die,
    /// The far side has stopped answering: nothing moves, now or later.
    Stall,
}

/// A plan being followed by one stream.
#[derive(Debug, Clone, Default)]
pub struct FaultRun {
    plan: FaultPlan,
    calls: u64,
    position: u64,
    /// The far side's error once it was raised: every later call returns it.
    raised: Option<Error>,
    /// A far-side error reached by a data call kills the daemon instead (libvirt 11.3's upload
    /// write failure, see [`Release`](crate::Release)).
    data_errors_kill: bool,
    /// The file a full filesystem fails to write (libvirt names the volume's path).
    written: String,
}

impl FaultRun {
    /// Follow `plan` from the first call.
    pub fn new(plan: FaultPlan) -> FaultRun {
        FaultRun {
            plan,
            ..FaultRun::default()
        }
    }

    /// An upload into `file` (named by a full filesystem's error: the volume's path, or its
    /// name where the simulator has no path).
    pub fn writing(mut self, file: impl Into<String>) -> FaultRun {
        self.written = file.into();
        self
    }

    /// From now on a far-side error reached by a `send` or `recv` is the daemon's death there.
    pub fn kill_on_data_errors(&mut self) {
        self.data_errors_kill = true;
    }

    /// [`FaultPlan::check_direction`] of the plan followed.
    pub fn check_direction(&self, uploads: bool) -> Result<()> {
        self.plan.check_direction(uploads)
    }

    /// The far side's error, if one was raised: it precedes everything else.
    pub fn raised(&self) -> Option<Error> {
        self.raised.clone()
    }

    /// A `send` or `recv` starts: what may it do?
    pub fn data_call(&mut self) -> Verdict {
        if let Some(error) = &self.raised {
            return Verdict::Fail(error.clone());
        }
        self.calls += 1;
        let call = self.calls;
        let mut limit = usize::MAX;
        for fault in &self.plan.faults {
            match fault {
                Fault::WouldBlockAt { call: at } if *at == call => return Verdict::WouldBlock,
                Fault::ShortAt { call: at, max } if *at == call => limit = limit.min(*max),
                _ => {}
            }
        }
        match self.position_verdict() {
            Verdict::Go { room, .. } => Verdict::Go { max: limit, room },
            Verdict::Fail(_) if self.data_errors_kill => {
                self.raised = None;
                Verdict::Die
            }
            other => other,
        }
    }

    /// A call that moves no data (`send_hole`, `recv_hole`, `finish`, `abort`) starts: may it
    /// go ahead?
    pub fn hole_call(&mut self) -> Verdict {
        if let Some(error) = &self.raised {
            return Verdict::Fail(error.clone());
        }
        self.position_verdict()
    }

    /// What the byte-positioned faults say at the current position: fail when one is reached,
    /// else how many bytes may move before the next one.
    fn position_verdict(&mut self) -> Verdict {
        let mut room = u64::MAX;
        for fault in &self.plan.faults {
            let (at, reached) = match fault {
                Fault::ErrorAt { at, error } => (*at, Verdict::Fail(error.to_error())),
                Fault::DiskFullAt { at } => {
                    (*at, Verdict::Fail(libvirt_errors::disk_full(&self.written)))
                }
                Fault::DieAt { at } => (*at, Verdict::Die),
                Fault::StallAt { at } => (*at, Verdict::Stall),
                _ => continue,
            };
            if self.position >= at {
                if let Verdict::Fail(error) = &reached {
                    self.raised = Some(error.clone());
                }
                return reached;
            }
            room = room.min(at - self.position);
        }
        Verdict::Go {
            max: usize::MAX,
            room,
        }
    }

    /// `bytes` of the transfer went by (data or a hole).
    pub fn moved(&mut self, bytes: u64) {
        self.position = self.position.saturating_add(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injected() -> InjectedError {
        InjectedError::new(ErrorKind::System, 38, 18, "cannot read: Input/output error")
    }

    #[test]
    fn calls_are_counted_from_one_and_short_limits_one_call() {
        let mut run = FaultRun::new(FaultPlan::new().would_block_at(2).short_at(3, 5));
        let free = Verdict::Go {
            max: usize::MAX,
            room: u64::MAX,
        };
        assert_eq!(run.data_call(), free);
        assert_eq!(run.data_call(), Verdict::WouldBlock);
        assert_eq!(
            run.data_call(),
            Verdict::Go {
                max: 5,
                room: u64::MAX
            }
        );
        assert_eq!(run.data_call(), free);
    }

    #[test]
    fn bytes_stop_at_the_error_and_the_error_stays() {
        let mut run = FaultRun::new(FaultPlan::new().error_at(100, injected()));
        let room = |room| Verdict::Go {
            max: usize::MAX,
            room,
        };
        assert_eq!(run.data_call(), room(100));
        run.moved(60);
        assert_eq!(run.data_call(), room(40));
        run.moved(40);
        let error = injected().to_error();
        assert_eq!(run.data_call(), Verdict::Fail(error.clone()));
        assert_eq!(run.hole_call(), Verdict::Fail(error.clone()));
        assert_eq!(run.raised(), Some(error));
    }

    #[test]
    fn a_hole_past_the_point_is_whole_and_the_next_call_dies() {
        let mut run = FaultRun::new(FaultPlan::new().die_at(10));
        assert_eq!(
            run.hole_call(),
            Verdict::Go {
                max: usize::MAX,
                room: 10
            }
        );
        run.moved(4096);
        assert_eq!(run.data_call(), Verdict::Die);
    }

    #[test]
    fn plans_a_stream_cannot_follow_are_refused_with_the_rule() {
        let blocking = StreamFlags::empty();
        let cases = [
            (
                FaultPlan::new().would_block_at(1),
                "needs a NONBLOCK stream",
            ),
            (FaultPlan::new().short_at(0, 1), "counted from 1"),
            (FaultPlan::new().short_at(1, 0), "at least 1 byte"),
        ];
        for (plan, rule) in cases {
            let error = plan.check(StreamKind::Remote, blocking).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            assert!(error.message().contains(rule), "{error}");
        }
        let local = FaultPlan::new()
            .die_at(0)
            .check(StreamKind::Local, blocking);
        assert!(
            local
                .unwrap_err()
                .message()
                .contains("no daemon connection")
        );
        assert!(
            FaultPlan::new()
                .would_block_at(1)
                .check(StreamKind::Remote, StreamFlags::NONBLOCK)
                .is_ok()
        );
    }
}
