//! The faults group on the simulator: every fault rule passes on a killable simulator, and a
//! simulator that dies differently from libvirt (a NONBLOCK recv that would block forever,
//! modelled by a connection that never dies) is caught.

use stream_conformance::Outcome;
use stream_conformance::faults::{FAULT_RULES, Killable, SimKillable, run_fault_rule};
use stream_core::Backend;
use stream_sim::{Profile, SimBackend};

fn make_sim() -> Result<Box<dyn Killable>, String> {
    Ok(Box::new(SimKillable::new()))
}

#[test]
fn every_fault_rule_passes_on_the_simulator() {
    for rule in FAULT_RULES {
        assert_eq!(run_fault_rule(rule, &make_sim), Outcome::Pass, "{rule:?}");
    }
}

/// A backend whose "kill" does nothing: the daemon never dies.
struct Immortal(SimBackend);

impl Killable for Immortal {
    fn backend(&self) -> &dyn Backend {
        &self.0
    }
    fn kill(&self) -> Result<(), String> {
        Ok(())
    }
    fn name(&self) -> &str {
        "immortal"
    }
}

#[test]
fn a_daemon_that_does_not_die_fails_every_fault_rule() {
    let make = || -> Result<Box<dyn Killable>, String> {
        Ok(Box::new(Immortal(SimBackend::new(Profile::Remote))))
    };
    for rule in FAULT_RULES {
        let outcome = run_fault_rule(rule, &make);
        assert!(matches!(outcome, Outcome::Fail(_)), "{rule:?}: {outcome:?}");
    }
}
