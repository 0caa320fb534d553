//! The faults group against real libvirt: every fault rule on a private libvirtd killed with
//! SIGKILL (a fresh daemon per rule), and the death differential against the simulator.

use stream_conformance::Outcome;
use stream_conformance::faults::{FAULT_RULES, check_deaths, run_fault_rule};
use virtstream::killable::DaemonKillable;

#[test]
fn every_fault_rule_passes_on_a_killed_libvirtd() {
    let failures: Vec<String> = FAULT_RULES
        .iter()
        .filter_map(|rule| match run_fault_rule(rule, &DaemonKillable::make) {
            Outcome::Pass => None,
            other => Some(format!("{rule:?}: {other:?}")),
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_simulator_dies_as_a_killed_libvirtd_does() {
    check_deaths(&DaemonKillable::make, 12).unwrap_or_else(|why| panic!("{why}"));
}
