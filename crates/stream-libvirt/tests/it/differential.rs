//! Differential property test: random layouts and operation sequences (bad ones included) on
//! the real daemon and on the simulator's remote profile must return the same thing at every
//! step, and leave the same volume. A failure shrinks and prints itself as a scenario file,
//! recorded from the daemon, ready to commit under fixtures/scenarios/.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::Config;
use stream_conformance::Fixture;
use stream_conformance::scenario::{self, Scenario};
use stream_core::{Backend, Recv, RecvFlags, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;
use stream_sim::{Profile, SimBackend, SimConfig, WouldBlock};

use crate::support;

fn daemon() -> &'static LibvirtBackend {
    static DAEMON: OnceLock<LibvirtBackend> = OnceLock::new();
    DAEMON.get_or_init(|| {
        LibvirtBackend::connect(&support::daemon_uri()).expect("connect to the daemon")
    })
}

/// The scenario with the daemon's results recorded, and where the simulator differed.
fn report(scenario: &Scenario, real: &[String], simulated: &[String]) -> String {
    let mut recorded = scenario.clone();
    for (step, result) in recorded.steps.iter_mut().zip(real) {
        step.expected = Some(result.clone());
    }
    let first = real
        .iter()
        .zip(simulated)
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    format!(
        "simulator differs from the daemon at step {} ({}):\n  daemon:    {}\n  simulator: {}\n\
         scenario recorded from the daemon:\n{recorded}",
        first + 1,
        recorded.steps[first].text,
        real[first],
        simulated[first]
    )
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    #[test]
    fn simulator_and_daemon_agree_step_by_step(scenario in scenario::remote_scenarios(4096)) {
        let real = scenario::run(&scenario, daemon()).map_err(TestCaseError::fail)?;
        let simulated = scenario::run(&scenario, &SimBackend::new(Profile::Remote)).map_err(TestCaseError::fail)?;
        prop_assert!(real.results == simulated.results, "{}", report(&scenario, &real.results, &simulated.results));
    }
}

/// A NONBLOCK download reduced to what does not depend on timing: data runs (length and
/// checksum, consecutive receives merged), holes, and how it ended.
fn nonblock_trace(
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

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    /// NONBLOCK downloads compared modulo timing; the simulator returns -2 before every packet.
    #[test]
    fn nonblock_downloads_agree_modulo_would_block(
        layout in scenario::layouts(4096),
        sparse in any::<bool>(),
        stop_at_hole in any::<bool>(),
        buffer in prop_oneof![Just(4096usize), Just(65536), Just(262120), Just(1 << 20)],
    ) {
        let notation = layout.to_string();
        let real_volume = Fixture::new(daemon()).volume(&notation).map_err(TestCaseError::fail)?;
        let sim = SimBackend::with_config(SimConfig::new(Profile::Remote).would_block(WouldBlock::Times(1)));
        let sim_volume = Fixture::new(&sim).volume(&notation).map_err(TestCaseError::fail)?;
        let real = nonblock_trace(daemon(), &real_volume, sparse, buffer, stop_at_hole);
        let simulated = nonblock_trace(&sim, &sim_volume, sparse, buffer, stop_at_hole);
        prop_assert_eq!(real, simulated, "volume {}, sparse {}, STOP_AT_HOLE {}, buffer {}", notation, sparse, stop_at_hole, buffer);
    }
}
