//! The fault rules: a daemon killed under a download, an upload, a sparse transfer and a
//! NONBLOCK stream, and what the connection does afterwards. Expected values were measured on
//! libvirt 9.0 (fixtures/libvirt-9.0/FINDINGS.md, Q11).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stream_core::libvirt_errors::daemon_gone;
use stream_core::{
    ErrorKind, EventSet, Layout, Recv, RecvFlags, StreamFlags, StreamState, Transfer,
};
use stream_sim::MAX_PACKET;

use super::shared;
use super::trace::{Direction, Plan, trace};
use super::{FaultRule, Killable};
use crate::scenario::render_error;
use crate::{Check, Fixture, ensure, ensure_eq};

/// Every fault rule.
pub const FAULT_RULES: &[FaultRule] = &[
    FaultRule {
        id: "download_dies_then_every_call_fails",
        check: download_dies_then_every_call_fails,
    },
    FaultRule {
        id: "sparse_download_dies_keeping_its_pending_hole",
        check: sparse_download_dies_keeping_its_pending_hole,
    },
    FaultRule {
        id: "upload_dies_then_every_call_fails",
        check: upload_dies_then_every_call_fails,
    },
    FaultRule {
        id: "nonblock_download_dies_with_an_error_not_would_block_forever",
        check: nonblock_download_dies_with_an_error_not_would_block_forever,
    },
    FaultRule {
        id: "dead_connection_refuses_binds_and_volume_calls",
        check: dead_connection_refuses_binds_and_volume_calls,
    },
    FaultRule {
        id: "two_downloads_die_with_their_connection",
        check: shared::two_downloads_die_with_their_connection,
    },
    FaultRule {
        id: "two_downloads_die_with_their_connection_second_called_first",
        check: shared::two_downloads_die_with_their_connection_second_called_first,
    },
    FaultRule {
        id: "a_download_and_an_upload_die_with_their_connection",
        check: shared::a_download_and_an_upload_die_with_their_connection,
    },
];

pub(super) fn closed() -> String {
    render_error(&daemon_gone::socket_closed())
}

/// What a stream's calls return after its first failure (measured): the data call and
/// `finish` find the client closed; then the contract's closed stream.
fn expected_later(data_call: &'static str) -> Vec<(&'static str, String)> {
    vec![
        (data_call, closed()),
        ("finish", closed()),
        (
            "abort",
            render_error(&stream_core::libvirt_errors::stream_closed()),
        ),
    ]
}

/// What the connection's calls return after the death (measured): volume and bind calls find
/// the client closed; a new stream is made in the client.
pub(super) fn expected_connection() -> Vec<(&'static str, String)> {
    vec![
        ("volume_layout", closed()),
        ("open", closed()),
        ("new_stream", "ok".to_string()),
    ]
}

fn download_dies_then_every_call_fails(target: &dyn Killable) -> Check {
    let plan = Plan {
        layout: Layout::data(4 << 20),
        direction: Direction::Download,
        sparse: false,
        chunk: 262_144,
        kill_after: 524_288,
    };
    let backend = target.backend();
    let trace = trace(backend, &plan, &mut || target.kill())?;
    ensure_eq(
        trace.mismatch,
        None,
        "received bytes differing from the volume",
    )?;
    // Only what the client had already taken off the socket may still come (≤ one packet).
    ensure(trace.data_after_kill <= MAX_PACKET, || {
        format!("{} bytes came after the kill", trace.data_after_kill)
    })?;
    // The backend parks the event loop for a blocking download: the recv itself reads EOF.
    ensure_eq(
        render_error(&trace.first_error),
        render_error(&daemon_gone::end_of_file()),
        "first failure",
    )?;
    ensure_eq(trace.later, expected_later("recv"), "calls after it")?;
    ensure_eq(trace.connection, expected_connection(), "connection calls")
}

fn sparse_download_dies_keeping_its_pending_hole(target: &dyn Killable) -> Check {
    let backend = target.backend();
    let fixture = Fixture::new(backend);
    let layout = Layout::parse("D4K H1M D8M").map_err(|error| error.to_string())?;
    let volume = fixture.volume(&layout.to_string())?;
    let mut stream = fixture.download(&volume, true)?;
    let mut buf = vec![0; 65_536];
    let recv = |stream: &mut dyn stream_core::Stream, buf: &mut [u8]| {
        stream
            .recv(buf, RecvFlags::STOP_AT_HOLE)
            .map_err(|error| render_error(&error))
    };
    ensure_eq(
        recv(stream.as_mut(), &mut buf),
        Ok(Recv::Data(4096)),
        "first recv",
    )?;
    ensure_eq(
        recv(stream.as_mut(), &mut buf),
        Ok(Recv::Hole),
        "second recv",
    )?;
    target.kill()?;
    // recv_hole answers from the client's own state: the pending hole survives the death.
    ensure_eq(
        stream.recv_hole(0).map_err(|error| render_error(&error)),
        Ok(1 << 20),
        "recv_hole after the death",
    )?;
    // Whole packets the dead daemon had already written to the socket may still come (timing:
    // a small one can, a full 262120-byte packet never fits, measured); then end of file.
    let mut position = 4096 + (1 << 20);
    let error = loop {
        match recv(stream.as_mut(), &mut buf) {
            Ok(Recv::Data(n)) if position + n as u64 <= layout.size() => {
                let mut expected = vec![0; n];
                layout.read_at(position, &mut expected);
                ensure(buf[..n] == expected[..], || {
                    format!("bytes at {position} after the death differ from the volume")
                })?;
                position += n as u64;
            }
            Ok(other) => return Err(format!("{other:?} at {position} after the death")),
            Err(error) => break error,
        }
    };
    ensure_eq(
        error,
        render_error(&daemon_gone::end_of_file()),
        "first failure after the hole",
    )?;
    ensure_eq(
        stream.recv_hole(0).map_err(|error| render_error(&error)),
        Ok(0),
        "recv_hole with none pending",
    )
}

fn upload_dies_then_every_call_fails(target: &dyn Killable) -> Check {
    // Killed just before the hole: the next call is a send_hole.
    let plan = Plan {
        layout: Layout::parse("D1M H1M D2M").map_err(|error| error.to_string())?,
        direction: Direction::Upload,
        sparse: true,
        chunk: 262_144,
        kill_after: 1 << 20,
    };
    let trace = trace(target.backend(), &plan, &mut || target.kill())?;
    // The loop thread usually closes the client first ("client socket is closed"); a call
    // racing it writes into the dead socket (Broken pipe, once Connection reset: Q11).
    ensure(trace.first_error.kind() == ErrorKind::Disconnected, || {
        format!("first failure {}", render_error(&trace.first_error))
    })?;
    // Sends are queued in the client: which call fails first is timing, and when it was
    // `finish` the stream is closed already.
    if trace.first_call != "finish" {
        ensure_eq(trace.later, expected_later("send"), "calls after it")?;
    }
    ensure_eq(trace.connection, expected_connection(), "connection calls")
}

fn nonblock_download_dies_with_an_error_not_would_block_forever(target: &dyn Killable) -> Check {
    let backend = target.backend();
    let fixture = Fixture::new(backend);
    let volume = fixture.volume("D4M")?;
    let mut stream = fixture.open(StreamFlags::NONBLOCK, Transfer::download(volume, false))?;
    let hangups = Arc::new(AtomicUsize::new(0));
    let seen = hangups.clone();
    stream
        .add_callback(
            EventSet::READABLE,
            Box::new(move |events| {
                if events.contains(EventSet::ERROR | EventSet::HANGUP) {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
            }),
        )
        .map_err(|error| format!("add_callback: {error}"))?;
    target.kill()?;
    // Raw libvirt never wakes a READABLE callback once its daemon is dead (measured): the
    // backends tell it once, with ERROR | HANGUP.
    let deadline = Instant::now() + Duration::from_secs(5);
    while hangups.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        target.run_events();
        std::thread::sleep(Duration::from_millis(1));
    }
    target.run_events();
    ensure_eq(
        hangups.load(Ordering::SeqCst),
        1,
        "ERROR | HANGUP deliveries to a READABLE callback after the death",
    )?;
    // Raw libvirt's NONBLOCK recv returns -2 forever on a dead connection (measured).
    let mut buf = vec![0; 262_144];
    let error = loop {
        match stream.recv(&mut buf, RecvFlags::empty()) {
            Ok(Recv::Eof) => return Err("end of stream after the kill".into()),
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Ok(got) => return Err(format!("still {got:?} 5 s after the kill")),
            Err(error) => break error,
        }
    };
    ensure_eq(
        render_error(&error),
        closed(),
        "NONBLOCK recv after the death",
    )?;
    ensure_eq(
        stream
            .remove_callback()
            .map_err(|error| render_error(&error)),
        Ok(()),
        "remove_callback after the death",
    )?;
    ensure_eq(
        stream.finish().map_err(|error| render_error(&error)),
        Err(closed()),
        "finish",
    )?;
    ensure_eq(stream.state(), StreamState::FinishFailed, "state")
}

fn dead_connection_refuses_binds_and_volume_calls(target: &dyn Killable) -> Check {
    let backend = target.backend();
    let fixture = Fixture::new(backend);
    let volume = fixture.volume("D10")?;
    target.kill()?;
    let backend = target.backend();
    let shown = |result: stream_core::Result<()>| result.map_err(|error| render_error(&error));
    ensure_eq(
        shown(backend.volume_layout(&volume).map(drop)),
        Err(closed()),
        "volume_layout",
    )?;
    ensure_eq(
        shown(
            backend
                .open(
                    StreamFlags::empty(),
                    &Transfer::upload(volume.clone(), false),
                )
                .map(drop),
        ),
        Err(closed()),
        "binding an upload",
    )?;
    ensure_eq(
        shown(backend.delete_volume(&volume)),
        Err(closed()),
        "delete_volume",
    )?;
    // virStreamNew never leaves the client.
    let stream = backend
        .new_stream(StreamFlags::empty())
        .map_err(|error| format!("new_stream: {error}"))?;
    ensure_eq(stream.state(), StreamState::New, "new stream")
}
