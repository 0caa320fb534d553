//! Concurrent streams on one connection (issue 13): each stream gets its own bytes and holes,
//! whether the calls alternate on one thread or run on several threads at once, and finishing or
//! aborting one stream leaves the others as they were. The expected results are each stream's
//! own results when it runs alone, modulo timing (measured on real libvirt 9.0: FINDINGS.md Q25).

use std::sync::Barrier;

use stream_core::{Layout, Recv, RecvFlags, Stream, VolumeId};

use super::{Needs, rules};
use crate::fixture::drain;
use crate::{Check, Fixture, ensure, ensure_eq};

rules!("3" => [
    (interleaved_downloads_get_their_own_bytes_and_holes, Needs::SPARSE),
    (downloads_on_two_threads_get_their_own_bytes_and_holes, Needs::SPARSE),
    (upload_and_download_at_once_keep_their_own_data, Needs::SPARSE),
    (finishing_a_stream_leaves_another_running, Needs::SPARSE),
    (aborting_a_stream_leaves_another_running, Needs::SPARSE),
]);

/// Two volumes whose data and holes sit at different offsets, so bytes or holes delivered to
/// the wrong stream change what it gets. Both span several packets.
const FIRST: &str = "D64K H1M D300K H8K D10";
const SECOND: &str = "H256K D600K H64K D4K H4K";

/// Buffer sizes of the two readers: different, so their packets differ too.
const FIRST_BUFFER: usize = 65536;
const SECOND_BUFFER: usize = 100_000;

/// A sparse download read one call at a time, recording what `drain` records.
struct Reader {
    stream: Box<dyn Stream>,
    buf: Vec<u8>,
    bytes: Vec<u8>,
    trace: Vec<i64>,
    done: bool,
}

impl Reader {
    fn open(fx: Fixture<'_>, volume: &VolumeId, buffer: usize) -> Result<Reader, String> {
        Ok(Reader {
            stream: fx.download(volume, true)?,
            buf: vec![0; buffer],
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
            .recv(&mut self.buf, RecvFlags::STOP_AT_HOLE)
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

/// What a sparse download of `volume` with `buffer`-byte reads gives when it runs alone.
fn alone(fx: Fixture<'_>, volume: &VolumeId, buffer: usize) -> Result<(Vec<u8>, Vec<i64>), String> {
    let mut stream = fx.download(volume, true)?;
    let result = drain(stream.as_mut(), buffer, RecvFlags::STOP_AT_HOLE)?;
    stream
        .finish()
        .map_err(|error| format!("finish: {error}"))?;
    Ok(result)
}

/// The two volumes, and what each gives alone.
type Pair = [(VolumeId, (Vec<u8>, Vec<i64>)); 2];

fn pair(fx: Fixture<'_>) -> Result<Pair, String> {
    let first = fx.volume(FIRST)?;
    let second = fx.volume(SECOND)?;
    let first_alone = alone(fx, &first, FIRST_BUFFER)?;
    let second_alone = alone(fx, &second, SECOND_BUFFER)?;
    ensure(first_alone.0 == fx.bytes(&first)?, || {
        "first volume alone: bytes differ".into()
    })?;
    ensure(second_alone.0 == fx.bytes(&second)?, || {
        "second volume alone: bytes differ".into()
    })?;
    Ok([(first, first_alone), (second, second_alone)])
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
    let [(first, first_alone), (second, second_alone)] = pair(fx)?;
    let mut a = Reader::open(fx, &first, FIRST_BUFFER)?;
    let mut b = Reader::open(fx, &second, SECOND_BUFFER)?;
    for _ in 0..1_000_000 {
        if a.done && b.done {
            break;
        }
        a.step().map_err(|why| format!("first: {why}"))?;
        b.step().map_err(|why| format!("second: {why}"))?;
    }
    same_as_alone(&a.finish()?, &first_alone, "first")?;
    same_as_alone(&b.finish()?, &second_alone, "second")
}

/// Both readers on threads of their own, started together, three rounds.
fn downloads_on_two_threads_get_their_own_bytes_and_holes(fx: Fixture<'_>) -> Check {
    let [(first, first_alone), (second, second_alone)] = pair(fx)?;
    for round in 0..3 {
        let start = Barrier::new(2);
        let run = |volume: &VolumeId, buffer: usize| {
            let reader = Reader::open(fx, volume, buffer);
            start.wait();
            reader?.finish()
        };
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| run(&first, FIRST_BUFFER));
            let b = scope.spawn(|| run(&second, SECOND_BUFFER));
            (a.join(), b.join())
        });
        let a = a.map_err(|_| format!("round {round}: first thread panicked"))?;
        let b = b.map_err(|_| format!("round {round}: second thread panicked"))?;
        same_as_alone(&a?, &first_alone, &format!("round {round}: first"))?;
        same_as_alone(&b?, &second_alone, &format!("round {round}: second"))?;
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
    let [(first, first_alone), (second, second_alone)] = pair(fx)?;
    let (bytes, trace) = &second_alone;
    let expected_layout = layout(fx, &second)?;
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
    let mut down = Reader::open(fx, &first, FIRST_BUFFER)?;
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
    same_as_alone(&down.finish()?, &first_alone, "download (alternating)")?;
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
            let down = Reader::open(fx, &first, FIRST_BUFFER);
            start.wait();
            down?.finish()
        });
        (up.join(), down.join())
    });
    up.map_err(|_| "upload thread panicked".to_string())?
        .map_err(|why| format!("upload (threads): {why}"))?;
    let down = down.map_err(|_| "download thread panicked".to_string())??;
    same_as_alone(&down, &first_alone, "download (threads)")?;
    check_target(&target, "upload (threads)")
}

/// Both downloads started and part read; then one is finished (`finish` before end of stream)
/// or aborted, and an upload on the side is ended the same way; the other download reads on.
fn one_ends_while_another_runs(fx: Fixture<'_>, abort: bool) -> Check {
    let [(first, _), (second, second_alone)] = pair(fx)?;
    let end = |stream: &mut Box<dyn Stream>, what: &str| {
        let ended = if abort {
            stream.abort()
        } else {
            stream.finish()
        };
        ended.map_err(|error| format!("{what}: {error}"))
    };
    let mut a = Reader::open(fx, &first, FIRST_BUFFER)?;
    let mut b = Reader::open(fx, &second, SECOND_BUFFER)?;
    let target = fx.volume("H64K")?;
    let mut upload = fx.upload(&target, false)?;
    for _ in 0..3 {
        a.step()?;
        b.step()?;
    }
    upload
        .send(&[7; 1000])
        .map_err(|error| format!("upload send: {error}"))?;
    ensure(!a.done && !b.done, || {
        "a download ended after three calls".into()
    })?;
    end(&mut a.stream, "ending the first download")?;
    b.step()?;
    end(&mut upload, "ending the upload")?;
    same_as_alone(&b.finish()?, &second_alone, "the download left running")?;
    if !abort {
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
