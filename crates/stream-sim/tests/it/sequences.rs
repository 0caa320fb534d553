//! Random operation sequences on the simulator (10,000 cases): no panic, and the lifecycle
//! invariants of CONTRACT.md §2–§3 hold after every call.

use proptest::prelude::*;
use stream_core::{
    Backend, ErrorKind, EventSet, Layout, Recv, RecvFlags, Stream, StreamFlags, StreamState,
    Transfer, VolumeId,
};
use stream_sim::{Profile, SimBackend, SimConfig, WouldBlock};

#[derive(Debug, Clone)]
enum Op {
    Send(usize),
    SendHole(i64, u32),
    Recv(usize, u32),
    RecvHole(u32),
    AddCallback(u32),
    UpdateCallback(u32),
    RemoveCallback,
    Finish,
    Abort,
    RunOnce,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..70_000).prop_map(Op::Send),
        2 => (-3i64..70_000, prop_oneof![4 => Just(0u32), 1 => 1u32..4]).prop_map(|(l, f)| Op::SendHole(l, f)),
        4 => (0usize..300_000, prop_oneof![3 => 0u32..2, 1 => 2u32..8]).prop_map(|(n, f)| Op::Recv(n, f)),
        2 => prop_oneof![4 => Just(0u32), 1 => 1u32..3].prop_map(Op::RecvHole),
        1 => (0u32..16).prop_map(Op::AddCallback),
        1 => (0u32..16).prop_map(Op::UpdateCallback),
        1 => Just(Op::RemoveCallback),
        1 => Just(Op::Finish),
        1 => Just(Op::Abort),
        1 => Just(Op::RunOnce),
    ]
}

#[derive(Debug, Clone)]
enum Bind {
    New,
    Upload { sparse: bool, length: u64 },
    Download { sparse: bool, offset: u64 },
    Screenshot,
}

fn bind() -> impl Strategy<Value = Bind> {
    prop_oneof![
        1 => Just(Bind::New),
        3 => (any::<bool>(), prop_oneof![Just(0u64), 1u64..100_000]).prop_map(|(sparse, length)| Bind::Upload { sparse, length }),
        3 => (any::<bool>(), prop_oneof![Just(0u64), 1u64..200_000]).prop_map(|(sparse, offset)| Bind::Download { sparse, offset }),
        1 => Just(Bind::Screenshot),
    ]
}

fn layout() -> impl Strategy<Value = Layout> {
    proptest::collection::vec((0u8..3, 1u64..40_000), 0..6).prop_map(|segments| {
        let notation: Vec<String> = segments
            .iter()
            .map(|(kind, len)| format!("{}{len}", ["D", "H", "Z"][*kind as usize]))
            .collect();
        Layout::parse(
            if notation.is_empty() {
                "-".into()
            } else {
                notation.join(" ")
            }
            .as_str(),
        )
        .unwrap()
    })
}

fn call(
    stream: &mut dyn Stream,
    sim: &SimBackend,
    op: &Op,
) -> Result<Option<Recv>, stream_core::Error> {
    match *op {
        Op::Send(n) => stream.send(&vec![7; n]).map(|_| None),
        Op::SendHole(length, flags) => stream.send_hole(length, flags).map(|_| None),
        Op::Recv(n, flags) => stream
            .recv(&mut vec![0; n], RecvFlags::from_bits_retain(flags))
            .map(Some),
        Op::RecvHole(flags) => stream.recv_hole(flags).map(|_| None),
        Op::AddCallback(events) => stream
            .add_callback(EventSet::from_bits_retain(events), Box::new(|_| {}))
            .map(|_| None),
        Op::UpdateCallback(events) => stream
            .update_callback(EventSet::from_bits_retain(events))
            .map(|_| None),
        Op::RemoveCallback => stream.remove_callback().map(|_| None),
        Op::Finish => stream.finish().map(|_| None),
        Op::Abort => stream.abort().map(|_| None),
        Op::RunOnce => {
            sim.run_once();
            Ok(None)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_lifecycle(
        remote in any::<bool>(),
        nonblock in any::<bool>(),
        block in prop_oneof![Just(1u64), Just(4096)],
        layout in layout(),
        bind in bind(),
        ops in proptest::collection::vec(op(), 0..24),
    ) {
        let profile = if remote { Profile::Remote } else { Profile::Local };
        let config = SimConfig::new(profile).block_size(block).would_block(WouldBlock::Seeded { seed: 3, per_mille: 300 });
        let sim = SimBackend::with_config(config);
        let volume = VolumeId::new("default", "v");
        sim.create_volume(&volume, &layout).unwrap();
        let flags = if nonblock { StreamFlags::NONBLOCK } else { StreamFlags::empty() };
        let transfer = match bind {
            Bind::New => None,
            Bind::Upload { sparse, length } => Some(Transfer::Upload { volume: volume.clone(), offset: 0, length, sparse }),
            Bind::Download { sparse, offset } => Some(Transfer::Download { volume: volume.clone(), offset, length: 0, sparse }),
            Bind::Screenshot => Some(Transfer::screenshot("test")),
        };
        let mut stream = match &transfer {
            None => sim.new_stream(flags).unwrap(),
            Some(transfer) => match sim.open(flags, transfer) {
                Ok(stream) => stream,
                Err(error) => {
                    // Binds the simulator refuses: the wrong profile, a missing domain, a sparse
                    // download past the end (a guard).
                    let past_end = matches!(bind, Bind::Download { sparse: true, offset } if offset > layout.size());
                    prop_assert!(
                        matches!(error.kind(), ErrorKind::NotSupported | ErrorKind::NotFound)
                            || (past_end && error.kind() == ErrorKind::InvalidArgument),
                        "{error}"
                    );
                    return Ok(());
                }
            },
        };
        for op in &ops {
            let before = stream.state();
            let result = call(stream.as_mut(), &sim, op);
            let after = stream.state();
            match before {
                StreamState::New => {
                    if !matches!(op, Op::Abort | Op::RunOnce) {
                        prop_assert_eq!(result.as_ref().err().map(|e| e.kind()), Some(ErrorKind::NotSupported), "{:?} on New", op);
                    }
                    prop_assert_eq!(after, StreamState::New);
                }
                closed if closed.is_closed() => {
                    // Closed, but libvirt's checks that ignore the state answer first: flags,
                    // sparseness, a driver's missing call (FINDINGS.md Q17).
                    let kind = result.as_ref().err().map(|e| e.kind());
                    match op {
                        Op::RunOnce => {}
                        Op::SendHole(..) | Op::RecvHole(_) | Op::Recv(_, 1..) => prop_assert!(
                            matches!(kind, Some(ErrorKind::Closed | ErrorKind::InvalidOperation | ErrorKind::InvalidArgument | ErrorKind::NotSupported)),
                            "{:?} when closed: {:?}", op, kind
                        ),
                        _ => prop_assert_eq!(kind, Some(ErrorKind::Closed), "{:?} when closed", op),
                    }
                    prop_assert_eq!(after, before);
                }
                StreamState::Active(binding) => {
                    if result.is_err() && !matches!(op, Op::Finish) {
                        prop_assert_eq!(after, before, "a failed {:?} changed the state", op);
                    }
                    if let (Op::Recv(n, flags), Ok(Some(outcome))) = (op, &result) {
                        match outcome {
                            Recv::Data(got) => prop_assert!(*got <= *n && (*got > 0 || *n == 0)),
                            Recv::Hole => prop_assert!(binding.sparse && flags & 1 == 1),
                            Recv::WouldBlock => prop_assert!(nonblock),
                            Recv::Eof => prop_assert!(*n > 0),
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
    }
}
