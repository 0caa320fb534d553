//! The death differential: random transfers whose real daemon is killed at a random byte,
//! replayed on the simulator with a fault plan that kills its connection at the same byte;
//! everything after the kill must match, modulo what timing allows (measured, Q11).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use stream_core::{ErrorKind, Layout};
use stream_sim::FaultPlan;

/// Most data a killed daemon's socket can still hold for the client: a 262120-byte packet never
/// fits whole into the ~219 KB buffer measured, so this is the rest of one packet plus what
/// the socket held (Q11: at most 262144 + 24 seen).
const SOCKET_BUFFER: u64 = 2 * 262_144;

use super::trace::{DeathTrace, Direction, Plan, trace};
use super::{MakeKillable, SimKillable};
use crate::scenario::render_error;

/// Random doomed transfers: up to 8 MiB of data and holes, either way, sparse or not.
fn plans() -> impl Strategy<Value = Plan> {
    let extent = (any::<bool>(), 1u64..2048);
    (
        proptest::collection::vec(extent, 1..5),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(4096usize), Just(65_536), Just(262_144), Just(1 << 20)],
        0.0f64..0.9,
    )
        .prop_map(|(extents, upload, sparse, chunk, kill_at)| {
            let notation: Vec<String> = extents
                .iter()
                .map(|(hole, kib)| format!("{}{kib}K", if *hole { "H" } else { "D" }))
                .collect();
            // Always some data first, so the kill comes part-way through a transfer.
            let layout = Layout::parse(&format!("D64K {}", notation.join(" ")))
                .unwrap_or_else(|_| Layout::data(1 << 20));
            let kill_after = (layout.size() as f64 * kill_at) as u64;
            Plan {
                layout,
                direction: if upload {
                    Direction::Upload
                } else {
                    Direction::Download
                },
                sparse,
                chunk,
                kill_after,
            }
        })
}

/// What the simulator must show for a transfer whose real twin gave `real`.
fn compare(plan: &Plan, real: &DeathTrace, sim: &DeathTrace) -> Result<(), String> {
    let differs = |what: &str, real: &dyn std::fmt::Debug, sim: &dyn std::fmt::Debug| {
        Err(format!(
            "{plan:?}\n{what} differs:\n  real: {real:?}\n  sim:  {sim:?}"
        ))
    };
    if real.mismatch.is_some() || sim.mismatch.is_some() {
        return differs("received bytes", &real.mismatch, &sim.mismatch);
    }
    if real.at_kill != sim.at_kill {
        return differs("bytes moved at the kill", &real.at_kill, &sim.at_kill);
    }
    // Real libvirt still hands out what had reached the client (a packet's rest, or the last
    // packets already in the socket); the simulator's connection dies exactly at the byte.
    if real.data_after_kill > SOCKET_BUFFER || sim.data_after_kill != 0 {
        return differs(
            "data after the kill",
            &real.data_after_kill,
            &sim.data_after_kill,
        );
    }
    let (real_first, sim_first) = (
        render_error(&real.first_error),
        render_error(&sim.first_error),
    );
    // Timing: the real client got further (sends queued, or the whole rest of a download
    // already received) and failed at a later call; or an upload's call raced the event loop
    // to the dead socket (Broken pipe, once even Connection reset: Q11). Either way the failure
    // is the dead socket's.
    let socket_error = real.first_error.kind() == ErrorKind::Disconnected;
    let further = real.first_call != sim.first_call;
    let racing = plan.direction == Direction::Upload;
    if real_first != sim_first && !((further || racing) && socket_error) {
        return differs("first failure", &real_first, &sim_first);
    }
    if !further && real.later != sim.later {
        return differs("calls after the first failure", &real.later, &sim.later);
    }
    if real.connection != sim.connection {
        return differs("connection calls", &real.connection, &sim.connection);
    }
    Ok(())
}

/// Kill `cases` fresh real daemons (from `make_real`) part-way through random transfers and
/// compare each with the simulator dying at the same byte.
pub fn check_deaths(make_real: MakeKillable<'_>, cases: u32) -> Result<(), String> {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        // Each case starts a daemon: shrinking would start hundreds.
        max_shrink_iters: 8,
        ..Config::default()
    });
    let outcome = runner.run(&plans(), |plan| {
        let real_target = make_real().map_err(TestCaseError::fail)?;
        let real = trace(real_target.backend(), &plan, &mut || real_target.kill())
            .map_err(|why| TestCaseError::fail(format!("real: {why}\n{plan:?}")))?;
        let sim_target = SimKillable::new();
        sim_target
            .sim()
            .inject(FaultPlan::new().die_at(real.at_kill));
        let sim_plan = Plan {
            kill_after: real.at_kill,
            ..plan.clone()
        };
        let sim = trace(sim_target.sim(), &sim_plan, &mut || Ok(()))
            .map_err(|why| TestCaseError::fail(format!("sim: {why}\n{plan:?}")))?;
        compare(&plan, &real, &sim).map_err(TestCaseError::fail)
    });
    crate::differential::flatten(outcome)
}
