//! Soak transfers on several threads sharing a few connections, under one watchdog: thread `i`
//! runs its transfers on connection `i % connections`; a transfer that asks for a daemon restart
//! gets it from the thread that owns the daemon, which then hands every thread new connections.
//!
//! A restart kills every connection, so the other threads' transfers in flight die with it.
//! Such a transfer must fail as a dead daemon makes it fail (the client's "daemon gone" errors);
//! it then counts as cut by a restart, as the restarting transfer itself does. Anything else
//! (a mismatch, another error, a success) is judged as without the restart.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use stream_core::VolumeId;
use stream_libvirt::LibvirtBackend;

use super::Target;
use super::drive::{Failure, Job, Moved, Outcome};
use super::plan::{Plan, Stop};
use super::report::Report;

/// One transfer to run: its plan, its volume, and whether to plant a mismatch.
#[derive(Debug, Clone)]
pub struct Work {
    pub plan: Plan,
    pub volume: VolumeId,
    pub plant: bool,
}

/// What the next transfer is: one to run, one to skip (a restart on a daemon not ours), or
/// none (the run is over).
pub enum Next {
    Run(Work),
    Skip(Plan),
}

/// Hands out the transfers; called from the worker threads.
pub type Source = Box<dyn Fn() -> Option<Next> + Send + Sync>;

/// A list of transfers handed out in order.
pub fn from_list(work: Vec<Work>) -> Source {
    let queue = Mutex::new(VecDeque::from(work));
    Box::new(move || lock(&queue).pop_front().map(Next::Run))
}

/// What the pool tells whoever runs it.
pub enum Event {
    Done(Plan, Outcome),
    Skipped(Plan),
}

/// The connections of the daemon now, and how many restarts came before them. The number goes
/// up when a restart begins, before the daemon goes away, so every transfer it cuts sees it.
struct Epoch {
    number: u64,
    backends: Vec<LibvirtBackend>,
    /// A restart is under way: no transfer starts on the dying daemon's connections.
    restarting: bool,
}

/// The transfer a worker is running, for the watchdog.
struct Running {
    since: Instant,
    plan: Plan,
}

struct Shared {
    epoch: Mutex<Epoch>,
    /// Signalled when a restart ends.
    restarted: Condvar,
    source: Source,
    slots: Vec<Mutex<Option<Running>>>,
    stop: AtomicBool,
    read_back: super::drive::ReadBack,
}

enum Msg {
    Restart {
        worker: usize,
        stop: Stop,
        reply: Sender<Result<LibvirtBackend, String>>,
    },
    Event(Event),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// This worker's connection, once no restart is under way, and the epoch it belongs to.
    fn connection(&self, worker: usize) -> (u64, LibvirtBackend) {
        let epoch = self
            .restarted
            .wait_while(lock(&self.epoch), |epoch| epoch.restarting)
            .unwrap_or_else(PoisonError::into_inner);
        let backend = epoch.backends[worker % epoch.backends.len()].clone();
        (epoch.number, backend)
    }

    fn epoch_number(&self) -> u64 {
        lock(&self.epoch).number
    }

    /// A restart begins: transfers in flight are now in an older epoch.
    fn begin_restart(&self) {
        let mut epoch = lock(&self.epoch);
        epoch.number += 1;
        epoch.restarting = true;
    }

    /// It ended: the new connections, or (it failed) the old ones, which fail every call.
    fn end_restart(&self, backends: Option<Vec<LibvirtBackend>>) {
        let mut epoch = lock(&self.epoch);
        if let Some(backends) = backends {
            epoch.backends = backends;
        }
        epoch.restarting = false;
        self.restarted.notify_all();
    }
}

/// `count` connections to the target's daemon.
fn connect(
    uri: &str,
    count: u32,
    first: Option<LibvirtBackend>,
) -> Result<Vec<LibvirtBackend>, String> {
    let mut backends: Vec<LibvirtBackend> = first.into_iter().collect();
    while backends.len() < count as usize {
        backends.push(
            LibvirtBackend::connect(uri)
                .map_err(|error| format!("cannot connect to {uri}: {error}"))?,
        );
    }
    Ok(backends)
}

/// Whether a failure is what a killed daemon gives a stream or a volume call (the messages of
/// `stream_core::libvirt_errors::daemon_gone`, rendered by `Error`'s `Display`).
fn is_daemon_gone(failure: &Failure) -> bool {
    failure.error.starts_with("disconnected:")
}

/// A transfer that ran while another thread restarted the daemon.
fn judged_after_restart(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Failed(failure) if failure.stage != "restart" && is_daemon_gone(&failure) => {
            Outcome::FailedAfterRestart(Moved::default(), failure)
        }
        other => other,
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

fn worker(id: usize, shared: Arc<Shared>, to_main: Sender<Msg>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let work = match (shared.source)() {
            None => break,
            Some(Next::Skip(plan)) => {
                let _ = to_main.send(Msg::Event(Event::Skipped(plan)));
                continue;
            }
            Some(Next::Run(work)) => work,
        };
        let (epoch, mut backend) = shared.connection(id);
        *lock(&shared.slots[id]) = Some(Running {
            since: Instant::now(),
            plan: work.plan.clone(),
        });
        let job = Job {
            plan: work.plan,
            backend: backend.clone(),
            volume: work.volume,
            read_back: shared.read_back.clone(),
            plant: work.plant,
        };
        let mut hook = |stop| {
            let (reply, answer) = mpsc::channel();
            to_main
                .send(Msg::Restart {
                    worker: id,
                    stop,
                    reply,
                })
                .map_err(|_| "the soak's main thread has gone".to_string())?;
            answer
                .recv()
                .map_err(|_| "the soak's main thread has gone".to_string())?
        };
        // A panic in a library is a finding to report, not the end of the run.
        let outcome =
            panic::catch_unwind(AssertUnwindSafe(|| job.transfer(&mut backend, &mut hook)))
                .unwrap_or_else(|panic| {
                    Outcome::Failed(Failure {
                        stage: "panic",
                        error: panic_message(panic.as_ref()),
                    })
                });
        let outcome = if shared.epoch_number() != epoch {
            judged_after_restart(outcome)
        } else {
            outcome
        };
        let outcome = delete(&shared, id, &job, outcome);
        *lock(&shared.slots[id]) = None;
        if to_main
            .send(Msg::Event(Event::Done(job.plan, outcome)))
            .is_err()
        {
            break;
        }
    }
}

/// Delete the transfer's volume through this worker's connection now (whoever restarted, the
/// old one is dead). A delete cut by a restart that began meanwhile is tried again on the next
/// connection: the volume outlives the daemon, unless the cut delete had already removed it
/// (the daemon died before its answer came), which "not found" then says.
fn delete(shared: &Shared, id: usize, job: &Job, outcome: Outcome) -> Outcome {
    let mut retried = false;
    loop {
        let (epoch, backend) = shared.connection(id);
        let deleted = job.delete(&backend, outcome.clone());
        let Outcome::Failed(failure) = &deleted else {
            return deleted;
        };
        if failure.stage != "delete_volume" {
            return deleted;
        }
        if retried && failure.error.starts_with("not-found:") {
            return outcome;
        }
        if retried || !is_daemon_gone(failure) || shared.epoch_number() == epoch {
            return deleted;
        }
        retried = true;
    }
}

/// How a pool runs.
pub struct Config {
    pub threads: u32,
    pub connections: u32,
    pub deadline: Duration,
}

/// Run every transfer `source` hands out on `config.threads` threads, calling `on_event` for
/// each as it ends; returns the wall time. A transfer past the deadline is a hang: it is
/// reported and the run stops (its thread is left behind; the process ends after the report).
pub fn run(
    config: &Config,
    target: &mut Target,
    source: Source,
    report: &mut Report,
    on_event: &mut dyn FnMut(&mut Report, Event) -> Result<(), String>,
) -> Result<Duration, String> {
    let started = Instant::now();
    let backends = connect(&target.uri, config.connections, None)?;
    let shared = Arc::new(Shared {
        epoch: Mutex::new(Epoch {
            number: 0,
            backends,
            restarting: false,
        }),
        restarted: Condvar::new(),
        source,
        slots: (0..config.threads).map(|_| Mutex::new(None)).collect(),
        stop: AtomicBool::new(false),
        read_back: target.read_back(),
    });
    let (to_main, from_workers) = mpsc::channel::<Msg>();
    for id in 0..config.threads as usize {
        let (shared, to_main) = (shared.clone(), to_main.clone());
        thread::Builder::new()
            .name(format!("soak-{id}"))
            .spawn(move || worker(id, shared, to_main))
            .map_err(|error| format!("cannot start a transfer thread: {error}"))?;
    }
    drop(to_main);
    let result = watch(config, target, &shared, &from_workers, report, on_event);
    shared.stop.store(true, Ordering::SeqCst);
    result.map(|()| started.elapsed())
}

/// The main thread's loop: restarts, events, and the watchdog, until every worker is done.
fn watch(
    config: &Config,
    target: &mut Target,
    shared: &Shared,
    from_workers: &Receiver<Msg>,
    report: &mut Report,
    on_event: &mut dyn FnMut(&mut Report, Event) -> Result<(), String>,
) -> Result<(), String> {
    loop {
        match from_workers.recv_timeout(Duration::from_millis(250)) {
            Ok(Msg::Restart {
                worker,
                stop,
                reply,
            }) => {
                let asked = Instant::now();
                shared.begin_restart();
                let result = target
                    .restart(stop)
                    .and_then(|first| connect(&target.uri, config.connections, Some(first)));
                report.restart_took(asked.elapsed());
                let mine = result
                    .as_ref()
                    .map(|backends| backends[worker % backends.len()].clone())
                    .map_err(Clone::clone);
                shared.end_restart(result.ok());
                // The restart is this thread's time, not the transfer's.
                if let Some(running) = lock(&shared.slots[worker]).as_mut() {
                    running.since = Instant::now();
                }
                let _ = reply.send(mine);
            }
            Ok(Msg::Event(event)) => on_event(report, event)?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        for slot in &shared.slots {
            if let Some(running) = lock(slot).as_ref()
                && running.since.elapsed() > config.deadline
            {
                report.hang(&running.plan, config.deadline);
                return Err(format!(
                    "transfer hung for over {:?}: {}",
                    config.deadline, running.plan
                ));
            }
        }
    }
}
