//! One soak transfer from start to cleanup: make the volume, move the plan's layout through a
//! stream (blocking through the `*_all` helpers or by hand, NONBLOCK by hand on its event
//! callback), stop it where the plan says (abort, daemon restart), and check what arrived.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use stream_core::{
    Backend, ErrorKind, EventSet, Layout, Recv, RecvFlags, Section, Sent, Stream, StreamFlags,
    StreamState, Transfer, VolumeId, recv_all, send_all, sparse_recv_all, sparse_send_all,
};
use stream_libvirt::LibvirtBackend;

use super::plan::{Direction, Ending, Plan, Stop};
use super::verify::{Checker, Mismatch};

/// How long a NONBLOCK stream waits for its callback before trying again anyway. Events are
/// what should wake it; the retry only keeps a lost event from becoming a hang, and every
/// timed-out wait is counted so lost events still show in the report.
pub(super) const EVENT_WAIT: Duration = Duration::from_millis(200);

/// What the checker reads an upload back from.
#[derive(Debug, Clone)]
pub enum ReadBack {
    /// The pool's directory (a daemon we started): the volume's file, read without libvirt, so
    /// the check does not trust the code it checks.
    PoolDir(PathBuf),
    /// A blocking, non-sparse download through libvirt (a daemon we were only given the URI of).
    Stream,
}

/// Everything one transfer needs; sent to the worker thread.
#[derive(Debug)]
pub struct Job {
    pub plan: Plan,
    pub backend: LibvirtBackend,
    pub volume: VolumeId,
    pub read_back: ReadBack,
    /// Flip one received byte before the check (`--inject-mismatch`).
    pub plant: bool,
}

/// Bytes a transfer moved through its stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moved {
    pub data: u64,
    pub holes: u64,
    /// NONBLOCK `WouldBlock` answers (each followed by a wait for the callback).
    pub would_blocks: u64,
    /// NONBLOCK waits for an event that timed out (see [`EVENT_WAIT`]).
    pub lost_events: u64,
}

/// A call that failed, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub stage: &'static str,
    pub error: String,
}

impl Failure {
    fn new(stage: &'static str, error: impl ToString) -> Failure {
        Failure {
            stage,
            error: error.to_string(),
        }
    }
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Completed, and every byte matched its source.
    Verified(Moved),
    /// Completed, but the bytes differ from the source.
    Mismatch(Moved, Mismatch),
    /// Aborted as planned; abort succeeded and the stream refused later calls.
    Aborted(Moved),
    /// Failed after the daemon restart, as it must.
    FailedAfterRestart(Moved, Failure),
    /// Anything else: a failure nothing planned.
    Failed(Failure),
}

/// What the worker asks of the thread that owns the daemon: restart it and hand back a
/// connection to the new one.
pub type RestartHook<'a> = &'a mut dyn FnMut(Stop) -> Result<LibvirtBackend, String>;

/// The once-only stop point of a plan.
#[derive(Debug)]
struct Trigger {
    at: Option<u64>,
}

impl Trigger {
    fn new(ending: Ending) -> Trigger {
        let at = match ending {
            Ending::Complete => None,
            Ending::Abort { at } | Ending::Restart { at, .. } => Some(at),
        };
        Trigger { at }
    }

    /// Whether the stop point is reached at `position`; true once.
    fn fire(&mut self, position: u64) -> bool {
        let due = self.at.is_some_and(|at| position >= at);
        if due {
            self.at = None;
        }
        due
    }

    /// `length` cut so that a step starting at `position` ends at the stop point.
    fn clip(&self, position: u64, length: u64) -> u64 {
        match self.at {
            Some(at) if at > position => length.min(at - position),
            _ => length,
        }
    }
}

/// Where a stream's bytes are at `position` of `layout`: `(is data, bytes until that changes)`;
/// zero length at the end.
fn section_at(layout: &Layout, position: u64) -> (bool, u64) {
    let extents = layout.extents();
    let next = extents.partition_point(|extent| extent.end() <= position);
    match extents.get(next) {
        Some(extent) if extent.offset <= position => (true, extent.end() - position),
        Some(extent) => (false, extent.offset - position),
        None => (false, layout.size().saturating_sub(position)),
    }
}

/// A NONBLOCK stream's event callback, coalesced into a one-slot channel: remote streams are
/// level-triggered and would otherwise queue events without bound while we work.
struct Events(Receiver<EventSet>);

impl Events {
    fn register(stream: &mut dyn Stream, wanted: EventSet) -> Result<Events, Failure> {
        let (sender, receiver) = mpsc::sync_channel(1);
        stream
            .add_callback(
                wanted | EventSet::ERROR | EventSet::HANGUP,
                Box::new(move |events| {
                    let _ = sender.try_send(events);
                }),
            )
            .map_err(|error| Failure::new("add_callback", error))?;
        Ok(Events(receiver))
    }

    fn wait(&self, moved: &mut Moved) {
        moved.would_blocks += 1;
        if self.0.recv_timeout(EVENT_WAIT).is_err() {
            moved.lost_events += 1;
        }
    }
}

impl Job {
    /// Run the transfer, check it, delete its volume.
    pub fn run(self, restart: RestartHook<'_>) -> Outcome {
        let mut backend = self.backend.clone();
        let outcome = self.transfer(&mut backend, restart);
        // After a restart `backend` is the new connection: the old one cannot delete anything.
        match backend.delete_volume(&self.volume) {
            Err(error) if matches!(outcome, Outcome::Verified(_) | Outcome::Aborted(_)) => {
                Outcome::Failed(Failure::new("delete_volume", error))
            }
            _ => outcome,
        }
    }

    fn transfer(&self, backend: &mut LibvirtBackend, restart: RestartHook<'_>) -> Outcome {
        let plan = &self.plan;
        let source = match plan.direction {
            Direction::Upload => Layout::hole(plan.layout.size()),
            Direction::Download => plan.layout.clone(),
        };
        if let Err(error) = backend.create_volume(&self.volume, &source) {
            return Outcome::Failed(Failure::new("create_volume", error));
        }
        let flags = if plan.nonblock {
            StreamFlags::NONBLOCK
        } else {
            StreamFlags::empty()
        };
        let transfer = match plan.direction {
            Direction::Upload => Transfer::upload(self.volume.clone(), plan.sparse),
            Direction::Download => Transfer::download(self.volume.clone(), plan.sparse),
        };
        let mut stream = match backend.open(flags, &transfer) {
            Ok(stream) => stream,
            Err(error) => return Outcome::Failed(Failure::new("open", error)),
        };
        let mut checker = Checker::new(&plan.layout);
        if self.plant && plan.layout.size() > 0 {
            checker.plant(plan.layout.size() / 2);
        }
        let mut restarted = false;
        let mut on_restart = |stop| -> Result<(), Failure> {
            *backend = restart(stop).map_err(|error| Failure::new("restart", error))?;
            restarted = true;
            Ok(())
        };
        let driven = match (plan.direction, plan.nonblock, plan.ending) {
            (Direction::Upload, false, Ending::Complete | Ending::Restart { .. }) => {
                upload_with_helpers(stream.as_mut(), plan, &mut on_restart)
            }
            (Direction::Download, false, Ending::Complete | Ending::Restart { .. }) => {
                download_with_helpers(stream.as_mut(), plan, &mut checker, &mut on_restart)
            }
            (Direction::Upload, ..) => upload_by_hand(stream.as_mut(), plan, &mut on_restart),
            (Direction::Download, ..) => {
                download_by_hand(stream.as_mut(), plan, &mut checker, &mut on_restart)
            }
        };
        let restart_planned = matches!(plan.ending, Ending::Restart { .. });
        match driven {
            Err(failure) if failure.stage == "restart" => Outcome::Failed(failure),
            Err(failure) if restarted => Outcome::FailedAfterRestart(Moved::default(), failure),
            Err(failure) => Outcome::Failed(failure),
            Ok(_) if restart_planned => Outcome::Failed(Failure::new(
                "restart",
                if restarted {
                    "the transfer succeeded across a daemon restart"
                } else {
                    "the restart point was never reached"
                },
            )),
            Ok(Driven::Aborted(moved)) => Outcome::Aborted(moved),
            Ok(Driven::Finished(moved)) => {
                let checked = match plan.direction {
                    Direction::Download => Ok(checker.finish()),
                    Direction::Upload => self.read_back(backend, checker),
                };
                match checked {
                    Ok(Ok(_)) => Outcome::Verified(moved),
                    Ok(Err(mismatch)) => Outcome::Mismatch(moved, mismatch),
                    Err(failure) => Outcome::Failed(failure),
                }
            }
        }
    }

    /// Read the uploaded volume back into `checker`.
    fn read_back(
        &self,
        backend: &LibvirtBackend,
        mut checker: Checker<'_>,
    ) -> Result<Result<u64, Mismatch>, Failure> {
        let mut buffer = vec![0; 1 << 20];
        match &self.read_back {
            ReadBack::PoolDir(dir) => {
                let path = dir.join(&self.volume.name);
                let mut file = File::open(&path).map_err(|error| {
                    Failure::new("read back", format!("{}: {error}", path.display()))
                })?;
                loop {
                    match file.read(&mut buffer) {
                        Ok(0) => break,
                        Ok(n) => checker.data(&buffer[..n]),
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                        Err(error) => return Err(Failure::new("read back", error)),
                    }
                }
            }
            ReadBack::Stream => {
                let mut stream = backend
                    .open(
                        StreamFlags::empty(),
                        &Transfer::download(self.volume.clone(), false),
                    )
                    .map_err(|error| Failure::new("read back", error))?;
                loop {
                    match stream.recv(&mut buffer, RecvFlags::empty()) {
                        Ok(Recv::Data(n)) => checker.data(&buffer[..n]),
                        Ok(_) => break,
                        Err(error) => return Err(Failure::new("read back", error)),
                    }
                }
                stream
                    .finish()
                    .map_err(|error| Failure::new("read back finish", error))?;
            }
        }
        Ok(checker.finish())
    }
}

/// How the driving part ended (before any check).
#[derive(Debug)]
enum Driven {
    Finished(Moved),
    Aborted(Moved),
}

type OnRestart<'a> = &'a mut dyn FnMut(Stop) -> Result<(), Failure>;

fn stop_of(plan: &Plan) -> Stop {
    match plan.ending {
        Ending::Restart { stop, .. } => stop,
        _ => Stop::Term,
    }
}

fn finish(stream: &mut dyn Stream, moved: Moved) -> Result<Driven, Failure> {
    stream
        .finish()
        .map_err(|error| Failure::new("finish", error))?;
    Ok(Driven::Finished(moved))
}

/// Abort, then prove the stream is closed: abort returned Ok, the state says so, and the next
/// data call and `finish` fail with the closed-stream error (CONTRACT.md §3).
fn abort_and_check(
    stream: &mut dyn Stream,
    direction: Direction,
    moved: Moved,
) -> Result<Driven, Failure> {
    stream
        .abort()
        .map_err(|error| Failure::new("abort", error))?;
    if stream.state() != StreamState::Aborted {
        return Err(Failure::new(
            "after abort",
            format!("state is {:?}, not Aborted", stream.state()),
        ));
    }
    let later = match direction {
        Direction::Upload => stream.send(&[1]).map(drop),
        Direction::Download => stream.recv(&mut [0; 16], RecvFlags::empty()).map(drop),
    };
    for (call, result) in [("data call", later), ("finish", stream.finish())] {
        match result {
            Err(error) if error.kind() == ErrorKind::Closed => {}
            Err(error) => {
                return Err(Failure::new(
                    "after abort",
                    format!("{call} failed, but not as closed: {error}"),
                ));
            }
            Ok(()) => {
                return Err(Failure::new(
                    "after abort",
                    format!("{call} succeeded on an aborted stream"),
                ));
            }
        }
    }
    Ok(Driven::Aborted(moved))
}

/// Send all of `data`, waiting for WRITABLE on would-block.
fn send_fully(
    stream: &mut dyn Stream,
    mut data: &[u8],
    events: Option<&Events>,
    moved: &mut Moved,
) -> Result<(), Failure> {
    while !data.is_empty() {
        match stream
            .send(data)
            .map_err(|error| Failure::new("send", error))?
        {
            Sent::Bytes(n) if n > 0 && n <= data.len() => {
                data = &data[n..];
                moved.data += n as u64;
            }
            Sent::WouldBlock if events.is_some() => {
                if let Some(events) = events {
                    events.wait(moved);
                }
            }
            other => {
                return Err(Failure::new(
                    "send",
                    format!("{other:?} for {} bytes", data.len()),
                ));
            }
        }
    }
    Ok(())
}

/// An upload written call by call: holes as `send_hole` when sparse (split at the stop point,
/// which also exercises merging consecutive holes), data in `plan.chunk` pieces.
fn upload_by_hand(
    stream: &mut dyn Stream,
    plan: &Plan,
    on_restart: OnRestart<'_>,
) -> Result<Driven, Failure> {
    let layout = &plan.layout;
    let events = if plan.nonblock {
        Some(Events::register(stream, EventSet::WRITABLE)?)
    } else {
        None
    };
    let mut trigger = Trigger::new(plan.ending);
    let mut buffer = vec![0; plan.chunk];
    let mut moved = Moved::default();
    let mut position = 0;
    loop {
        if trigger.fire(position) {
            match plan.ending {
                Ending::Abort { .. } => return abort_and_check(stream, plan.direction, moved),
                _ => on_restart(stop_of(plan))?,
            }
        }
        if position >= layout.size() {
            break;
        }
        let (data, length) = section_at(layout, position);
        let length = trigger.clip(position, length);
        if !data && plan.sparse {
            stream
                .send_hole(length as i64, 0)
                .map_err(|error| Failure::new("send_hole", error))?;
            moved.holes += length;
            position += length;
            continue;
        }
        let n = length.min(buffer.len() as u64) as usize;
        layout.read_at(position, &mut buffer[..n]);
        send_fully(stream, &buffer[..n], events.as_ref(), &mut moved)?;
        position += n as u64;
    }
    finish(stream, moved)
}

/// A download read call by call, `STOP_AT_HOLE` when sparse, into the checker.
fn download_by_hand(
    stream: &mut dyn Stream,
    plan: &Plan,
    checker: &mut Checker<'_>,
    on_restart: OnRestart<'_>,
) -> Result<Driven, Failure> {
    let events = if plan.nonblock {
        Some(Events::register(stream, EventSet::READABLE)?)
    } else {
        None
    };
    let flags = if plan.sparse {
        RecvFlags::STOP_AT_HOLE
    } else {
        RecvFlags::empty()
    };
    let mut trigger = Trigger::new(plan.ending);
    let mut buffer = vec![0; plan.chunk];
    let mut moved = Moved::default();
    loop {
        if trigger.fire(checker.position()) {
            match plan.ending {
                Ending::Abort { .. } => return abort_and_check(stream, plan.direction, moved),
                _ => on_restart(stop_of(plan))?,
            }
        }
        match stream
            .recv(&mut buffer, flags)
            .map_err(|error| Failure::new("recv", error))?
        {
            Recv::Data(n) => {
                checker.data(&buffer[..n]);
                moved.data += n as u64;
            }
            Recv::Hole => {
                let length = stream
                    .recv_hole(0)
                    .map_err(|error| Failure::new("recv_hole", error))?;
                checker.hole(length.max(0) as u64);
                moved.holes += length.max(0) as u64;
            }
            Recv::Eof => break,
            Recv::WouldBlock => match &events {
                Some(events) => events.wait(&mut moved),
                None => return Err(Failure::new("recv", "WouldBlock on a blocking stream")),
            },
        }
    }
    finish(stream, moved)
}

fn handler_error(failure: Failure) -> io::Error {
    io::Error::other(format!("{}: {}", failure.stage, failure.error))
}

/// A blocking upload through `send_all` / `sparse_send_all`: the library's own loops, with the
/// restart inside the source's handler.
fn upload_with_helpers(
    stream: &mut dyn Stream,
    plan: &Plan,
    on_restart: OnRestart<'_>,
) -> Result<Driven, Failure> {
    let layout = &plan.layout;
    let position = Cell::new(0u64);
    let moved = RefCell::new(Moved::default());
    let trigger = RefCell::new(Trigger::new(plan.ending));
    let on_restart = RefCell::new(on_restart);
    let stop_here = || -> io::Result<()> {
        if trigger.borrow_mut().fire(position.get()) {
            (on_restart.borrow_mut())(stop_of(plan)).map_err(handler_error)?;
        }
        Ok(())
    };
    // Never more than `chunk` per fill, and never past the stop point, so it fires where planned.
    let source = |buf: &mut [u8]| -> io::Result<usize> {
        let at = position.get();
        let room = trigger
            .borrow()
            .clip(at, layout.size() - at)
            .min(buf.len().min(plan.chunk) as u64) as usize;
        layout.read_at(at, &mut buf[..room]);
        position.set(at + room as u64);
        moved.borrow_mut().data += room as u64;
        Ok(room)
    };
    let result = if plan.sparse {
        sparse_send_all(
            stream,
            source,
            || {
                stop_here()?;
                let at = position.get();
                let (data, length) = section_at(layout, at);
                let length = trigger.borrow().clip(at, length);
                Ok(if data {
                    Section::Data(length)
                } else {
                    Section::Hole(length)
                })
            },
            |length| {
                position.set(position.get() + length);
                moved.borrow_mut().holes += length;
                Ok(())
            },
        )
    } else {
        send_all(stream, |buf| {
            stop_here()?;
            source(buf)
        })
    };
    result.map_err(|error| {
        Failure::new(
            if plan.sparse {
                "sparse_send_all"
            } else {
                "send_all"
            },
            error,
        )
    })?;
    // A stop point at the very end is reached only now, just before finish.
    stop_here().map_err(|error| Failure::new("restart", error))?;
    finish(stream, moved.into_inner())
}

/// A blocking download through `recv_all` / `sparse_recv_all` into the checker, the restart
/// inside the handlers.
fn download_with_helpers(
    stream: &mut dyn Stream,
    plan: &Plan,
    checker: &mut Checker<'_>,
    on_restart: OnRestart<'_>,
) -> Result<Driven, Failure> {
    let checker = RefCell::new(checker);
    let moved = RefCell::new(Moved::default());
    let trigger = RefCell::new(Trigger::new(plan.ending));
    let on_restart = RefCell::new(on_restart);
    let stop_here = || -> io::Result<()> {
        if trigger.borrow_mut().fire(checker.borrow().position()) {
            (on_restart.borrow_mut())(stop_of(plan)).map_err(handler_error)?;
        }
        Ok(())
    };
    let sink = |data: &[u8]| -> io::Result<usize> {
        stop_here()?;
        checker.borrow_mut().data(data);
        moved.borrow_mut().data += data.len() as u64;
        Ok(data.len())
    };
    let result = if plan.sparse {
        sparse_recv_all(stream, sink, |length| {
            stop_here()?;
            checker.borrow_mut().hole(length);
            moved.borrow_mut().holes += length;
            Ok(())
        })
    } else {
        recv_all(stream, sink)
    };
    result.map_err(|error| {
        Failure::new(
            if plan.sparse {
                "sparse_recv_all"
            } else {
                "recv_all"
            },
            error,
        )
    })?;
    stop_here().map_err(|error| Failure::new("restart", error))?;
    finish(stream, moved.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_follow_the_layout() {
        let layout = Layout::parse("H10 D5 Z3 H2").expect("layout");
        assert_eq!(section_at(&layout, 0), (false, 10));
        assert_eq!(section_at(&layout, 4), (false, 6));
        assert_eq!(section_at(&layout, 10), (true, 5));
        assert_eq!(section_at(&layout, 15), (true, 3));
        assert_eq!(section_at(&layout, 18), (false, 2));
        assert_eq!(section_at(&layout, 20), (false, 0));
    }

    #[test]
    fn the_trigger_fires_once_and_clips_steps_to_it() {
        let mut trigger = Trigger::new(Ending::Abort { at: 100 });
        assert_eq!(trigger.clip(40, 500), 60);
        assert!(!trigger.fire(99));
        assert!(trigger.fire(100));
        assert!(!trigger.fire(200));
        assert_eq!(trigger.clip(100, 500), 500);
    }
}
