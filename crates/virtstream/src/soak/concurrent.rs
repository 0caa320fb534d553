//! `virtstream soak --threads N --connections M`: the soak's transfers on N threads sharing M
//! connections (the same plans, checks, aborts and restarts as one at a time), then the
//! throughput of one stream alone against N at once, measured in the same run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use stream_core::VolumeId;

use super::drive::Outcome;
use super::plan::{Ending, Plan};
use super::pool::{self, Config, Event, Next, Work};
use super::report::{Report, Throughput};
use super::{Target, memory};
use crate::cli::SoakArgs;

/// Transfers in each throughput pass, and passes of each kind (alternating, medians).
const THROUGHPUT_TRANSFERS: u32 = 32;
const THROUGHPUT_PASSES: usize = 3;
/// Mixed into the seed for the throughput plans, so they are not the soak's own.
const THROUGHPUT_SALT: u64 = 0x7468_726f_7567_6870;

/// The soak's transfers, concurrently; then the throughput comparison.
pub fn soak(
    args: &SoakArgs,
    seed: u64,
    target: &mut Target,
    report: &mut Report,
) -> Result<(), String> {
    let config = Config {
        threads: args.threads,
        connections: args.connections,
        deadline: Duration::from_secs(args.deadline),
    };
    // Peaks are the whole run's: with transfers overlapping, none has a peak of its own.
    report.memory.per_transfer_peaks = false;
    let source = soak_source(args, seed, target.daemon.is_some(), &target.pool);
    let warm_up = (args.transfers / 20).clamp(1, 50);
    let mut done = 0u32;
    let mut on_event = |report: &mut Report, event: Event| -> Result<(), String> {
        done += 1;
        match event {
            Event::Skipped(plan) => report.skip(&plan),
            Event::Done(plan, outcome) => {
                let restart_failed = matches!(&outcome, Outcome::Failed(f) if f.stage == "restart");
                // The run's peak is read at the end: overlapping transfers have none of their own.
                report.record(&plan, &outcome, None);
                if restart_failed {
                    return Err(format!("the daemon restart failed during {plan}"));
                }
            }
        }
        if done == warm_up {
            report.memory.warm = memory::sample();
        }
        if done % 50 == 0 || done == args.transfers {
            println!("{}", report.progress(done));
        }
        Ok(())
    };
    pool::run(&config, target, source, report, &mut on_event)?;
    report.throughput = Some(throughput(&config, args, seed, target, report)?);
    Ok(())
}

/// The soak's plans in index order, shared by the threads.
fn soak_source(args: &SoakArgs, seed: u64, restartable: bool, pool: &str) -> pool::Source {
    let next = AtomicU32::new(0);
    let planted = AtomicBool::new(false);
    let (transfers, max_size, inject) = (args.transfers, args.max_size, args.inject_mismatch);
    let pool = pool.to_owned();
    Box::new(move || {
        let index = next.fetch_add(1, Ordering::SeqCst);
        if index >= transfers {
            return None;
        }
        let plan = Plan::draw(seed, index, max_size);
        if matches!(plan.ending, Ending::Restart { .. }) && !restartable {
            return Some(Next::Skip(plan));
        }
        // The first transfer from `--inject-mismatch` on whose bytes get checked at all.
        let candidate = inject.is_some_and(|from| index >= from)
            && plan.ending == Ending::Complete
            && plan.layout.size() > 0;
        let plant = candidate && !planted.swap(true, Ordering::SeqCst);
        Some(Next::Run(Work {
            volume: VolumeId::new(&pool, format!("soak-{seed:016x}-{index:05}.raw")),
            plan,
            plant,
        }))
    })
}

/// The same transfers one at a time on one connection, then on the soak's threads and
/// connections, alternating, [`THROUGHPUT_PASSES`] times each.
fn throughput(
    config: &Config,
    args: &SoakArgs,
    seed: u64,
    target: &mut Target,
    report: &mut Report,
) -> Result<Throughput, String> {
    let plans: Vec<Plan> = (0..)
        .map(|index| Plan::draw(seed ^ THROUGHPUT_SALT, index, args.max_size))
        .filter(|plan| plan.ending == Ending::Complete)
        .take(THROUGHPUT_TRANSFERS as usize)
        .collect();
    let bytes: u64 = plans.iter().map(|plan| plan.layout.size()).sum();
    let alone = Config {
        threads: 1,
        connections: 1,
        deadline: config.deadline,
    };
    let mut measured = Throughput {
        transfers: plans.len() as u32,
        bytes,
        threads: config.threads,
        connections: config.connections,
        alone: Vec::new(),
        together: Vec::new(),
    };
    for pass in 0..THROUGHPUT_PASSES * 2 {
        let together = pass % 2 == 1;
        let work = plans
            .iter()
            .map(|plan| Work {
                volume: VolumeId::new(
                    &target.pool,
                    format!("soak-{seed:016x}-tp{pass}-{:03}.raw", plan.index),
                ),
                plan: plan.clone(),
                plant: false,
            })
            .collect();
        let failures = Mutex::new(Vec::new());
        let mut on_event = |_: &mut Report, event: Event| -> Result<(), String> {
            if let Event::Done(plan, outcome) = event
                && !matches!(outcome, Outcome::Verified(_))
            {
                failures
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(format!("{plan}: {outcome:?}"));
            }
            Ok(())
        };
        let wall = pool::run(
            if together { config } else { &alone },
            target,
            pool::from_list(work),
            report,
            &mut on_event,
        )?;
        let failures = failures
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(first) = failures.first() {
            return Err(format!(
                "throughput pass {pass}: {} transfers not verified, first {first}",
                failures.len()
            ));
        }
        if together {
            measured.together.push(wall);
        } else {
            measured.alone.push(wall);
        }
    }
    Ok(measured)
}
