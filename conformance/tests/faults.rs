//! The faults group on the simulator: every fault rule passes on a killable simulator, and a
//! simulator that dies differently from libvirt (a NONBLOCK recv that would block forever,
//! modelled by a connection that never dies) is caught, and so is a client that gives each
//! stream a connection of its own.

use stream_conformance::Outcome;
use stream_conformance::faults::{FAULT_RULES, Killable, SimKillable, run_fault_rule};
use stream_core::{Backend, Layout, Result, Stream, StreamFlags, Transfer, VolumeId};
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

/// A client that keeps one connection per stream: each stream is served by a simulator of its
/// own (holding a copy of the volume), and the kill kills them all.
struct ConnectionPerStream {
    main: SimBackend,
    others: std::sync::Mutex<Vec<SimBackend>>,
}

impl Backend for ConnectionPerStream {
    fn capabilities(&self) -> stream_core::Capabilities {
        self.main.capabilities()
    }
    fn new_stream(&self, flags: StreamFlags) -> Result<Box<dyn Stream>> {
        self.main.new_stream(flags)
    }
    fn open(&self, flags: StreamFlags, transfer: &Transfer) -> Result<Box<dyn Stream>> {
        let own = SimBackend::new(Profile::Remote);
        if let Transfer::Download { volume, .. } | Transfer::Upload { volume, .. } = transfer {
            own.create_volume(volume, &self.main.volume_layout(volume)?)?;
        }
        let stream = own.open(flags, transfer)?;
        self.others.lock().unwrap().push(own);
        Ok(stream)
    }
    fn create_volume(&self, volume: &VolumeId, layout: &Layout) -> Result<()> {
        self.main.create_volume(volume, layout)
    }
    fn delete_volume(&self, volume: &VolumeId) -> Result<()> {
        self.main.delete_volume(volume)
    }
    fn volume_layout(&self, volume: &VolumeId) -> Result<Layout> {
        self.main.volume_layout(volume)
    }
    fn read_volume(&self, volume: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.main.read_volume(volume, offset, buf)
    }
}

impl Killable for ConnectionPerStream {
    fn backend(&self) -> &dyn Backend {
        self
    }
    fn kill(&self) -> std::result::Result<(), String> {
        self.main.kill_connection();
        for other in self.others.lock().unwrap().iter() {
            other.kill_connection();
        }
        Ok(())
    }
    fn name(&self) -> &str {
        "connection-per-stream"
    }
}

/// Two streams that each notice the death on a socket of their own both get end of file; on
/// one shared connection only the first call does (Q27).
#[test]
fn streams_with_a_connection_each_fail_the_shared_connection_rules() {
    let make = || -> std::result::Result<Box<dyn Killable>, String> {
        Ok(Box::new(ConnectionPerStream {
            main: SimBackend::new(Profile::Remote),
            others: Default::default(),
        }))
    };
    for id in [
        "two_downloads_die_with_their_connection",
        "two_downloads_die_with_their_connection_second_called_first",
    ] {
        let rule = FAULT_RULES.iter().find(|rule| rule.id == id).unwrap();
        assert_eq!(
            run_fault_rule(rule, &make_sim),
            Outcome::Pass,
            "{id} on the simulator"
        );
        match run_fault_rule(rule, &make) {
            Outcome::Fail(why) => println!("{id}: {why}"),
            other => panic!("{id} passed with a connection per stream: {other:?}"),
        }
    }
}
