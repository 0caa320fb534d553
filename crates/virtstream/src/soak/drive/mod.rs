//! One soak transfer from start to cleanup: make the volume, move the plan's layout through a
//! stream (blocking through the `*_all` helpers or by hand, NONBLOCK by hand on its event
//! callback), stop it where the plan says (abort, daemon restart), and check what arrived.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use stream_core::{
    Backend, ErrorKind, Layout, Recv, RecvFlags, Stream, StreamFlags, StreamState, Transfer,
    VolumeId,
};
use stream_libvirt::LibvirtBackend;

use super::plan::{Direction, Ending, Plan, Stop};
use super::verify::{Checker, Mismatch};

mod by_hand;
mod step;
mod with_helpers;

use by_hand::{download_by_hand, upload_by_hand};
use with_helpers::{download_with_helpers, upload_with_helpers};

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

impl Job {
    /// Run the transfer, check it, delete its volume.
    pub fn run(self, restart: RestartHook<'_>) -> Outcome {
        let mut backend = self.backend.clone();
        let outcome = self.transfer(&mut backend, restart);
        // After a restart `backend` is the new connection: the old one cannot delete anything.
        self.delete(&backend, outcome)
    }

    /// Delete the volume through `backend`; failing to delete spoils a transfer that went well
    /// (one that failed may not have a volume any more).
    pub fn delete(&self, backend: &LibvirtBackend, outcome: Outcome) -> Outcome {
        match backend.delete_volume(&self.volume) {
            Err(error) if matches!(outcome, Outcome::Verified(_) | Outcome::Aborted(_)) => {
                Outcome::Failed(Failure::new("delete_volume", error))
            }
            _ => outcome,
        }
    }

    /// The transfer and its check, without the cleanup; `backend` is the new connection after
    /// a restart.
    pub fn transfer(&self, backend: &mut LibvirtBackend, restart: RestartHook<'_>) -> Outcome {
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
