//! Playing a scenario against a backend: compare with the recorded results, or record them.

use std::fmt;

use stream_core::{
    Backend, Error, ErrorLevel, Recv, RecvFlags, Sent, Stream, StreamFlags, Transfer, VolumeId,
};

use super::digest::{content_digest, fnv1a};
use super::format::{Op, Open, Scenario};
use super::timing::{TIMING_RETRIES, drain_is_coalesced, is_packet_coalescing};
use crate::{Fixture, Scope};

/// An error as scenario files write it: `error <kind> <code>/<domain> <message>`, or
/// `<code>/<domain>/<level>` when libvirt's level is not `error` (every level libvirt 9.0 gave
/// a stream error was `error`, Q23, so recordings show it only where it differs).
pub fn render_error(error: &Error) -> String {
    let mut code = match error.libvirt_code() {
        Some(code) => format!("{}/{}", code.code, code.domain),
        None => "-/-".to_string(),
    };
    if let Some(level) = error.level().filter(|level| *level != ErrorLevel::Error) {
        code = format!("{code}/{level}");
    }
    format!("error {} {code} {}", error.kind(), error.message())
}

fn render_recv(outcome: Recv) -> String {
    match outcome {
        Recv::Data(n) => n.to_string(),
        Recv::Eof => "eof".into(),
        Recv::Hole => "hole".into(),
        Recv::WouldBlock => "would-block".into(),
    }
}

fn render<T>(result: Result<T, Error>, ok: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(value) => ok(value),
        Err(error) => render_error(&error),
    }
}

/// `a a a b` → `a*3 b`: drains of big volumes stay one readable line.
fn compress(tokens: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        let run = tokens[index..]
            .iter()
            .take_while(|token| **token == tokens[index])
            .count();
        out.push(if run > 1 {
            format!("{}*{run}", tokens[index])
        } else {
            tokens[index].clone()
        });
        index += run;
    }
    out.join(" ")
}

fn drain(stream: &mut dyn Stream, len: usize, stop_at_hole: bool, digest: bool) -> String {
    let flags = if stop_at_hole {
        RecvFlags::STOP_AT_HOLE
    } else {
        RecvFlags::empty()
    };
    let mut buf = vec![0; len];
    let mut tokens = Vec::new();
    // What was received (holes as zeros), for the digest: its first MAX_DIGESTED bytes, however
    // the receives cut them.
    let mut received = Vec::new();
    let mut keep = |bytes: &[u8]| {
        let room = if digest {
            MAX_DIGESTED - received.len()
        } else {
            0
        };
        received.extend_from_slice(&bytes[..bytes.len().min(room)]);
    };
    for _ in 0..1_000_000 {
        match stream.recv(&mut buf, flags) {
            Ok(Recv::Hole) => match stream.recv_hole(0) {
                Ok(length) => {
                    tokens.push(format!("H{length}"));
                    if digest {
                        let zeros = usize::try_from(length).unwrap_or(0).min(MAX_DIGESTED);
                        keep(&vec![0; zeros]);
                    }
                }
                Err(error) => {
                    tokens.push(render_error(&error));
                    break;
                }
            },
            Ok(Recv::Eof) => {
                tokens.push("eof".into());
                break;
            }
            Ok(Recv::Data(n)) => {
                keep(&buf[..n]);
                tokens.push(n.to_string());
            }
            Ok(other) => tokens.push(render_recv(other)),
            Err(error) => {
                tokens.push(render_error(&error));
                break;
            }
        }
    }
    let mut result = compress(&tokens);
    if digest {
        result.push(' ');
        result.push_str(&content_digest(&received));
    }
    result
}

/// The most bytes a `drain … digest` hashes: far more than a screenshot, which is what it is
/// for. A drain that moves more hashes its first this many.
const MAX_DIGESTED: usize = 64 << 20;

fn volume_state(fx: Fixture<'_>, volume: Option<&VolumeId>) -> String {
    let Some(volume) = volume else {
        return "no volume".into();
    };
    let layout = match fx.backend.volume_layout(volume) {
        Ok(layout) => layout,
        Err(error) => return render_error(&error),
    };
    match fx.bytes(volume) {
        Ok(bytes) => format!("layout {layout} fnv {:016x}", fnv1a(&bytes)),
        Err(why) => format!("error reading the volume: {why}"),
    }
}

fn step(fx: Fixture<'_>, stream: &mut dyn Stream, volume: Option<&VolumeId>, op: &Op) -> String {
    match *op {
        Op::Send { len, byte } => render(stream.send(&vec![byte; len]), |sent| match sent {
            Sent::Bytes(n) => n.to_string(),
            Sent::WouldBlock => "would-block".into(),
        }),
        Op::SendHole { len, flags } => render(stream.send_hole(len, flags), |()| "ok".into()),
        Op::Recv { len, flags } => render(
            stream.recv(&mut vec![0; len], RecvFlags::from_bits_retain(flags)),
            render_recv,
        ),
        Op::RecvFlags { len, flags } => render(
            stream.recv_flags(&mut vec![0; len], RecvFlags::from_bits_retain(flags)),
            render_recv,
        ),
        Op::RecvHole { flags } => render(stream.recv_hole(flags), |length| length.to_string()),
        Op::Drain {
            len,
            stop_at_hole,
            digest,
        } => drain(stream, len, stop_at_hole, digest),
        Op::AddCallback(events) => render(stream.add_callback(events, Box::new(|_| {})), |()| {
            "ok".into()
        }),
        Op::UpdateCallback(events) => render(stream.update_callback(events), |()| "ok".into()),
        Op::RemoveCallback => render(stream.remove_callback(), |()| "ok".into()),
        Op::Finish => render(stream.finish(), |()| "ok".into()),
        Op::Abort => render(stream.abort(), |()| "ok".into()),
        Op::Volume => volume_state(fx, volume),
    }
}

/// What each step returned on a backend, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// One rendered result per step.
    pub results: Vec<String>,
}

/// Run the scenario's setup and steps on `backend`.
pub fn run(scenario: &Scenario, backend: &dyn Backend) -> Result<Outcome, String> {
    let scope = Scope::new(backend);
    let fx = scope.fixture();
    let volume = match &scenario.setup.volume {
        Some(layout) => Some(fx.volume(&layout.to_string())?),
        None => None,
    };
    let flags = if scenario.setup.nonblock {
        StreamFlags::NONBLOCK
    } else {
        StreamFlags::empty()
    };
    let need_volume = || {
        volume
            .clone()
            .ok_or_else(|| "this open needs a `volume` line".to_string())
    };
    let transfer = match scenario.setup.open {
        Open::New => None,
        Open::Upload {
            sparse,
            offset,
            length,
        } => Some(Transfer::Upload {
            volume: need_volume()?,
            offset,
            length,
            sparse,
        }),
        Open::Download {
            sparse,
            offset,
            length,
        } => Some(Transfer::Download {
            volume: need_volume()?,
            offset,
            length,
            sparse,
        }),
        Open::Screenshot => Some(Transfer::screenshot("test")),
    };
    let mut stream = match &transfer {
        None => backend
            .new_stream(flags)
            .map_err(|error| format!("new stream: {error}"))?,
        Some(transfer) => fx.open(flags, transfer.clone())?,
    };
    let results = scenario
        .steps
        .iter()
        .map(|s| step(fx, stream.as_mut(), volume.as_ref(), &s.op))
        .collect();
    Ok(Outcome { results })
}

/// The first step whose result differs from the recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The step's line in the file.
    pub line: usize,
    /// The step as written.
    pub text: String,
    /// What the file recorded (`None`: never recorded).
    pub expected: Option<String>,
    /// What the backend returned.
    pub actual: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "line {}: {}", self.line, self.text)?;
        writeln!(
            f,
            "- expected: {}",
            self.expected.as_deref().unwrap_or("(not recorded)")
        )?;
        write!(f, "+ actual:   {}", self.actual)
    }
}

/// Play the scenario and compare every step with its recorded result. A mismatch that is only
/// real libvirt's packet timing (a `recv` that took several queued packets) is played again, up
/// to [`TIMING_RETRIES`] more times; any other mismatch is returned at once.
pub fn play(scenario: &Scenario, backend: &dyn Backend) -> Result<Result<(), Mismatch>, String> {
    let mut retries = 0;
    loop {
        let Err((op, mismatch)) = play_once(scenario, backend)? else {
            return Ok(Ok(()));
        };
        let timing = mismatch
            .expected
            .as_deref()
            .is_some_and(|expected| is_packet_coalescing(op, expected, &mismatch.actual));
        if !timing || retries == TIMING_RETRIES {
            return Ok(Err(mismatch));
        }
        retries += 1;
    }
}

fn play_once<'s>(
    scenario: &'s Scenario,
    backend: &dyn Backend,
) -> Result<Result<(), (&'s Op, Mismatch)>, String> {
    let outcome = run(scenario, backend)?;
    for (step, actual) in scenario.steps.iter().zip(outcome.results) {
        let agrees = step
            .expected
            .as_deref()
            .is_some_and(|expected| step_agrees(&step.op, expected, &actual));
        if !agrees {
            let mismatch = Mismatch {
                line: step.line,
                text: step.text.clone(),
                expected: step.expected.clone(),
                actual,
            };
            return Ok(Err((&step.op, mismatch)));
        }
    }
    Ok(Ok(()))
}

/// Whether `actual` is `expected` for `op`, or a `drain` whose packets were taken together
/// (real libvirt's timing).
pub fn step_agrees(op: &Op, expected: &str, actual: &str) -> bool {
    expected == actual
        || matches!(op, Op::Drain { len, .. } if drain_is_coalesced(*len, expected, actual))
}

/// Play the scenario and return it with every result replaced by what `backend` returned.
pub fn record(scenario: &Scenario, backend: &dyn Backend) -> Result<Scenario, String> {
    let outcome = run(scenario, backend)?;
    let mut recorded = scenario.clone();
    for (step, actual) in recorded.steps.iter_mut().zip(outcome.results) {
        step.expected = Some(actual);
    }
    Ok(recorded)
}
