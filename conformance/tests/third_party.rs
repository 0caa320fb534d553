//! A worked example for backend implementers: a small third backend, written only against
//! `stream-core`, checked by the whole suite with one macro call.
//!
//! `Screenshots` serves one thing: the test driver's screenshot, as a local fdstream does. It
//! uses the shared `Lifecycle` for every state and guard rule, so it only implements reading.
//! Rules it cannot run (volumes, sparse, remote packets) are declared skips; a declared skip
//! that starts passing fails, so the list stays honest.

use std::sync::Mutex;

use stream_core::libvirt_errors::{self, Call};
use stream_core::{
    Backend, Binding, Capabilities, Direction, EventCallback, EventSet, Layout, Lifecycle, Recv,
    RecvFlags, Result, Sent, Stream, StreamFlags, StreamKind, StreamState, Transfer, VolumeId,
    domain,
};

/// The third-party backend.
#[derive(Debug, Default)]
struct Screenshots;

/// Its stream: the lifecycle, the image and a read position.
struct ScreenshotStream {
    lifecycle: Lifecycle,
    image: &'static [u8],
    position: usize,
    callback: Option<Mutex<EventCallback>>,
    /// What the bind returned: `image/png` for a screenshot.
    mime_type: Option<&'static str>,
}

impl Stream for ScreenshotStream {
    fn send(&mut self, data: &[u8]) -> Result<Sent> {
        self.lifecycle.check_send(data.len())?;
        // What libvirt's fdstream answers: the screenshot's file is open for reading.
        Err(libvirt_errors::cannot_write_bad_fd())
    }

    fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        self.lifecycle.check_recv(flags)?;
        // A local fdstream read: as much as the buffer takes.
        let take = buf.len().min(self.image.len() - self.position);
        buf[..take].copy_from_slice(&self.image[self.position..self.position + take]);
        self.position += take;
        Ok(if take == 0 && !buf.is_empty() {
            // The lifecycle's guards need to know (a NONBLOCK screenshot takes writes before it).
            self.lifecycle.reached_end();
            Recv::Eof
        } else {
            Recv::Data(take)
        })
    }

    fn recv_flags(&mut self, _buf: &mut [u8], flags: RecvFlags) -> Result<Recv> {
        // A local fdstream has no virStreamRecvFlags: the lifecycle says so, as libvirt does.
        self.lifecycle.check_recv_flags(flags)?;
        unreachable!("the lifecycle refuses recv_flags on a local stream")
    }

    fn send_hole(&mut self, length: i64, flags: u32) -> Result<()> {
        self.lifecycle.check_send_hole(length, flags).map(drop)
    }

    fn recv_hole(&mut self, flags: u32) -> Result<i64> {
        self.lifecycle.check_recv_hole(flags).map(|_| 0)
    }

    fn add_callback(&mut self, _events: EventSet, callback: EventCallback) -> Result<()> {
        self.lifecycle.check_callback(Call::AddCallback)?;
        if self.callback.is_some() {
            return Err(libvirt_errors::callback_exists(StreamKind::Local));
        }
        self.callback = Some(Mutex::new(callback));
        self.lifecycle.set_callback(true);
        Ok(())
    }

    fn update_callback(&mut self, _events: EventSet) -> Result<()> {
        self.lifecycle.check_callback(Call::UpdateCallback)?;
        self.callback
            .as_ref()
            .map(drop)
            .ok_or_else(|| libvirt_errors::no_callback(StreamKind::Local))
    }

    fn remove_callback(&mut self) -> Result<()> {
        self.lifecycle.check_callback(Call::RemoveCallback)?;
        self.callback
            .take()
            .map(drop)
            .ok_or_else(|| libvirt_errors::no_callback(StreamKind::Local))?;
        self.lifecycle.set_callback(false);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.lifecycle.check_finish()?;
        self.callback = None;
        self.lifecycle.finished(true);
        Ok(())
    }

    fn abort(&mut self) -> Result<()> {
        self.lifecycle.abort()?;
        self.callback = None;
        Ok(())
    }

    fn state(&self) -> StreamState {
        self.lifecycle.state()
    }

    fn flags(&self) -> StreamFlags {
        self.lifecycle.flags()
    }

    fn mime_type(&self) -> Option<&str> {
        self.mime_type
    }
}

impl Backend for Screenshots {
    fn capabilities(&self) -> Capabilities {
        Capabilities::local_screenshot()
    }

    fn new_stream(&self, flags: StreamFlags) -> Result<Box<dyn Stream>> {
        let lifecycle = Lifecycle::new(StreamKind::Local, flags);
        Ok(Box::new(ScreenshotStream {
            lifecycle,
            image: stream_sim::TEST_SCREENSHOT,
            position: 0,
            callback: None,
            mime_type: None,
        }))
    }

    fn open(&self, flags: StreamFlags, transfer: &Transfer) -> Result<Box<dyn Stream>> {
        let Transfer::Screenshot {
            domain: name,
            flags: bind_flags,
            ..
        } = transfer
        else {
            return Err(libvirt_errors::driver_lacks(
                "virStorageVolDownload",
                domain::STORAGE,
            ));
        };
        if name != "test" {
            return Err(libvirt_errors::no_domain());
        }
        if *bind_flags != 0 {
            return Err(libvirt_errors::screenshot_flags(*bind_flags));
        }
        let mut lifecycle = Lifecycle::new(StreamKind::Local, flags);
        lifecycle.bind(Binding {
            direction: Direction::Download,
            sparse: false,
        });
        Ok(Box::new(ScreenshotStream {
            lifecycle,
            image: stream_sim::TEST_SCREENSHOT,
            position: 0,
            callback: None,
            mime_type: Some(stream_sim::TEST_SCREENSHOT_MIME_TYPE),
        }))
    }

    fn create_volume(&self, volume: &VolumeId, _layout: &Layout) -> Result<()> {
        Err(libvirt_errors::no_pool(&volume.pool))
    }

    fn delete_volume(&self, volume: &VolumeId) -> Result<()> {
        Err(libvirt_errors::no_pool(&volume.pool))
    }

    fn volume_layout(&self, volume: &VolumeId) -> Result<Layout> {
        Err(libvirt_errors::no_pool(&volume.pool))
    }

    fn read_volume(&self, volume: &VolumeId, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        Err(libvirt_errors::no_pool(&volume.pool))
    }
}

// The whole suite, one #[test] per rule, for the third-party backend.
stream_conformance::conformance_suite!(screenshots, super::Screenshots; skips: [
    remote_recv_returns_one_packet_at_a_time, remote_sparse_download_packets, hole_sentinel_is_minus_three,
    upload_finish_after_data_succeeds, zero_length_hole_is_refused_and_loses_nothing, negative_hole_is_refused,
    hole_flags_are_refused, empty_send_is_refused_and_loses_nothing, recv_on_upload_is_refused,
    sparse_upload_keeps_old_bytes_under_a_hole, send_hole_needs_a_sparse_upload,
    stop_at_hole_then_recv_hole_gives_its_length, recv_hole_with_no_hole_pending_returns_zero,
    recv_hole_on_non_sparse_stream_fails, stop_at_hole_on_non_sparse_stream_is_plain_recv,
    plain_recv_reads_holes_as_zeros, holes_follow_blocks_and_merge, sparse_round_trip_keeps_bytes_and_holes,
    trailing_hole_sets_the_size, send_past_the_upload_range_is_refused_and_loses_nothing, send_all_then_recv_all_round_trip,
    sparse_all_helpers_round_trip,
    upload_and_download_at_once_keep_their_own_data,
]);

/// And the recorded local scenarios replay on it too.
#[test]
fn recorded_local_scenarios_replay_on_the_third_party_backend() {
    let scenarios = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios");
    let ran = stream_conformance::scenario::replay_all(&scenarios, StreamKind::Local, &Screenshots)
        .unwrap_or_else(|diff| panic!("{diff}"));
    assert!(ran >= 8);
}
