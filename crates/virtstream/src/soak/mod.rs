//! `virtstream soak`: many random transfers through a libvirt daemon (sparse and not, blocking
//! and NONBLOCK, some aborted, some cut by a daemon restart), every completed one checked byte
//! for byte against its source, each under a watchdog, memory sampled; then a report. One at a
//! time on one thread, or (`--threads`, `--connections`) many at once sharing connections.

mod concurrent;
mod drive;
mod memory;
mod plan;
mod pool;
mod report;
mod verify;

use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use stream_core::VolumeId;
use stream_libvirt::LibvirtBackend;
use stream_libvirt::daemon::{self, LocalDaemon};

use crate::cli::SoakArgs;
use drive::{Failure, Job, Outcome, ReadBack};
use plan::{Ending, Plan, Stop};
use report::Report;

/// What the worker thread tells the thread that owns the daemon.
enum Msg {
    /// The transfer reached its restart point: restart the daemon, send back a connection.
    Restart(Stop),
    /// The transfer is over.
    Done(Outcome),
}

/// The daemon the soak talks to: one it started (and so may restart), or one it was given.
struct Target {
    daemon: Option<LocalDaemon>,
    uri: String,
    pool: String,
}

impl Target {
    fn open(args: &SoakArgs) -> Result<Target, String> {
        match &args.uri {
            Some(uri) => Ok(Target {
                daemon: None,
                uri: uri.clone(),
                pool: args.pool.clone(),
            }),
            None => {
                let daemon = LocalDaemon::start().map_err(|error| {
                    format!("cannot start a private libvirtd ({error}); or pass --uri of a running daemon")
                })?;
                Ok(Target {
                    uri: daemon.uri().to_owned(),
                    daemon: Some(daemon),
                    pool: daemon::POOL.to_owned(),
                })
            }
        }
    }

    fn read_back(&self) -> ReadBack {
        match &self.daemon {
            Some(daemon) => ReadBack::PoolDir(daemon.pool_dir().to_owned()),
            None => ReadBack::Stream,
        }
    }

    /// Restart the daemon the way the plan says, and connect to the new one.
    fn restart(&mut self, stop: Stop) -> Result<LibvirtBackend, String> {
        let daemon = self
            .daemon
            .as_mut()
            .ok_or("no daemon of this run's own to restart")?;
        match stop {
            Stop::Term => daemon.restart(),
            Stop::Kill => daemon.kill().and_then(|()| daemon.restart()),
        }
        .map_err(|error| format!("restarting libvirtd: {error}"))?;
        LibvirtBackend::connect(&self.uri)
            .map_err(|error| format!("connecting to the restarted libvirtd: {error}"))
    }
}

/// A seed from the clock when none is given; printed, so the run can be replayed.
fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    plan::Rng::new(nanos ^ u64::from(std::process::id())).next_u64()
}

pub fn run(args: &SoakArgs) -> ExitCode {
    let seed = args.seed.unwrap_or_else(fresh_seed);
    let started = Instant::now();
    let mut target = match Target::open(args) {
        Ok(target) => target,
        Err(why) => {
            eprintln!("virtstream soak: {why}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "soak: {} transfers up to {} bytes on {} threads sharing {} connections, seed {seed} (replay with --seed {seed}), daemon {} ({})",
        args.transfers,
        args.max_size,
        args.threads,
        args.connections,
        target.uri,
        if target.daemon.is_some() {
            "private, restartable"
        } else {
            "given by --uri: restart transfers are skipped"
        }
    );
    let mut report = Report::new(seed, args, &target.uri, target.daemon.is_some());
    let concurrent = args.threads > 1 || args.connections > 1;
    let soaked = if concurrent {
        concurrent::soak(args, seed, &mut target, &mut report)
    } else {
        soak(args, seed, &mut target, &mut report)
    };
    match soaked {
        Ok(()) => {}
        Err(why) => report.stopped_early = Some(why),
    }
    report.wall = started.elapsed();
    report.memory.end = memory::sample();
    let verdict = report.verdict();
    println!("{}", report.table());
    if let Err(error) = report.write(&args.report_dir) {
        eprintln!(
            "virtstream soak: cannot write the report to {}: {error}",
            args.report_dir.display()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "reports: {}/report.md and report.json",
        args.report_dir.display()
    );
    match verdict {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("virtstream soak: FAILED: {why}");
            ExitCode::FAILURE
        }
    }
}

/// The run itself; an `Err` ends it early (a hang, a daemon that would not come back).
fn soak(
    args: &SoakArgs,
    seed: u64,
    target: &mut Target,
    report: &mut Report,
) -> Result<(), String> {
    let mut backend = LibvirtBackend::connect(&target.uri)
        .map_err(|error| format!("cannot connect to {}: {error}", target.uri))?;
    let (jobs, to_main, resume) = start_worker()?;
    let deadline = Duration::from_secs(args.deadline);
    let warm_up = (args.transfers / 20).clamp(1, 50);
    let mut planted = false;
    for index in 0..args.transfers {
        let plan = Plan::draw(seed, index, args.max_size);
        if index == warm_up {
            report.memory.warm = memory::sample();
        }
        if matches!(plan.ending, Ending::Restart { .. }) && target.daemon.is_none() {
            report.skip(&plan);
            continue;
        }
        // The first transfer from `--inject-mismatch` on whose bytes get checked at all.
        let planting = args.inject_mismatch.is_some_and(|from| index >= from)
            && !planted
            && plan.ending == Ending::Complete
            && plan.layout.size() > 0;
        planted |= planting;
        let described = plan.to_string();
        let job = Job {
            volume: VolumeId::new(&target.pool, format!("soak-{seed:016x}-{index:05}.raw")),
            backend: backend.clone(),
            read_back: target.read_back(),
            plant: planting,
            plan: plan.clone(),
        };
        // Each transfer's own peak, so a kind of transfer whose memory follows its size shows.
        report.memory.per_transfer_peaks &= memory::reset_peak();
        jobs.send(job)
            .map_err(|_| "the transfer thread has gone".to_string())?;
        let mut until = Instant::now() + deadline;
        let outcome = loop {
            match to_main.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(Msg::Restart(stop)) => {
                    let asked = Instant::now();
                    let result = target.restart(stop);
                    report.restart_took(asked.elapsed());
                    if let Ok(new) = &result {
                        backend = new.clone();
                    }
                    resume
                        .send(result)
                        .map_err(|_| "the transfer thread has gone".to_string())?;
                    // The restart is this thread's time, not the transfer's.
                    until = Instant::now() + deadline;
                }
                Ok(Msg::Done(outcome)) => break outcome,
                Err(RecvTimeoutError::Timeout) => {
                    report.hang(&plan, deadline);
                    return Err(format!("transfer hung for over {deadline:?}: {described}"));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("the transfer thread died during {described}"));
                }
            }
        };
        let restart_failed = matches!(
            &outcome,
            Outcome::Failed(Failure {
                stage: "restart",
                ..
            })
        );
        report.record(&plan, &outcome, memory::sample().peak);
        if restart_failed {
            return Err(format!("the daemon restart failed during {described}"));
        }
        if (index + 1) % 50 == 0 || index + 1 == args.transfers {
            println!("{}", report.progress(index + 1));
        }
    }
    Ok(())
}

type Worker = (
    Sender<Job>,
    Receiver<Msg>,
    Sender<Result<LibvirtBackend, String>>,
);

/// One long-lived thread runs the transfers, so this thread can watch the clock; one thread
/// for the whole run also keeps the allocator from growing an arena per transfer.
fn start_worker() -> Result<Worker, String> {
    let (jobs, job_queue) = mpsc::channel::<Job>();
    let (to_main, from_worker) = mpsc::channel::<Msg>();
    let (resume, resumed) = mpsc::channel::<Result<LibvirtBackend, String>>();
    thread::Builder::new()
        .name("soak-transfer".into())
        .spawn(move || {
            for job in job_queue {
                let mut hook = |stop| {
                    to_main
                        .send(Msg::Restart(stop))
                        .map_err(|_| "the soak's main thread has gone".to_string())?;
                    resumed
                        .recv()
                        .map_err(|_| "the soak's main thread has gone".to_string())?
                };
                // A panic in a library is a finding to report, not the end of the run.
                let outcome = panic::catch_unwind(AssertUnwindSafe(|| job.run(&mut hook)))
                    .unwrap_or_else(|panic| {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "a panic".into());
                        Outcome::Failed(Failure {
                            stage: "panic",
                            error: message,
                        })
                    });
                if to_main.send(Msg::Done(outcome)).is_err() {
                    break;
                }
            }
        })
        .map_err(|error| format!("cannot start the transfer thread: {error}"))?;
    Ok((jobs, from_worker, resume))
}
