//! One transfer whose daemon dies part-way, and what it returned from the kill on: the trace the
//! fault rules check and the differential property compares.

use stream_core::{
    Backend, Error, Layout, Recv, RecvFlags, Stream, StreamFlags, Transfer, VolumeId,
};

use crate::Fixture;
use crate::scenario::render_error;

/// Which way the doomed transfer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Volume to application.
    Download,
    /// Application to volume.
    Upload,
}

/// A transfer, and when its daemon dies.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The volume (download) or the source (upload).
    pub layout: Layout,
    /// Which way.
    pub direction: Direction,
    /// Holes as holes.
    pub sparse: bool,
    /// Bytes per `send` / `recv`.
    pub chunk: usize,
    /// The daemon dies once this many bytes (data and holes) have moved.
    pub kill_after: u64,
}

/// What happened from the kill on.
#[derive(Debug, Clone)]
pub struct DeathTrace {
    /// Bytes moved (data and holes) when the daemon died.
    pub at_kill: u64,
    /// Data bytes that still came after the kill (what the client had already received).
    pub data_after_kill: u64,
    /// The offset of the first received byte that differs from the volume, if any.
    pub mismatch: Option<u64>,
    /// The first call to fail after the kill.
    pub first_error: Error,
    /// Which call failed first: `recv`, `send`, `send_hole`, or `finish` (an upload whose sends
    /// were all queued before the client noticed).
    pub first_call: &'static str,
    /// Each later call on the stream, and what it returned (`ok`, or the rendered error).
    pub later: Vec<(&'static str, String)>,
    /// Then the connection's calls: volume, bind, new stream.
    pub connection: Vec<(&'static str, String)>,
}

/// Most calls made after the kill before a failure must have come.
const CALLS_AFTER_KILL: usize = 10_000;

/// Run `plan` on `backend`, calling `kill` once `plan.kill_after` bytes have moved.
pub fn trace(
    backend: &dyn Backend,
    plan: &Plan,
    kill: &mut dyn FnMut() -> Result<(), String>,
) -> Result<DeathTrace, String> {
    let fixture = Fixture::new(backend);
    let (volume, mut stream) = match plan.direction {
        Direction::Download => {
            let volume = fixture.volume(&plan.layout.to_string())?;
            let stream = fixture.download(&volume, plan.sparse)?;
            (volume, stream)
        }
        Direction::Upload => {
            let volume = fixture.volume(&format!("H{}", plan.layout.size().max(1)))?;
            let stream = fixture.upload(&volume, plan.sparse)?;
            (volume, stream)
        }
    };
    let mut mover = Mover {
        plan,
        stream: stream.as_mut(),
        moved: 0,
        killed_at: None,
        data_after_kill: 0,
        mismatch: None,
        calls_after_kill: 0,
    };
    let (first_call, first_error) = mover.run(kill)?;
    let at_kill = mover.killed_at.unwrap_or(mover.moved);
    let (data_after_kill, mismatch) = (mover.data_after_kill, mover.mismatch);
    let later = later_stream_calls(stream.as_mut(), plan.direction);
    let connection = connection_calls(backend, &volume);
    Ok(DeathTrace {
        at_kill,
        data_after_kill,
        mismatch,
        first_call,
        first_error,
        later,
        connection,
    })
}

/// Moves the plan's bytes until the first failure after the kill.
struct Mover<'a> {
    plan: &'a Plan,
    stream: &'a mut dyn Stream,
    moved: u64,
    killed_at: Option<u64>,
    data_after_kill: u64,
    mismatch: Option<u64>,
    calls_after_kill: usize,
}

impl Mover<'_> {
    /// The first failing call after the kill and its error; an error before the kill, or none
    /// at all, is a failure.
    fn run(
        &mut self,
        kill: &mut dyn FnMut() -> Result<(), String>,
    ) -> Result<(&'static str, Error), String> {
        loop {
            if self.killed_at.is_none() && self.moved >= self.plan.kill_after {
                kill()?;
                self.killed_at = Some(self.moved);
            }
            if self.killed_at.is_some() {
                self.calls_after_kill += 1;
                if self.calls_after_kill > CALLS_AFTER_KILL {
                    return Err(format!(
                        "{CALLS_AFTER_KILL} calls after the kill and none failed"
                    ));
                }
            }
            let (call, step) = match self.plan.direction {
                Direction::Download => ("recv", self.recv_step()),
                Direction::Upload => self.send_step(),
            };
            match step {
                Ok(true) => {}
                // Every byte went through after the kill: an upload's sends are queued in the
                // client, a download's last packets may sit in the socket already. `finish`
                // then has to tell the daemon, and fails.
                Ok(false) => {
                    return match self.stream.finish() {
                        Err(error) => Ok(("finish", error)),
                        Ok(()) => Err(format!(
                            "the transfer ended at byte {} and finish succeeded after the kill",
                            self.moved
                        )),
                    };
                }
                Err(error) if self.killed_at.is_some() => return Ok((call, error)),
                Err(error) => {
                    return Err(format!(
                        "failed at byte {} before the kill: {error}",
                        self.moved
                    ));
                }
            }
        }
    }

    /// One `recv` (and `recv_hole` after a hole); false at end of stream.
    fn recv_step(&mut self) -> stream_core::Result<bool> {
        let flags = if self.plan.sparse {
            RecvFlags::STOP_AT_HOLE
        } else {
            RecvFlags::empty()
        };
        let mut buf = vec![0; self.plan.chunk];
        match self.stream.recv(&mut buf, flags)? {
            Recv::Data(n) => {
                let mut expected = vec![0; n];
                self.plan.layout.read_at(self.moved, &mut expected);
                if self.mismatch.is_none()
                    && let Some(at) = (0..n).find(|&i| buf[i] != expected[i])
                {
                    self.mismatch = Some(self.moved + at as u64);
                }
                if self.killed_at.is_some() {
                    self.data_after_kill += n as u64;
                }
                self.moved += n as u64;
            }
            Recv::Hole => {
                let length = self.stream.recv_hole(0)?;
                self.moved += length.unsigned_abs();
            }
            Recv::Eof => return Ok(false),
            Recv::WouldBlock => {}
        }
        Ok(true)
    }

    /// One `send` or `send_hole` of the source (which of them, and false once all was sent).
    fn send_step(&mut self) -> (&'static str, stream_core::Result<bool>) {
        let size = self.plan.layout.size();
        if self.moved >= size {
            return ("send", Ok(false));
        }
        // Layouts list their data extents; the gaps between them are holes.
        let next = self
            .plan
            .layout
            .extents()
            .iter()
            .find(|extent| extent.end() > self.moved);
        let (in_data, left) = match next {
            Some(extent) if extent.offset <= self.moved => (true, extent.end() - self.moved),
            Some(extent) => (false, extent.offset - self.moved),
            None => (false, size - self.moved),
        };
        if self.plan.sparse && !in_data {
            let sent = self
                .stream
                .send_hole(i64::try_from(left).unwrap_or(i64::MAX), 0);
            if sent.is_ok() {
                self.moved += left;
            }
            return ("send_hole", sent.map(|()| true));
        }
        let len = (self.plan.chunk as u64).min(left) as usize;
        let mut buf = vec![0; len];
        self.plan.layout.read_at(self.moved, &mut buf);
        let sent = self.stream.send(&buf).map(|sent| {
            if let stream_core::Sent::Bytes(n) = sent {
                self.moved += n as u64;
            }
            true
        });
        ("send", sent)
    }
}

fn shown(result: stream_core::Result<()>) -> String {
    match result {
        Ok(()) => "ok".to_string(),
        Err(error) => render_error(&error),
    }
}

/// After the first failure: the stream's calls once more, in a fixed order.
fn later_stream_calls(
    stream: &mut dyn Stream,
    direction: Direction,
) -> Vec<(&'static str, String)> {
    let mut later = Vec::new();
    let mut buf = [0; 4096];
    match direction {
        Direction::Download => {
            later.push((
                "recv",
                shown(stream.recv(&mut buf, RecvFlags::empty()).map(drop)),
            ));
        }
        Direction::Upload => later.push(("send", shown(stream.send(&buf).map(drop)))),
    }
    later.push(("finish", shown(stream.finish())));
    later.push(("abort", shown(stream.abort())));
    later
}

/// Then the connection: the volume, binding a new transfer, a new (unbound) stream.
fn connection_calls(backend: &dyn Backend, volume: &VolumeId) -> Vec<(&'static str, String)> {
    let open = backend.open(
        StreamFlags::empty(),
        &Transfer::download(volume.clone(), false),
    );
    vec![
        (
            "volume_layout",
            shown(backend.volume_layout(volume).map(drop)),
        ),
        ("open", shown(open.map(drop))),
        (
            "new_stream",
            shown(backend.new_stream(StreamFlags::empty()).map(drop)),
        ),
    ]
}
