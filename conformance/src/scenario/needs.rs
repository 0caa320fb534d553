//! Which backends can play a scenario: those serving its stream kind and what its setup opens.

use stream_core::Capabilities;

use super::format::{Op, Open, Scenario};

impl Scenario {
    /// Why a backend with `capabilities` cannot play this scenario (it was recorded on another
    /// kind of stream, or opens what the backend does not serve: a daemon with only the test
    /// driver has no volumes, a storage daemon no screenshots); `None` when it can.
    pub fn unplayable_on(&self, capabilities: &Capabilities) -> Option<String> {
        let setup = &self.setup;
        if setup.kind != capabilities.kind {
            return Some(format!(
                "recorded on {:?} streams, backend serves {:?}",
                setup.kind, capabilities.kind
            ));
        }
        let volumes = capabilities.upload && capabilities.download;
        let sparse = matches!(
            setup.open,
            Open::Upload { sparse: true, .. } | Open::Download { sparse: true, .. }
        );
        let missing = [
            (setup.volume.is_some() && !volumes, "volumes"),
            (
                matches!(setup.open, Open::Upload { .. }) && !capabilities.upload,
                "volume uploads",
            ),
            (
                matches!(setup.open, Open::Download { .. }) && !capabilities.download,
                "volume downloads",
            ),
            (sparse && !capabilities.sparse, "sparse streams"),
            (
                setup.open == Open::Screenshot && !capabilities.screenshot,
                "domain screenshots",
            ),
            (setup.nonblock && !capabilities.nonblock, "NONBLOCK streams"),
            (
                !capabilities.events
                    && self.steps.iter().any(|step| {
                        matches!(
                            step.op,
                            Op::AddCallback(_) | Op::UpdateCallback(_) | Op::RemoveCallback
                        )
                    }),
                "event callbacks",
            ),
        ];
        missing
            .iter()
            .find(|(lacks, _)| *lacks)
            .map(|(_, what)| format!("backend has no {what}"))
    }
}

#[cfg(test)]
mod tests {
    use stream_core::Capabilities;

    use crate::scenario::parse;

    #[test]
    fn a_scenario_plays_where_its_kind_and_its_open_are_served() {
        let screenshot = parse("kind remote\nopen screenshot\nrecv 1\n").unwrap();
        let download = parse("kind remote\nvolume D10\nopen download\nrecv 1\n").unwrap();
        let local = parse("kind local\nopen screenshot\nrecv 1\n").unwrap();
        let storage = Capabilities::remote_storage();
        let test_daemon = Capabilities::remote_screenshot();
        assert_eq!(
            screenshot.unplayable_on(&storage).as_deref(),
            Some("backend has no domain screenshots")
        );
        assert_eq!(screenshot.unplayable_on(&test_daemon), None);
        assert_eq!(
            download.unplayable_on(&test_daemon).as_deref(),
            Some("backend has no volumes")
        );
        assert_eq!(download.unplayable_on(&storage), None);
        assert_eq!(
            local.unplayable_on(&test_daemon).as_deref(),
            Some("recorded on Local streams, backend serves Remote")
        );
        assert_eq!(local.unplayable_on(&Capabilities::local_screenshot()), None);
    }
}
