//! proptest strategies for whole scenarios: random layouts, bindings and operation sequences
//! (bad operations included), for differential tests between backends.

use proptest::prelude::*;
use stream_core::{EventSet, Layout, StreamKind};

use super::format::{Op, Open, Scenario, Setup, Step};

/// Layouts of up to a few MiB, aligned to `block` bytes (4096 against a real daemon, whose
/// filesystem reports whole blocks; 1 for the byte-exact simulator alone).
pub fn layouts(block: u64) -> impl Strategy<Value = Layout> {
    let segment = (
        0u8..3,
        1u64..64,
        prop_oneof![4 => Just(1u64), 1 => Just(64u64)],
    );
    proptest::collection::vec(segment, 0..7).prop_map(move |segments| {
        let tokens: Vec<String> = segments
            .iter()
            .map(|(kind, blocks, scale)| {
                format!(
                    "{}{}",
                    ["D", "H", "Z"][*kind as usize],
                    blocks * scale * block
                )
            })
            .collect();
        let notation = if tokens.is_empty() {
            "-".to_string()
        } else {
            tokens.join(" ")
        };
        Layout::parse(&notation).expect("generated notation is valid")
    })
}

fn buffer() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        Just(100),
        Just(4096),
        Just(65536),
        Just(262120),
        Just(262144),
        Just(1 << 20)
    ]
}

fn download_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (buffer(), any::<bool>()).prop_map(|(len, stop)| Op::Recv { len, flags: u32::from(stop) }),
        2 => (buffer(), any::<bool>()).prop_map(|(len, stop)| Op::RecvFlags { len, flags: u32::from(stop) }),
        2 => (buffer(), any::<bool>(), any::<bool>())
            .prop_map(|(len, stop_at_hole, digest)| Op::Drain { len, stop_at_hole, digest }),
        3 => prop_oneof![4 => Just(0u32), 1 => Just(1u32)].prop_map(|flags| Op::RecvHole { flags }),
        1 => Just(Op::Recv { len: 16, flags: 2 }),
        1 => Just(Op::Send { len: 4, byte: 1 }),
        1 => Just(Op::Finish),
        1 => Just(Op::Abort),
    ]
}

fn upload_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop_oneof![Just(1usize), Just(10), Just(4096), Just(70_000), Just(262_144)], 1u8..255)
            .prop_map(|(len, byte)| Op::Send { len, byte }),
        4 => prop_oneof![Just(4096i64), Just(100), Just(1 << 20), Just(0), Just(-5)].prop_map(|len| Op::SendHole { len, flags: 0 }),
        1 => Just(Op::SendHole { len: 4096, flags: 1 }),
        1 => Just(Op::Send { len: 0, byte: 0 }),
        1 => Just(Op::Recv { len: 64, flags: 0 }),
        1 => Just(Op::RecvFlags { len: 64, flags: 0 }),
        1 => Just(Op::Finish),
        1 => Just(Op::Abort),
    ]
}

/// Callback calls, placed after the data calls: while a callback is registered the event loop
/// runs and a blocking `recv` on real libvirt may take several queued packets at once (timing),
/// which a step-by-step comparison cannot allow.
fn callback_ops() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        Just(Op::AddCallback(EventSet::READABLE)),
        Just(Op::UpdateCallback(EventSet::READABLE | EventSet::WRITABLE)),
        Just(Op::RemoveCallback),
    ];
    proptest::collection::vec(op, 0..4)
}

/// A remote-kind scenario over a volume of `layouts(block)`: a download or an upload (sparse or
/// not), then up to 12 operations, ending with `finish` and, for uploads not aborted, `volume`.
pub fn remote_scenarios(block: u64) -> impl Strategy<Value = Scenario> {
    let download = (
        layouts(block),
        any::<bool>(),
        proptest::collection::vec(download_op(), 0..12),
        callback_ops(),
    )
        .prop_map(|(layout, sparse, mut ops, callbacks)| {
            ops.extend(callbacks);
            (
                layout,
                Open::Download {
                    sparse,
                    offset: 0,
                    length: 0,
                },
                ops,
            )
        });
    let upload = (
        layouts(block),
        any::<bool>(),
        proptest::collection::vec(upload_op(), 0..12),
    )
        .prop_map(|(layout, sparse, ops)| {
            (
                layout,
                Open::Upload {
                    sparse,
                    offset: 0,
                    length: 0,
                },
                ops,
            )
        });
    prop_oneof![download, upload].prop_map(|(layout, open, mut ops)| {
        // What an aborted upload leaves is timing on real libvirt (the daemon may or may not
        // have written what was sent: seen both), so only a finished upload's volume is compared.
        let aborted = ops.contains(&Op::Abort);
        ops.push(Op::Finish);
        if matches!(open, Open::Upload { .. }) && !aborted {
            ops.push(Op::Volume);
        }
        let steps = ops
            .into_iter()
            .enumerate()
            .map(|(index, op)| Step {
                line: index + 1,
                text: op.to_string(),
                op,
                expected: None,
            })
            .collect();
        Scenario {
            comments: vec!["generated".into()],
            setup: Setup {
                kind: StreamKind::Remote,
                volume: Some(layout),
                nonblock: false,
                open,
            },
            steps,
        }
    })
}
