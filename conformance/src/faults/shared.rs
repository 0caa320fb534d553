//! Fault rules for streams sharing one connection: the daemon dies with two streams open, and
//! the death ends both, each with its own sequence (measured on libvirt 9.0: FINDINGS.md Q27).
//!
//! Each stream first hands out what its client queue already holds (while one stream reads,
//! the client queues the packets the daemon sent for the other, so how much is timing: once the
//! whole rest of a volume, whose download then ends normally and fails at `finish`), then fails. Only one call on the connection ever touches the dead socket: with the event loop
//! parked (blocking streams), that call gets the socket's own error (end of file for a `recv`,
//! broken pipe for a `send`; once "received hangup event on socket"); every other failure, on
//! either stream, is "client socket is closed". After its first failure each stream answers as
//! a lone stream does (Q11).

use stream_core::libvirt_errors::{daemon_gone, stream_closed};
use stream_core::{Error, ErrorKind, Layout, Recv, RecvFlags, Stream, VolumeId};

use super::Killable;
use super::rules::closed;
use crate::scenario::render_error;
use crate::{Check, Fixture, ensure, ensure_eq};

/// Bytes each stream moves before the kill (four 256 KiB calls, as q27).
const BEFORE_KILL: usize = 4;
/// The calls' size.
const CHUNK: usize = 262_144;
/// Volumes larger than what a client queue can hold by the kill (q27 saw at most 2.75 MiB of
/// 8 MiB), so no download reaches its end after the kill.
const VOLUME: u64 = 16 << 20;
/// Failures each stream is driven to after the kill.
const FAILURES: usize = 3;

/// One stream of the pair, and what it returned from the kill on.
struct Doomed {
    stream: Box<dyn Stream>,
    volume: VolumeId,
    /// `Some(layout)` for a download of that layout, `None` for an upload.
    download: Option<Layout>,
    /// Bytes moved so far.
    position: u64,
    buf: Vec<u8>,
    failures: Vec<Error>,
    /// A download that got its whole volume and end of stream (all of it was queued).
    ended: bool,
}

impl Doomed {
    fn open(fx: Fixture<'_>, download: bool) -> Result<Doomed, String> {
        let layout = Layout::data(VOLUME);
        let notation = if download {
            layout.to_string()
        } else {
            "-".into()
        };
        let volume = fx.volume(&notation)?;
        let stream = if download {
            fx.download(&volume, false)?
        } else {
            fx.upload(&volume, false)?
        };
        let mut doomed = Doomed {
            stream,
            volume,
            download: download.then_some(layout),
            position: 0,
            buf: vec![1; CHUNK],
            failures: Vec::new(),
            ended: false,
        };
        for _ in 0..BEFORE_KILL {
            doomed.step()?;
        }
        ensure(doomed.failures.is_empty(), || {
            format!(
                "failed before the kill: {}",
                render_error(&doomed.failures[0])
            )
        })?;
        Ok(doomed)
    }

    fn what(&self) -> &'static str {
        if self.download.is_some() {
            "download"
        } else {
            "upload"
        }
    }

    /// One data call; a failure is recorded, not returned. Bytes received must be the volume's.
    fn step(&mut self) -> Check {
        let Some(layout) = &self.download else {
            match self.stream.send(&self.buf) {
                Ok(sent) => self.position += sent.sentinel().max(0) as u64,
                Err(error) => self.failures.push(error),
            }
            return Ok(());
        };
        match self.stream.recv(&mut self.buf, RecvFlags::empty()) {
            Ok(Recv::Data(n)) => {
                let mut expected = vec![0; n];
                layout.read_at(self.position, &mut expected);
                ensure(self.buf[..n] == expected[..], || {
                    format!(
                        "download: bytes at {} differ from the volume",
                        self.position
                    )
                })?;
                self.position += n as u64;
            }
            Ok(Recv::Eof) if self.position == layout.size() => self.ended = true,
            Ok(other) => return Err(format!("download: {other:?} at {}", self.position)),
            Err(error) => self.failures.push(error),
        }
        Ok(())
    }

    /// Whether the calls after the kill are over for this stream.
    fn over(&self) -> bool {
        self.ended || self.failures.len() >= FAILURES
    }

    /// After its first failure: every data call closed, `finish` closed (unless it was the
    /// failure), then the contract's closed stream for `abort` (as a lone stream: Q11.4).
    fn check_later(&mut self) -> Check {
        let what = self.what();
        for (index, later) in self.failures.iter().enumerate().skip(1) {
            ensure_eq(
                render_error(later),
                closed(),
                &format!("{what}: failure {} after the kill", index + 1),
            )?;
        }
        let rendered = |result: stream_core::Result<()>| result.map_err(|e| render_error(&e));
        if !self.ended {
            ensure_eq(
                rendered(self.stream.finish()),
                Err(closed()),
                &format!("{what}: finish"),
            )?;
        }
        ensure_eq(
            rendered(self.stream.abort()),
            Err(render_error(&stream_closed())),
            &format!("{what}: abort after finish"),
        )
    }
}

/// The socket's own errors: what the one call that touches the dead socket may get.
fn socket_errors() -> Vec<String> {
    [
        daemon_gone::end_of_file(),
        daemon_gone::broken_pipe(),
        daemon_gone::hangup(),
    ]
    .iter()
    .map(render_error)
    .collect()
}

/// Kill the daemon under `first` and `second` (opened and moved in that order), then call them
/// in turn, `second` first when `second_first`, until each has failed [`FAILURES`] times.
fn both_die(target: &dyn Killable, downloads: [bool; 2], second_first: bool) -> Check {
    let fx = Fixture::new(target.backend());
    let mut pair = [
        Doomed::open(fx, downloads[0])?,
        Doomed::open(fx, downloads[1])?,
    ];
    target.kill()?;
    let order = if second_first { [1, 0] } else { [0, 1] };
    for _ in 0..10_000 {
        if pair.iter().all(Doomed::over) {
            break;
        }
        for &index in &order {
            if !pair[index].over() {
                pair[index].step()?;
            }
        }
    }
    // A download that ended fails at `finish`, which needs the daemon.
    for &index in &order {
        let doomed = &mut pair[index];
        if doomed.ended {
            match doomed.stream.finish() {
                Ok(()) => return Err("download: finish succeeded after the death".into()),
                Err(error) => doomed.failures.push(error),
            }
        }
    }
    let mut socket = 0;
    for doomed in &pair {
        let what = doomed.what();
        let first = doomed
            .failures
            .first()
            .ok_or_else(|| format!("{what}: no failure in 10,000 calls after the kill"))?;
        ensure_eq(
            first.kind(),
            ErrorKind::Disconnected,
            &format!("{what}: first failure's kind"),
        )?;
        let rendered = render_error(first);
        if rendered != closed() {
            ensure(socket_errors().contains(&rendered), || {
                format!("{what}: first failure {rendered}")
            })?;
            socket += 1;
        }
    }
    // Blocking streams park the event loop: one call reads or writes the dead socket itself.
    ensure_eq(
        socket,
        1,
        "first failures that are the socket's own error, over both streams",
    )?;
    for doomed in &mut pair {
        doomed.check_later()?;
    }
    // The connection died with its streams.
    ensure_eq(
        fx.backend
            .volume_layout(&pair[0].volume)
            .map(drop)
            .map_err(|error| render_error(&error)),
        Err(closed()),
        "volume_layout after the death",
    )
}

pub(super) fn two_downloads_die_with_their_connection(target: &dyn Killable) -> Check {
    both_die(target, [true, true], false)
}

pub(super) fn two_downloads_die_with_their_connection_second_called_first(
    target: &dyn Killable,
) -> Check {
    both_die(target, [true, true], true)
}

pub(super) fn a_download_and_an_upload_die_with_their_connection(target: &dyn Killable) -> Check {
    both_die(target, [true, false], false)
}
