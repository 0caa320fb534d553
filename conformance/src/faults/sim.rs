//! The simulator as a [`Killable`]: its connection dies as a killed libvirtd does.

use stream_core::Backend;
use stream_sim::{Profile, SimBackend};

use super::Killable;

/// A fresh remote-profile simulator whose connection can be killed.
#[derive(Debug)]
pub struct SimKillable {
    sim: SimBackend,
}

impl SimKillable {
    /// A new simulator (remote profile, pool `default`).
    pub fn new() -> SimKillable {
        SimKillable {
            sim: SimBackend::new(Profile::Remote),
        }
    }

    /// The simulator itself (to inject fault plans).
    pub fn sim(&self) -> &SimBackend {
        &self.sim
    }
}

impl Default for SimKillable {
    fn default() -> Self {
        SimKillable::new()
    }
}

impl Killable for SimKillable {
    fn backend(&self) -> &dyn Backend {
        &self.sim
    }

    fn kill(&self) -> Result<(), String> {
        self.sim.kill_connection();
        Ok(())
    }

    fn name(&self) -> &str {
        "sim-remote"
    }

    fn run_events(&self) {
        self.sim.run_once();
    }
}
