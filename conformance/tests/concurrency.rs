//! The concurrency rules catch a backend whose streams interfere, in two ways: every stream
//! opened while another is still active is served by that other stream (a client that kept one
//! stream per connection), or ending one stream aborts every other (a client that tore down the
//! connection's stream state). Each rule passes on the simulator and fails on the broken one
//! it is about, on both profiles: volume downloads on the remote one, the test domain's
//! screenshots on the local one (which has no volumes, as the test driver has none).

use std::sync::{Arc, Mutex, Weak};

use stream_conformance::{Outcome, all_rules, run_rule};
use stream_core::{
    Backend, Capabilities, EventCallback, EventSet, Layout, Recv, RecvFlags, Result, Sent, Stream,
    StreamFlags, StreamState, Transfer, VolumeId,
};
use stream_sim::{Profile, SimBackend};

type Shared = Arc<Mutex<Box<dyn Stream>>>;

/// How the broken simulator breaks.
#[derive(Clone, Copy, PartialEq)]
enum Broken {
    /// Active streams are all one stream.
    OneStream,
    /// `finish` or `abort` of one stream aborts every other.
    EndingEndsAll,
}

type Peers = Arc<Mutex<Vec<Weak<Mutex<Box<dyn Stream>>>>>>;

struct OneStream {
    sim: SimBackend,
    broken: Broken,
    active: Mutex<Weak<Mutex<Box<dyn Stream>>>>,
    peers: Peers,
}

struct Handle(Shared, Option<Peers>);

impl Handle {
    fn end_the_others(&self) {
        let Some(peers) = &self.1 else { return };
        let peers: Vec<Shared> = peers
            .lock()
            .unwrap()
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for peer in peers.iter().filter(|peer| !Arc::ptr_eq(peer, &self.0)) {
            let mut stream = lock(peer);
            if matches!(stream.state(), StreamState::Active(_)) {
                let _ = stream.abort();
            }
        }
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Box<dyn Stream>> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Stream for Handle {
    fn send(&mut self, data: &[u8]) -> Result<Sent> {
        lock(&self.0).send(data)
    }
    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        lock(&self.0).recv(buf, flags)
    }
    fn send_hole(&mut self, length: i64, flags: u32) -> Result<()> {
        lock(&self.0).send_hole(length, flags)
    }
    fn recv_hole(&mut self, flags: u32) -> Result<i64> {
        lock(&self.0).recv_hole(flags)
    }
    fn add_callback(&mut self, events: EventSet, callback: EventCallback) -> Result<()> {
        lock(&self.0).add_callback(events, callback)
    }
    fn update_callback(&mut self, events: EventSet) -> Result<()> {
        lock(&self.0).update_callback(events)
    }
    fn remove_callback(&mut self) -> Result<()> {
        lock(&self.0).remove_callback()
    }
    fn finish(&mut self) -> Result<()> {
        let finished = lock(&self.0).finish();
        self.end_the_others();
        finished
    }
    fn abort(&mut self) -> Result<()> {
        let aborted = lock(&self.0).abort();
        self.end_the_others();
        aborted
    }
    fn state(&self) -> StreamState {
        lock(&self.0).state()
    }
    fn flags(&self) -> StreamFlags {
        lock(&self.0).flags()
    }
}

impl Backend for OneStream {
    fn capabilities(&self) -> Capabilities {
        self.sim.capabilities()
    }
    fn new_stream(&self, flags: StreamFlags) -> Result<Box<dyn Stream>> {
        self.sim.new_stream(flags)
    }
    fn open(&self, flags: StreamFlags, transfer: &Transfer) -> Result<Box<dyn Stream>> {
        if self.broken == Broken::EndingEndsAll {
            let shared: Shared = Arc::new(Mutex::new(self.sim.open(flags, transfer)?));
            self.peers.lock().unwrap().push(Arc::downgrade(&shared));
            return Ok(Box::new(Handle(shared, Some(self.peers.clone()))));
        }
        let mut active = self.active.lock().unwrap();
        if let Some(shared) = active.upgrade() {
            if matches!(lock(&shared).state(), StreamState::Active(_)) {
                return Ok(Box::new(Handle(shared, None)));
            }
        }
        let shared: Shared = Arc::new(Mutex::new(self.sim.open(flags, transfer)?));
        *active = Arc::downgrade(&shared);
        Ok(Box::new(Handle(shared, None)))
    }
    fn create_volume(&self, volume: &VolumeId, layout: &Layout) -> Result<()> {
        self.sim.create_volume(volume, layout)
    }
    fn delete_volume(&self, volume: &VolumeId) -> Result<()> {
        self.sim.delete_volume(volume)
    }
    fn volume_layout(&self, volume: &VolumeId) -> Result<Layout> {
        self.sim.volume_layout(volume)
    }
    fn read_volume(&self, volume: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.sim.read_volume(volume, offset, buf)
    }
}

const CONCURRENCY_RULES: [(&str, Broken); 5] = [
    (
        "interleaved_downloads_get_their_own_bytes_and_holes",
        Broken::OneStream,
    ),
    (
        "downloads_on_two_threads_get_their_own_bytes_and_holes",
        Broken::OneStream,
    ),
    (
        "upload_and_download_at_once_keep_their_own_data",
        Broken::OneStream,
    ),
    (
        "finishing_a_stream_leaves_another_running",
        Broken::EndingEndsAll,
    ),
    (
        "aborting_a_stream_leaves_another_running",
        Broken::EndingEndsAll,
    ),
];

#[test]
fn every_concurrency_rule_fails_when_streams_interfere() {
    for profile in [Profile::Remote, Profile::Local] {
        for (id, broken) in CONCURRENCY_RULES {
            let rule = all_rules()
                .into_iter()
                .find(|rule| rule.id == id)
                .unwrap_or_else(|| panic!("no rule {id}"));
            let sim = SimBackend::new(profile);
            let outcome = run_rule(&rule, &sim);
            if profile == Profile::Local && id == "upload_and_download_at_once_keep_their_own_data"
            {
                // No uploads without volumes: the one rule that cannot run there.
                assert!(
                    matches!(outcome, Outcome::Skipped(_)),
                    "{id} on the local profile: {outcome:?}"
                );
                continue;
            }
            assert_eq!(outcome, Outcome::Pass, "{id} on the {profile:?} simulator");
            let broken = OneStream {
                sim: SimBackend::new(profile),
                broken,
                active: Mutex::new(Weak::new()),
                peers: Peers::default(),
            };
            match run_rule(&rule, &broken) {
                Outcome::Fail(why) => println!("{id} ({profile:?}): {why}"),
                other => panic!("{id} ({profile:?}) did not catch interfering streams: {other:?}"),
            }
        }
    }
}
