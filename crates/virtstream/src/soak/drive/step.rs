//! The moving parts of a transfer: where the plan stops it, what the layout holds at a
//! position, and a NONBLOCK stream's events.

use std::sync::mpsc::{self, Receiver};

use stream_core::{EventSet, Layout, Stream};

use super::{EVENT_WAIT, Failure, Moved};
use crate::soak::plan::Ending;

/// The once-only stop point of a plan.
#[derive(Debug)]
pub(super) struct Trigger {
    at: Option<u64>,
}

impl Trigger {
    pub(super) fn new(ending: Ending) -> Trigger {
        let at = match ending {
            Ending::Complete => None,
            Ending::Abort { at } | Ending::Restart { at, .. } => Some(at),
        };
        Trigger { at }
    }

    /// Whether the stop point is reached at `position`; true once.
    pub(super) fn fire(&mut self, position: u64) -> bool {
        let due = self.at.is_some_and(|at| position >= at);
        if due {
            self.at = None;
        }
        due
    }

    /// `length` cut so that a step starting at `position` ends at the stop point.
    pub(super) fn clip(&self, position: u64, length: u64) -> u64 {
        match self.at {
            Some(at) if at > position => length.min(at - position),
            _ => length,
        }
    }
}

/// Where a stream's bytes are at `position` of `layout`: `(is data, bytes until that changes)`;
/// zero length at the end.
pub(super) fn section_at(layout: &Layout, position: u64) -> (bool, u64) {
    let extents = layout.extents();
    let next = extents.partition_point(|extent| extent.end() <= position);
    match extents.get(next) {
        Some(extent) if extent.offset <= position => (true, extent.end() - position),
        Some(extent) => (false, extent.offset - position),
        None => (false, layout.size().saturating_sub(position)),
    }
}

/// A NONBLOCK stream's event callback, coalesced into a one-slot channel: remote streams are
/// level-triggered and would otherwise queue events without bound while we work.
pub(super) struct Events(Receiver<EventSet>);

impl Events {
    pub(super) fn register(stream: &mut dyn Stream, wanted: EventSet) -> Result<Events, Failure> {
        let (sender, receiver) = mpsc::sync_channel(1);
        stream
            .add_callback(
                wanted | EventSet::ERROR | EventSet::HANGUP,
                Box::new(move |events| {
                    let _ = sender.try_send(events);
                }),
            )
            .map_err(|error| Failure::new("add_callback", error))?;
        Ok(Events(receiver))
    }

    pub(super) fn wait(&self, moved: &mut Moved) {
        moved.would_blocks += 1;
        if self.0.recv_timeout(EVENT_WAIT).is_err() {
            moved.lost_events += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::plan::Ending;
    use stream_core::Layout;

    #[test]
    fn sections_follow_the_layout() {
        let layout = Layout::parse("H10 D5 Z3 H2").expect("layout");
        assert_eq!(section_at(&layout, 0), (false, 10));
        assert_eq!(section_at(&layout, 4), (false, 6));
        assert_eq!(section_at(&layout, 10), (true, 5));
        assert_eq!(section_at(&layout, 15), (true, 3));
        assert_eq!(section_at(&layout, 18), (false, 2));
        assert_eq!(section_at(&layout, 20), (false, 0));
    }

    #[test]
    fn the_trigger_fires_once_and_clips_steps_to_it() {
        let mut trigger = Trigger::new(Ending::Abort { at: 100 });
        assert_eq!(trigger.clip(40, 500), 60);
        assert!(!trigger.fire(99));
        assert!(trigger.fire(100));
        assert!(!trigger.fire(200));
        assert_eq!(trigger.clip(100, 500), 500);
    }
}
