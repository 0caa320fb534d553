//! Fuzz target `sim_sequences`: random operation sequences on the simulator (both profiles,
//! NONBLOCK and blocking, random fault plans, callbacks that re-enter the backend, drops and a
//! killed connection) never panic, never hang, and leave the backend serving a fresh stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use stream_conformance::scenario::{Op, layouts};
use stream_core::libvirt_errors::MAX_REMOTE_SEND;
use stream_core::{
    Backend, Direction, ErrorKind, EventSet, Layout, Recv, RecvFlags, Sent, Stream, StreamFlags,
    StreamState, Transfer, VolumeId, recv_all,
};
use stream_sim::{
    Fault, FaultPlan, InjectedError, Profile, SimBackend, SimConfig, TEST_SCREENSHOT, WouldBlock,
};

use super::{corpus, sim_case};

/// A whole sequence, checks included, must end within this (a debug build moving 32 MiB sends
/// takes well under a second): past it the sequence is reported as hung.
const DEADLINE: Duration = Duration::from_secs(30);
/// One call must return within this.
const CALL_BUDGET: Duration = Duration::from_secs(5);
/// A `drain` of a volume of `size` bytes into `len`-byte buffers that takes more calls than this
/// is a livelock: one call per buffer or hole, ten tries per call at the highest would-block rate
/// generated (900 per mille), doubled.
/// Past `DRAIN_LIMIT` calls (a volume grown huge by an earlier upload's holes, read without
/// `stop-at-hole`), the drain just stops: what is checked then is only that each call returns.
fn drain_calls(size: u64, len: usize) -> u64 {
    20 * (size / len as u64 + 64) + 1000
}

/// The most calls one `drain` makes.
const DRAIN_LIMIT: u64 = 20_000;

/// What a stream is opened on.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    New,
    Upload {
        sparse: bool,
        offset: u64,
        length: u64,
    },
    Download {
        sparse: bool,
        offset: u64,
        length: u64,
    },
    Screenshot(&'static str),
    /// An upload or download of a volume that does not exist.
    Missing {
        upload: bool,
    },
}

/// What a registered callback does when it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Callback {
    Count,
    /// Steps the event loop from inside a callback.
    RunOnce,
    /// Kills the connection from inside a callback.
    Kill,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Drop the current stream (if any), inject `plan`, open a new one.
    Open {
        nonblock: bool,
        bind: Bind,
        plan: Vec<Fault>,
    },
    /// One stream call (`volume` reads the volume's layout through the backend).
    Call(Op),
    AddCallback(EventSet, Callback),
    RunOnce,
    /// Drop the current stream (an active one is aborted by its drop).
    Drop,
    Kill,
}

/// One sequence; `Debug` prints it as a `fixtures/fuzz/sim/*.sim-fuzz` file (see `sim_case`),
/// so a failure's minimal input can be pasted into the corpus.
#[derive(Clone, PartialEq)]
pub struct Case {
    pub remote: bool,
    pub block: u64,
    pub would_block: Option<u16>,
    pub layout: Layout,
    pub actions: Vec<Action>,
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => Just(0u64),
        2 => 0u64..30_000,
        1 => prop::sample::select(vec![1u64 << 20, i64::MAX as u64, u64::MAX - 1, u64::MAX]),
    ]
}

/// Whether sequences may write past `Layout::MAX_SIZE` (i64::MAX): not while the bug of the
/// corpus seeds `sim/*past-max*` is listed in `known-bugs.txt` (the simulator lets a volume grow
/// past it), so the random cases keep finding other bugs meanwhile.
fn may_write_past_max_size() -> bool {
    !corpus::known_bugs("sim")
        .iter()
        .any(|entry| entry.contains("past-max"))
}

/// Largest upload offset and hole length while [`may_write_past_max_size`] is false.
const BELOW_MAX: u64 = 1 << 40;

fn fault() -> impl Strategy<Value = Fault> {
    let error = prop::sample::select(vec![
        InjectedError::new(
            ErrorKind::System,
            38,
            18,
            "cannot read from stream: Input/output error",
        ),
        InjectedError::new(ErrorKind::Rpc, 1, 7, "internal error: far side"),
    ]);
    let at = prop_oneof![3 => 0u64..300_000, 1 => Just(u64::MAX)];
    prop_oneof![
        (0u64..8).prop_map(|call| Fault::WouldBlockAt { call }),
        (0u64..8, prop_oneof![Just(0usize), 1usize..5000])
            .prop_map(|(call, max)| Fault::ShortAt { call, max }),
        (at.clone(), error).prop_map(|(at, error)| Fault::ErrorAt { at, error }),
        at.clone().prop_map(|at| Fault::DieAt { at }),
        at.clone().prop_map(|at| Fault::StallAt { at }),
        at.prop_map(|at| Fault::DiskFullAt { at }),
    ]
}

fn bind() -> impl Strategy<Value = Bind> {
    let huge = may_write_past_max_size();
    let upload_offset = offset().prop_map(move |at| if huge { at } else { at.min(BELOW_MAX) });
    prop_oneof![
        1 => Just(Bind::New),
        4 => (any::<bool>(), upload_offset, offset()).prop_map(|(sparse, offset, length)| Bind::Upload { sparse, offset, length }),
        4 => (any::<bool>(), offset(), offset()).prop_map(|(sparse, offset, length)| Bind::Download { sparse, offset, length }),
        2 => prop::sample::select(vec!["test", "nope", ""]).prop_map(Bind::Screenshot),
        1 => any::<bool>().prop_map(|upload| Bind::Missing { upload }),
    ]
}

/// Buffer and send sizes: 0, small, packet edges, and past libvirt's largest send.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        40 => 0usize..70_000,
        20 => prop::sample::select(vec![0usize, 1, 4095, 4096, 65536, 262_119, 262_120, 262_144, 1 << 20]),
        1 => prop::sample::select(vec![MAX_REMOTE_SEND, MAX_REMOTE_SEND + 1, 64 << 20]),
    ]
}

fn flags() -> impl Strategy<Value = u32> {
    prop_oneof![6 => Just(0u32), 3 => Just(1u32), 1 => any::<u32>()]
}

fn hole_length() -> impl Strategy<Value = i64> {
    let huge = may_write_past_max_size();
    let length = prop_oneof![
        4 => 1i64..300_000,
        2 => prop::sample::select(vec![0i64, -1, 1, 4096, 1 << 40, i64::MAX, i64::MAX - 1, i64::MIN]),
        1 => any::<i64>(),
    ];
    length.prop_map(move |length| {
        if huge {
            length
        } else {
            length.min(BELOW_MAX as i64)
        }
    })
}

fn events() -> impl Strategy<Value = EventSet> {
    prop_oneof![4 => 0u32..16, 1 => any::<u32>()].prop_map(EventSet::from_bits_retain)
}

fn action() -> impl Strategy<Value = Action> {
    let callback = prop::sample::select(vec![Callback::Count, Callback::RunOnce, Callback::Kill]);
    prop_oneof![
        2 => (any::<bool>(), bind(), prop::collection::vec(fault(), 0..3))
            .prop_map(|(nonblock, bind, plan)| Action::Open { nonblock, bind, plan }),
        8 => (size(), any::<u8>()).prop_map(|(len, byte)| Action::Call(Op::Send { len, byte })),
        6 => (hole_length(), flags()).prop_map(|(len, flags)| Action::Call(Op::SendHole { len, flags })),
        8 => (size(), flags()).prop_map(|(len, flags)| Action::Call(Op::Recv { len, flags })),
        4 => flags().prop_map(|flags| Action::Call(Op::RecvHole { flags })),
        2 => (size(), flags()).prop_map(|(len, flags)| Action::Call(Op::RecvFlags { len, flags })),
        2 => (4096usize..300_000, any::<bool>()).prop_map(|(len, stop_at_hole)| Action::Call(Op::Drain { len, stop_at_hole, digest: false })),
        2 => (events(), callback).prop_map(|(events, callback)| Action::AddCallback(events, callback)),
        1 => events().prop_map(|events| Action::Call(Op::UpdateCallback(events))),
        1 => Just(Action::Call(Op::RemoveCallback)),
        2 => Just(Action::Call(Op::Finish)),
        1 => Just(Action::Call(Op::Abort)),
        1 => Just(Action::Call(Op::Volume)),
        2 => Just(Action::RunOnce),
        1 => Just(Action::Drop),
        1 => Just(Action::Kill),
    ]
}

fn cases() -> impl Strategy<Value = Case> {
    let layout = prop_oneof![
        4 => layouts(1),
        1 => prop::sample::select(vec!["-", "H1", "D300K H2M Z5K D10", "H3M"])
            .prop_map(|notation| Layout::parse(notation).unwrap()),
    ];
    (
        any::<bool>(),
        prop::sample::select(vec![1u64, 4096]),
        prop::option::of(0u16..=900),
        layout,
        (any::<bool>(), bind(), prop::collection::vec(fault(), 0..3)),
        prop::collection::vec(action(), 0..24),
    )
        .prop_map(
            |(remote, block, would_block, layout, (nonblock, bind, plan), mut actions)| {
                // Most sequences should start on a bound stream.
                actions.insert(
                    0,
                    Action::Open {
                        nonblock,
                        bind,
                        plan,
                    },
                );
                Case {
                    remote,
                    block,
                    would_block,
                    layout,
                    actions,
                }
            },
        )
}

fn volume() -> VolumeId {
    VolumeId::new("default", "v")
}

fn transfer(bind: &Bind) -> Option<Transfer> {
    let volume = volume();
    Some(match *bind {
        Bind::New => return None,
        Bind::Upload {
            sparse,
            offset,
            length,
        } => Transfer::Upload {
            volume,
            offset,
            length,
            sparse,
        },
        Bind::Download {
            sparse,
            offset,
            length,
        } => Transfer::Download {
            volume,
            offset,
            length,
            sparse,
        },
        Bind::Screenshot(domain) => Transfer::screenshot(domain),
        Bind::Missing { upload } => {
            let volume = VolumeId::new("default", "missing");
            if upload {
                Transfer::upload(volume, false)
            } else {
                Transfer::download(volume, false)
            }
        }
    })
}

/// Plays one stream call, checking only what holds whatever happened before. `may_stall`: the
/// stream's plan stops the far side somewhere, so its data calls may return -2 for ever.
fn call(
    sim: &SimBackend,
    size: u64,
    stream: &mut dyn Stream,
    op: &Op,
    may_stall: bool,
) -> Result<(), String> {
    let nonblock = stream.flags().contains(StreamFlags::NONBLOCK);
    match *op {
        Op::Send { len, byte } => {
            if let Ok(Sent::Bytes(n)) = stream.send(&vec![byte; len]) {
                if n > len {
                    return Err(format!("send of {len} reports {n} bytes"));
                }
            }
        }
        Op::SendHole { len, flags } => drop(stream.send_hole(len, flags)),
        Op::Recv { len, flags } | Op::RecvFlags { len, flags } => {
            let buf = &mut vec![0; len];
            let flags = RecvFlags::from_bits_retain(flags);
            let got = if matches!(op, Op::Recv { .. }) {
                stream.recv(buf, flags)
            } else {
                stream.recv_flags(buf, flags)
            };
            match got {
                Ok(Recv::Data(n)) if n > len => {
                    return Err(format!("recv into {len} bytes reports {n}"));
                }
                Ok(Recv::WouldBlock) if !nonblock => {
                    return Err("would-block on a blocking stream".into());
                }
                _ => {}
            }
        }
        Op::RecvHole { flags } => {
            if let Ok(length) = stream.recv_hole(flags) {
                if length < 0 {
                    return Err(format!("recv_hole returned {length}"));
                }
            }
        }
        Op::Drain {
            len, stop_at_hole, ..
        } => {
            let flags = if stop_at_hole {
                RecvFlags::STOP_AT_HOLE
            } else {
                RecvFlags::empty()
            };
            let mut buf = vec![0; len];
            let mut calls = 0u64;
            // Nothing ever arrives on an upload: a NONBLOCK recv there returns -2 forever, as
            // libvirt's does (FINDINGS.md Q17 C).
            let uploading = matches!(
                stream.state(),
                StreamState::Active(binding) if binding.direction == Direction::Upload
            );
            loop {
                calls += 1;
                if calls > DRAIN_LIMIT {
                    break;
                }
                if calls > drain_calls(size, len) {
                    return Err(format!("drain {len}: no end after {calls} calls"));
                }
                match stream.recv(&mut buf, flags) {
                    Ok(Recv::Hole) => {
                        if stream.recv_hole(0).is_err() {
                            break;
                        }
                    }
                    Ok(Recv::WouldBlock) if uploading || may_stall => break,
                    Ok(Recv::Data(_) | Recv::WouldBlock) => {}
                    Ok(Recv::Eof) | Err(_) => break,
                }
            }
        }
        Op::AddCallback(events) => drop(stream.add_callback(events, Box::new(|_| {}))),
        Op::UpdateCallback(events) => drop(stream.update_callback(events)),
        Op::RemoveCallback => drop(stream.remove_callback()),
        Op::Finish => drop(stream.finish()),
        Op::Abort => drop(stream.abort()),
        Op::Volume => drop(sim.volume_layout(&volume())),
    }
    Ok(())
}

fn callback(
    kind: Callback,
    sim: &SimBackend,
    counter: &Arc<AtomicUsize>,
) -> stream_core::EventCallback {
    let (sim, counter) = (sim.clone(), counter.clone());
    Box::new(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        match kind {
            Callback::Count => {}
            Callback::RunOnce => drop(sim.run_once()),
            Callback::Kill => sim.kill_connection(),
        }
    })
}

/// The backend after the sequence: a fresh stream still moves the right bytes, or, once the
/// connection is dead, opening one fails cleanly.
fn serves_a_fresh_stream(sim: &SimBackend, remote: bool) -> Result<(), String> {
    sim.inject(FaultPlan::new());
    let fresh = VolumeId::new("default", "fresh");
    let layout = Layout::parse("D5000 H70000 D10").unwrap();
    if !sim.is_alive() {
        return match sim.open(StreamFlags::empty(), &Transfer::download(fresh, false)) {
            Ok(_) => Err("a stream opened on a dead connection".into()),
            Err(_) => Ok(()),
        };
    }
    let (transfer, expected) = if remote {
        sim.create_volume(&fresh, &layout)
            .map_err(|e| format!("create_volume: {e}"))?;
        (Transfer::download(fresh.clone(), false), layout.to_bytes())
    } else {
        (Transfer::screenshot("test"), TEST_SCREENSHOT.to_vec())
    };
    let mut stream = sim
        .open(StreamFlags::empty(), &transfer)
        .map_err(|e| format!("fresh open: {e}"))?;
    let mut got = Vec::new();
    recv_all(&mut stream, |chunk| {
        got.extend_from_slice(chunk);
        Ok(chunk.len())
    })
    .map_err(|e| format!("fresh download: {e}"))?;
    stream.finish().map_err(|e| format!("fresh finish: {e}"))?;
    if got != expected {
        return Err(format!(
            "fresh download gave {} bytes, not the {} expected ones",
            got.len(),
            expected.len()
        ));
    }
    if remote {
        let mut upload = sim
            .open(
                StreamFlags::empty(),
                &Transfer::upload(fresh.clone(), false),
            )
            .map_err(|e| format!("fresh upload open: {e}"))?;
        upload
            .send(&[9; 100])
            .map_err(|e| format!("fresh send: {e}"))?;
        upload
            .finish()
            .map_err(|e| format!("fresh upload finish: {e}"))?;
        let mut back = [0; 100];
        sim.read_volume(&fresh, 0, &mut back)
            .map_err(|e| format!("read_volume: {e}"))?;
        if back != [9; 100] {
            return Err("a fresh upload's bytes did not reach the volume".into());
        }
    }
    Ok(())
}

/// Plays the case; `progress` says which action is running, for the hang report.
fn play(case: &Case, progress: &AtomicUsize) -> Result<(), String> {
    let profile = if case.remote {
        Profile::Remote
    } else {
        Profile::Local
    };
    let mut config = SimConfig::new(profile).block_size(case.block);
    if let Some(per_mille) = case.would_block {
        config = config.would_block(WouldBlock::Seeded {
            seed: u64::from(per_mille),
            per_mille,
        });
    }
    let sim = SimBackend::with_config(config);
    sim.create_volume(&volume(), &case.layout)
        .map_err(|e| format!("create_volume: {e}"))?;
    let counter = Arc::new(AtomicUsize::new(0));
    let mut stream: Option<Box<dyn Stream>> = None;
    // The volume's size when the current stream was opened: what a download of it can hold.
    let mut opened_size = case.layout.size();
    let mut may_stall = false;
    for (index, action) in case.actions.iter().enumerate() {
        progress.store(index, Ordering::SeqCst);
        let started = Instant::now();
        match action {
            Action::Open {
                nonblock,
                bind,
                plan,
            } => {
                drop(stream.take());
                let size_now = sim
                    .volume_layout(&volume())
                    .map_or(0, |layout| layout.size());
                opened_size = opened_size.max(size_now);
                may_stall = plan
                    .iter()
                    .any(|fault| matches!(fault, Fault::StallAt { .. }));
                sim.inject(plan.iter().cloned().fold(FaultPlan::new(), FaultPlan::with));
                let flags = if *nonblock {
                    StreamFlags::NONBLOCK
                } else {
                    StreamFlags::empty()
                };
                stream = match transfer(bind) {
                    None => sim.new_stream(flags).ok(),
                    Some(transfer) => sim.open(flags, &transfer).ok(),
                };
            }
            Action::Call(op) => {
                if let Some(stream) = stream.as_mut() {
                    call(&sim, opened_size, stream.as_mut(), op, may_stall)
                        .map_err(|why| format!("action {index} {op:?}: {why}"))?;
                }
            }
            Action::AddCallback(events, kind) => {
                if let Some(stream) = stream.as_mut() {
                    drop(stream.add_callback(*events, callback(*kind, &sim, &counter)));
                }
            }
            Action::RunOnce => drop(sim.run_once()),
            Action::Drop => stream = None,
            Action::Kill => sim.kill_connection(),
        }
        let took = started.elapsed();
        if took > CALL_BUDGET {
            return Err(format!("action {index} {action:?} took {took:?}"));
        }
    }
    drop(stream);
    progress.store(case.actions.len(), Ordering::SeqCst);
    serves_a_fresh_stream(&sim, case.remote)
}

/// The property: `play` returns (no hang) without a panic or a broken check.
fn check(case: &Case) -> Result<(), String> {
    // A failure must be replayable from the corpus: the text form reads back as the same case.
    let text = format!("{case:?}");
    if sim_case::parse(&text).as_ref() != Ok(case) {
        return Err(format!(
            "the case's text form reads back differently: {:?}",
            sim_case::parse(&text)
        ));
    }
    let progress = Arc::new(AtomicUsize::new(0));
    let (done, outcome) = mpsc::channel();
    let worker = {
        let (case, progress) = (case.clone(), progress.clone());
        std::thread::spawn(move || {
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| play(&case, &progress)));
            let _ = done.send(result.unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("panic: {message}"))
            }));
        })
    };
    match outcome.recv_timeout(DEADLINE) {
        Ok(result) => {
            let _ = worker.join();
            result
        }
        Err(_) => {
            // The hung thread cannot be stopped; it is left behind and the run fails.
            let at = progress.load(Ordering::SeqCst);
            let what = case
                .actions
                .get(at)
                .map_or("the fresh-stream check".to_string(), |a| {
                    format!("action {at} {a:?}")
                });
            Err(format!("hang: no end within {DEADLINE:?}, stuck in {what}"))
        }
    }
}

/// `corpus::cases()` random sequences.
pub fn run() {
    let started = Instant::now();
    let known = corpus::known_bugs("sim");
    let seeds = corpus::sim_seeds();
    for (name, text) in &seeds {
        if known.contains(name) {
            println!("skipping known bug sim/{name}");
            continue;
        }
        let case = sim_case::parse(text).unwrap_or_else(|why| panic!("sim/{name}: {why}"));
        if let Err(why) = check(&case) {
            panic!("corpus seed sim/{name}: {why}\n{case:?}");
        }
    }
    let mut runner = corpus::runner();
    if let Err(error) = runner.run(&cases(), |case| check(&case).map_err(TestCaseError::fail)) {
        panic!("{error}");
    }
    corpus::report("sim_sequences", seeds.len(), started);
}
