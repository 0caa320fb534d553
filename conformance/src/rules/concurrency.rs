//! Concurrent streams on one connection (issue 13): each stream gets its own bytes and holes,
//! whether the calls alternate on one thread or run on several threads at once, and finishing or
//! aborting one stream leaves the others as they were. The expected results are each stream's
//! own results when it runs alone, modulo timing (measured on real libvirt 9.0: FINDINGS.md Q25).
//!
//! Where a backend has no volume transfers (the test driver's columns), the downloads are two
//! screenshots of the test domain on the one connection: real libvirt gives each its own image,
//! in-process and through a daemon alike (Q26). An upload beside a download needs volume uploads,
//! which the test driver does not have (Q22): that rule skips there.

use std::sync::Barrier;

use stream_core::{Layout, Recv, RecvFlags, Stream, StreamFlags, Transfer, VolumeId};

use super::{Needs, rules};
use crate::fixture::drain;
use crate::{Check, Fixture, ensure, ensure_eq};

rules!("3" => [
    (interleaved_downloads_get_their_own_bytes_and_holes, Needs::ANY),
    (downloads_on_two_threads_get_their_own_bytes_and_holes, Needs::ANY),
    (upload_and_download_at_once_keep_their_own_data, Needs::SPARSE),
    (finishing_a_stream_leaves_another_running, Needs::ANY),
    (aborting_a_stream_leaves_another_running, Needs::ANY),
]);

/// Two volumes whose data and holes sit at different offsets, so bytes or holes delivered to
/// the wrong stream change what it gets. Both span several packets.
const FIRST: &str = "D64K H1M D300K H8K D10";
const SECOND: &str = "H256K D600K H64K D4K H4K";

/// Buffer sizes of the two readers: different, so their packets differ too.
const FIRST_BUFFER: usize = 65536;
const SECOND_BUFFER: usize = 100_000;

/// Buffer sizes of two screenshot readers: small enough that the 33443-byte image takes
/// several calls (9 and 12, measured: Q26), so the calls of the two streams interleave.
const FIRST_SHOT_BUFFER: usize = 4096;
const SECOND_SHOT_BUFFER: usize = 3000;

/// What a reader downloads.
#[derive(Debug, Clone)]
enum Source {
    /// A sparse download of the volume, with `STOP_AT_HOLE`.
    Volume(VolumeId),
    /// The test domain's screenshot, with plain `recv` (a local stream has no
    /// `virStreamRecvFlags`: Q21).
    Screenshot,
}

impl Source {
    fn open(&self, fx: Fixture<'_>) -> Result<Box<dyn Stream>, String> {
        match self {
            Source::Volume(volume) => fx.download(volume, true),
            Source::Screenshot => fx.open(StreamFlags::empty(), Transfer::screenshot("test")),
        }
    }

    fn flags(&self) -> RecvFlags {
        match self {
            Source::Volume(_) => RecvFlags::STOP_AT_HOLE,
            Source::Screenshot => RecvFlags::empty(),
        }
    }
}

/// A download read one call at a time, recording what `drain` records.
struct Reader {
    stream: Box<dyn Stream>,
    flags: RecvFlags,
    buf: Vec<u8>,
    bytes: Vec<u8>,
    trace: Vec<i64>,
    done: bool,
}

impl Reader {
    fn open(fx: Fixture<'_>, side: &Side) -> Result<Reader, String> {
        Ok(Reader {
            stream: side.source.open(fx)?,
            flags: side.source.flags(),
            buf: vec![0; side.buffer],
            bytes: Vec::new(),
            trace: Vec::new(),
            done: false,
        })
    }

    /// One `recv` (and the `recv_hole` a hole needs); nothing once at end of stream.
    fn step(&mut self) -> Check {
        if self.done {
            return Ok(());
        }
        match self
            .stream
            .recv(&mut self.buf, self.flags)
            .map_err(|error| format!("recv: {error}"))?
        {
            Recv::Data(n) => {
                self.bytes.extend_from_slice(&self.buf[..n]);
                self.trace.push(n as i64);
            }
            Recv::Hole => {
                let length = self
                    .stream
                    .recv_hole(0)
                    .map_err(|error| format!("recv_hole: {error}"))?;
                self.bytes.resize(self.bytes.len() + length as usize, 0);
                self.trace.push(-length);
            }
            Recv::Eof => {
                self.trace.push(0);
                self.done = true;
            }
            Recv::WouldBlock => return Err("would block on a blocking stream".into()),
        }
        Ok(())
    }

    /// Read to the end of stream and finish.
    fn finish(mut self) -> Result<(Vec<u8>, Vec<i64>), String> {
        for _ in 0..1_000_000 {
            if self.done {
                self.stream
                    .finish()
                    .map_err(|error| format!("finish: {error}"))?;
                return Ok((self.bytes, self.trace));
            }
            self.step()?;
        }
        Err("no end of stream after a million calls".into())
    }
}

/// What a download of `source` with `buffer`-byte reads gives when it runs alone.
fn alone(fx: Fixture<'_>, source: &Source, buffer: usize) -> Result<(Vec<u8>, Vec<i64>), String> {
    let mut stream = source.open(fx)?;
    let result = drain(stream.as_mut(), buffer, source.flags())?;
    stream
        .finish()
        .map_err(|error| format!("finish: {error}"))?;
    Ok(result)
}

/// One of the two concurrent downloads: what it reads, with what buffer, and what it gives
/// alone.
struct Side {
    source: Source,
    buffer: usize,
    alone: (Vec<u8>, Vec<i64>),
}

impl Side {
    fn new(fx: Fixture<'_>, source: Source, buffer: usize) -> Result<Side, String> {
        let alone = alone(fx, &source, buffer)?;
        Ok(Side {
            source,
            buffer,
            alone,
        })
    }
}

/// The two downloads, each checked alone: two sparse volumes where the backend has them, else
/// two screenshots.
fn pair(fx: Fixture<'_>) -> Result<[Side; 2], String> {
    let capabilities = fx.backend.capabilities();
    if capabilities.download && capabilities.sparse {
        let first = fx.volume(FIRST)?;
        let second = fx.volume(SECOND)?;
        let sides = [
            Side::new(fx, Source::Volume(first.clone()), FIRST_BUFFER)?,
            Side::new(fx, Source::Volume(second.clone()), SECOND_BUFFER)?,
        ];
        ensure(sides[0].alone.0 == fx.bytes(&first)?, || {
            "first volume alone: bytes differ".into()
        })?;
        ensure(sides[1].alone.0 == fx.bytes(&second)?, || {
            "second volume alone: bytes differ".into()
        })?;
        Ok(sides)
    } else if capabilities.screenshot {
        let sides = [
            Side::new(fx, Source::Screenshot, FIRST_SHOT_BUFFER)?,
            Side::new(fx, Source::Screenshot, SECOND_SHOT_BUFFER)?,
        ];
        // The image's bytes differ between builds (Q24): both readers alone must agree, and
        // take more than one call each.
        ensure(sides[0].alone.0 == sides[1].alone.0, || {
            "the two screenshots alone differ".into()
        })?;
        ensure(sides[1].alone.1.len() > 3, || {
            format!(
                "a screenshot read alone in {} calls: too few to interleave",
                sides[1].alone.1.len()
            )
        })?;
        Ok(sides)
    } else {
        Err("backend has neither sparse volume downloads nor screenshots".into())
    }
}

/// A `drain` trace modulo timing (CONTRACT.md §1): consecutive data counts merged into one run.
/// While another stream runs, a remote stream's packets queue up, and one `recv` then fills its
/// buffer across packets (measured, Q25); alone, each `recv` ends at a packet's end. The runs of
/// data, the holes and the end of stream are the same either way.
fn modulo_timing(trace: &[i64]) -> Vec<i64> {
    let mut runs: Vec<i64> = Vec::new();
    for &entry in trace {
        match runs.last_mut() {
            Some(run) if *run > 0 && entry > 0 => *run += entry,
            _ => runs.push(entry),
        }
    }
    runs
}

/// A result against the same stream's result alone: data runs, holes and end of stream
/// modulo timing, then the bytes, compared by length and first difference so a failure stays
/// readable.
fn same_as_alone(got: &(Vec<u8>, Vec<i64>), alone: &(Vec<u8>, Vec<i64>), what: &str) -> Check {
    ensure_eq(
        modulo_timing(&got.1),
        modulo_timing(&alone.1),
        &format!("{what}: data runs and holes"),
    )?;
    ensure(got.0 == alone.0, || {
        let at = got.0.iter().zip(&alone.0).position(|(a, b)| a != b);
        format!(
            "{what}: {} bytes, alone {}; first difference at {at:?}",
            got.0.len(),
            alone.0.len()
        )
    })
}

fn interleaved_downloads_get_their_own_bytes_and_holes(fx: Fixture<'_>) -> Check {
    let [first, second] = pair(fx)?;
    let mut a = Reader::open(fx, &first)?;
    let mut b = Reader::open(fx, &second)?;
    for _ in 0..1_000_000 {
        if a.done && b.done {
            break;
        }
        a.step().map_err(|why| format!("first: {why}"))?;
        b.step().map_err(|why| format!("second: {why}"))?;
    }
    same_as_alone(&a.finish()?, &first.alone, "first")?;
    same_as_alone(&b.finish()?, &second.alone, "second")
}

/// Both readers on threads of their own, started together, three rounds.
fn downloads_on_two_threads_get_their_own_bytes_and_holes(fx: Fixture<'_>) -> Check {
    let [first, second] = pair(fx)?;
    for round in 0..3 {
        let start = Barrier::new(2);
        let run = |side: &Side| {
            let reader = Reader::open(fx, side);
            start.wait();
            reader?.finish()
        };
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| run(&first));
            let b = scope.spawn(|| run(&second));
            (a.join(), b.join())
        });
        let a = a.map_err(|_| format!("round {round}: first thread panicked"))?;
        let b = b.map_err(|_| format!("round {round}: second thread panicked"))?;
        same_as_alone(&a?, &first.alone, &format!("round {round}: first"))?;
        same_as_alone(&b?, &second.alone, &format!("round {round}: second"))?;
    }
    Ok(())
}

/// Send one recorded `drain` result (data counts, negative hole lengths, 0 at the end) of
/// `bytes` on an upload, one step per entry.
struct Writer<'a> {
    stream: Box<dyn Stream>,
    bytes: &'a [u8],
    trace: &'a [i64],
    at: usize,
}

impl Writer<'_> {
    fn done(&self) -> bool {
        self.trace.first().is_none_or(|&entry| entry == 0)
    }

    fn step(&mut self) -> Check {
        let Some((&entry, rest)) = self.trace.split_first() else {
            return Ok(());
        };
        if entry > 0 {
            let mut chunk = &self.bytes[self.at..self.at + entry as usize];
            while !chunk.is_empty() {
                let sent = self
                    .stream
                    .send(chunk)
                    .map_err(|error| format!("send: {error}"))?
                    .sentinel();
                ensure(sent > 0, || format!("send returned {sent}"))?;
                chunk = &chunk[sent as usize..];
            }
            self.at += entry as usize;
        } else if entry < 0 {
            self.stream
                .send_hole(-entry, 0)
                .map_err(|error| format!("send_hole: {error}"))?;
            self.at += (-entry) as usize;
        } else {
            return Ok(());
        }
        self.trace = rest;
        Ok(())
    }
}

fn layout(fx: Fixture<'_>, volume: &VolumeId) -> Result<String, String> {
    fx.backend
        .volume_layout(volume)
        .map(|layout: Layout| layout.to_string())
        .map_err(|error| error.to_string())
}

/// A sparse upload (of the second volume's bytes and holes, into a new volume) and a download
/// (of the first) on one connection: calls alternating, then on two threads.
fn upload_and_download_at_once_keep_their_own_data(fx: Fixture<'_>) -> Check {
    let [first, second] = pair(fx)?;
    let Source::Volume(second_volume) = &second.source else {
        return Err("an upload beside a download needs volumes".into());
    };
    let (bytes, trace) = &second.alone;
    let expected_layout = layout(fx, second_volume)?;
    let writer = |target: &VolumeId| -> Result<Writer<'_>, String> {
        Ok(Writer {
            stream: fx.upload(target, true)?,
            bytes,
            trace,
            at: 0,
        })
    };
    let check_target = |target: &VolumeId, what: &str| -> Check {
        ensure(fx.bytes(target)? == *bytes, || {
            format!("{what}: the uploaded volume's bytes differ from what was sent")
        })?;
        ensure_eq(
            layout(fx, target)?,
            expected_layout.clone(),
            &format!("{what}: hole map"),
        )
    };

    let target = fx.volume("-")?;
    let mut up = writer(&target)?;
    let mut down = Reader::open(fx, &first)?;
    for _ in 0..1_000_000 {
        if up.done() && down.done {
            break;
        }
        up.step().map_err(|why| format!("upload: {why}"))?;
        down.step().map_err(|why| format!("download: {why}"))?;
    }
    up.stream
        .finish()
        .map_err(|error| format!("upload finish: {error}"))?;
    same_as_alone(&down.finish()?, &first.alone, "download (alternating)")?;
    check_target(&target, "upload (alternating)")?;

    let target = fx.volume("-")?;
    let start = Barrier::new(2);
    let (up, down) = std::thread::scope(|scope| {
        let up = scope.spawn(|| -> Check {
            let up = writer(&target);
            start.wait();
            let mut up = up?;
            while !up.done() {
                up.step()?;
            }
            up.stream
                .finish()
                .map_err(|error| format!("finish: {error}"))
        });
        let down = scope.spawn(|| {
            let down = Reader::open(fx, &first);
            start.wait();
            down?.finish()
        });
        (up.join(), down.join())
    });
    up.map_err(|_| "upload thread panicked".to_string())?
        .map_err(|why| format!("upload (threads): {why}"))?;
    let down = down.map_err(|_| "download thread panicked".to_string())??;
    same_as_alone(&down, &first.alone, "download (threads)")?;
    check_target(&target, "upload (threads)")
}

/// Both downloads started and part read; then one is finished (`finish` before end of stream)
/// or aborted, and, where the backend has volumes, an upload on the side is ended the same way;
/// the other download reads on.
fn one_ends_while_another_runs(fx: Fixture<'_>, abort: bool) -> Check {
    let [first, second] = pair(fx)?;
    let end = |stream: &mut Box<dyn Stream>, what: &str| {
        let ended = if abort {
            stream.abort()
        } else {
            stream.finish()
        };
        ended.map_err(|error| format!("{what}: {error}"))
    };
    let mut a = Reader::open(fx, &first)?;
    let mut b = Reader::open(fx, &second)?;
    let mut upload = if fx.backend.capabilities().upload {
        let target = fx.volume("H64K")?;
        Some((fx.upload(&target, false)?, target))
    } else {
        None
    };
    for _ in 0..3 {
        a.step()?;
        b.step()?;
    }
    if let Some((stream, _)) = upload.as_mut() {
        stream
            .send(&[7; 1000])
            .map_err(|error| format!("upload send: {error}"))?;
    }
    ensure(!a.done && !b.done, || {
        "a download ended after three calls".into()
    })?;
    end(&mut a.stream, "ending the first download")?;
    b.step()?;
    if let Some((stream, _)) = upload.as_mut() {
        end(stream, "ending the upload")?;
    }
    same_as_alone(&b.finish()?, &second.alone, "the download left running")?;
    if let Some((_, target)) = upload.filter(|_| !abort) {
        let bytes = fx.bytes(&target)?;
        ensure(bytes[..1000].iter().all(|&byte| byte == 7), || {
            "the finished upload's bytes are not in its volume".into()
        })?;
    }
    Ok(())
}

fn finishing_a_stream_leaves_another_running(fx: Fixture<'_>) -> Check {
    one_ends_while_another_runs(fx, false)
}

fn aborting_a_stream_leaves_another_running(fx: Fixture<'_>) -> Check {
    one_ends_while_another_runs(fx, true)
}
