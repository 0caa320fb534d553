//! Differential property test: random layouts and operation sequences (bad ones included) on
//! the real daemon and on the simulator's remote profile must return the same thing at every
//! step, and leave the same volume. A failure shrinks and prints itself as a scenario file,
//! recorded from the daemon, ready to commit under fixtures/scenarios/.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use stream_conformance::scenario::{self, Scenario};
use stream_libvirt::LibvirtBackend;
use stream_sim::{Profile, SimBackend};

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
