//! The simulator's event loop: deterministic, stepped by the test with [`EventLoop::run_once`].
//!
//! One step is one iteration of libvirt's default event loop: a remote download with nothing
//! queued reads one packet from the daemon, a NONBLOCK local stream's I/O thread queues one
//! message, then every stream whose registered events are ready gets its callback, once.

use std::sync::{Mutex, Weak};

use crate::stream::{StreamInner, lock};

/// Streams with (possibly) a callback, polled in registration order.
#[derive(Debug, Default)]
pub struct EventLoop {
    streams: Mutex<Vec<Weak<Mutex<StreamInner>>>>,
}

impl EventLoop {
    /// Watch a stream (held weakly: a dropped stream leaves the loop).
    pub fn watch(&self, stream: Weak<Mutex<StreamInner>>) {
        self.list().push(stream);
    }

    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Mutex<StreamInner>>>> {
        self.streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One iteration: returns how many callbacks ran.
    pub fn run_once(&self) -> usize {
        let streams: Vec<_> = {
            let mut list = self.list();
            list.retain(|stream| stream.strong_count() > 0);
            list.iter().filter_map(Weak::upgrade).collect()
        };
        let mut dispatched = 0;
        for stream in streams {
            let (events, callback) = {
                let mut inner = lock(&stream);
                let Some(events) = inner.ready_events().filter(|events| !events.is_empty()) else {
                    continue;
                };
                let Some(callback) = inner.registration.as_mut().and_then(|r| r.callback.take())
                else {
                    continue;
                };
                (events, callback)
            };
            // Run the callback unlocked: it may use the stream through the application's handle.
            let mut callback = callback;
            callback(events);
            dispatched += 1;
            let mut inner = lock(&stream);
            if let Some(registration) = inner.registration.as_mut()
                && registration.callback.is_none()
            {
                registration.callback = Some(callback);
            }
        }
        dispatched
    }
}
