//! Differential checks between two backends of the same stream kind (typically real libvirt and
//! the simulator), as property tests: random scenarios compared step by step, and NONBLOCK
//! downloads compared modulo timing. Used by this project's tests and by `virtstream
//! conformance`; a failure shrinks and reports itself as a scenario file recorded from the
//! reference backend.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use stream_core::{Backend, Recv, RecvFlags, StreamFlags, Transfer, VolumeId};

use crate::Scope;
use crate::scenario::{self, Scenario};

/// The scenario with the reference's results recorded, and where the candidate differed.
fn report(scenario: &Scenario, real: &[String], simulated: &[String]) -> String {
    let mut recorded = scenario.clone();
    for (step, result) in recorded.steps.iter_mut().zip(real) {
        step.expected = Some(result.clone());
    }
    let first = first_difference(scenario, real, simulated).unwrap_or(0);
    format!(
        "the candidate differs from the reference at step {} ({}):\n  reference: {}\n  candidate: {}\n\
         scenario recorded from the reference:\n{recorded}",
        first + 1,
        recorded.steps[first].text,
        real[first],
        simulated[first]
    )
}

/// The first step where `real` and `simulated` disagree (a `drain` whose packets real libvirt
/// took together agrees), if any.
fn first_difference(scenario: &Scenario, real: &[String], simulated: &[String]) -> Option<usize> {
    if real.len() != simulated.len() {
        return Some(real.len().min(simulated.len()));
    }
    scenario
        .steps
        .iter()
        .zip(real.iter().zip(simulated))
        .position(|(step, (real, simulated))| !scenario::step_agrees(&step.op, simulated, real))
}

/// Whether `real` differs from `simulated` first at a `recv` that got more bytes (coalesced
/// packets).
fn only_packet_timing(scenario: &Scenario, real: &[String], simulated: &[String]) -> bool {
    first_difference(scenario, real, simulated).is_some_and(|at| {
        scenario::is_packet_coalescing(&scenario.steps[at].op, &simulated[at], &real[at])
    })
}

/// Play `cases` random remote scenarios (blocks of `block` bytes) on `reference` and on a fresh
/// `candidate()` each, comparing every step's result.
pub fn check_steps<C: Backend>(
    reference: &dyn Backend,
    candidate: impl Fn() -> C,
    cases: u32,
    block: u64,
) -> Result<(), String> {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&scenario::remote_scenarios(block), |scenario| {
        let other = scenario::run(&scenario, &candidate()).map_err(TestCaseError::fail)?;
        let mut real = scenario::run(&scenario, reference).map_err(TestCaseError::fail)?;
        // Real libvirt's packet timing (a `recv` that took several queued packets) is played
        // again; any other difference fails at once.
        for _ in 0..scenario::TIMING_RETRIES {
            if !only_packet_timing(&scenario, &real.results, &other.results) {
                break;
            }
            real = scenario::run(&scenario, reference).map_err(TestCaseError::fail)?;
        }
        prop_assert!(
            first_difference(&scenario, &real.results, &other.results).is_none(),
            "{}",
            report(&scenario, &real.results, &other.results)
        );
        Ok(())
    });
    flatten(outcome)
}

/// A NONBLOCK download reduced to what does not depend on timing: data runs (length and
/// checksum, consecutive receives merged), holes, and how it ended.
pub fn nonblock_trace(
    backend: &dyn Backend,
    volume: &VolumeId,
    sparse: bool,
    buffer: usize,
    stop_at_hole: bool,
) -> Vec<String> {
    let flags = if stop_at_hole {
        RecvFlags::STOP_AT_HOLE
    } else {
        RecvFlags::empty()
    };
    let transfer = Transfer::download(volume.clone(), sparse);
    let mut stream = match backend.open(StreamFlags::NONBLOCK, &transfer) {
        Ok(stream) => stream,
        Err(error) => return vec![scenario::render_error(&error)],
    };
    let (mut trace, mut run, mut hash) = (Vec::new(), 0usize, 0xcbf2_9ce4_8422_2325u64);
    let mut buf = vec![0u8; buffer];
    let deadline = Instant::now() + Duration::from_secs(20);
    let end_run = |trace: &mut Vec<String>, run: &mut usize, hash: &mut u64| {
        if *run > 0 {
            trace.push(format!("data {run} {hash:016x}"));
        }
        (*run, *hash) = (0, 0xcbf2_9ce4_8422_2325);
    };
    loop {
        assert!(
            Instant::now() < deadline,
            "NONBLOCK download made no progress for 20 s"
        );
        match stream.recv(&mut buf, flags) {
            Ok(Recv::Data(n)) => {
                run += n;
                hash = buf[..n].iter().fold(hash, |h, &b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
            }
            Ok(Recv::WouldBlock) => std::thread::sleep(Duration::from_micros(200)),
            Ok(Recv::Hole) => {
                end_run(&mut trace, &mut run, &mut hash);
                trace.push(match stream.recv_hole(0) {
                    Ok(length) => format!("hole {length}"),
                    Err(error) => scenario::render_error(&error),
                });
            }
            Ok(Recv::Eof) => {
                end_run(&mut trace, &mut run, &mut hash);
                trace.push("eof".into());
                break;
            }
            Err(error) => {
                end_run(&mut trace, &mut run, &mut hash);
                trace.push(scenario::render_error(&error));
                break;
            }
        }
    }
    trace.push(match stream.finish() {
        Ok(()) => "finish ok".into(),
        Err(error) => scenario::render_error(&error),
    });
    trace
}

/// NONBLOCK downloads of `cases` random layouts on `reference` and on `candidate()`, compared
/// with [`nonblock_trace`] (modulo timing).
pub fn check_nonblock<C: Backend>(
    reference: &dyn Backend,
    candidate: impl Fn() -> C,
    cases: u32,
    block: u64,
) -> Result<(), String> {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let inputs = (
        scenario::layouts(block),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(4096usize), Just(65536), Just(262120), Just(1 << 20)],
    );
    let outcome = runner.run(&inputs, |(layout, sparse, stop_at_hole, buffer)| {
        let notation = layout.to_string();
        let other = candidate();
        let (real_scope, other_scope) = (Scope::new(reference), Scope::new(&other));
        let real_volume = real_scope
            .fixture()
            .volume(&notation)
            .map_err(TestCaseError::fail)?;
        let other_volume = other_scope
            .fixture()
            .volume(&notation)
            .map_err(TestCaseError::fail)?;
        let real = nonblock_trace(reference, &real_volume, sparse, buffer, stop_at_hole);
        let candidate = nonblock_trace(&other, &other_volume, sparse, buffer, stop_at_hole);
        prop_assert_eq!(
            real,
            candidate,
            "volume {}, sparse {}, STOP_AT_HOLE {}, buffer {}",
            notation,
            sparse,
            stop_at_hole,
            buffer
        );
        Ok(())
    });
    flatten(outcome)
}

pub(crate) fn flatten<T: std::fmt::Debug>(outcome: Result<(), TestError<T>>) -> Result<(), String> {
    match outcome {
        Ok(()) => Ok(()),
        Err(TestError::Fail(why, input)) => Err(format!("{why}\nminimal failing input: {input:?}")),
        Err(TestError::Abort(why)) => Err(format!("aborted: {why}")),
    }
}
