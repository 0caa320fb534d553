//! Differential property tests on real libvirt: random layouts and operation sequences (bad
//! ones included) on the daemon and on the simulator's remote profile return the same thing at
//! every step and leave the same volume; NONBLOCK downloads agree modulo timing while the
//! simulator returns -2 before every packet. A failure shrinks and prints itself as a scenario
//! file recorded from the daemon, ready to commit under fixtures/scenarios/.

use stream_conformance::differential::{check_nonblock, check_steps};
use stream_libvirt::LibvirtBackend;
use stream_sim::{Profile, SimBackend, SimConfig, WouldBlock};

use crate::support;

fn daemon() -> LibvirtBackend {
    LibvirtBackend::connect(&support::daemon_uri()).expect("connect to the daemon")
}

#[test]
fn simulator_and_daemon_agree_step_by_step() {
    let outcome = check_steps(&daemon(), || SimBackend::new(Profile::Remote), 256, 4096);
    outcome.unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn nonblock_downloads_agree_modulo_would_block() {
    let sim = || {
        SimBackend::with_config(SimConfig::new(Profile::Remote).would_block(WouldBlock::Times(1)))
    };
    check_nonblock(&daemon(), sim, 256, 4096).unwrap_or_else(|why| panic!("{why}"));
}
