//! NONBLOCK streams: `-2` follows the seeded schedule, and the bytes are the same as blocking.

use stream_conformance::Fixture;
use stream_core::{Backend, Layout, Recv, RecvFlags, StreamFlags, Transfer, VolumeId};
use stream_sim::{Profile, SimBackend, SimConfig, WouldBlock};

fn drain_counting(sim: &SimBackend, flags: StreamFlags, transfer: &Transfer) -> (Vec<u8>, usize) {
    let mut stream = sim.open(flags, transfer).unwrap();
    let (mut bytes, mut would_block) = (Vec::new(), 0);
    let mut buf = vec![0; 100_000];
    loop {
        match stream.recv(&mut buf, RecvFlags::empty()).unwrap() {
            Recv::Data(n) => bytes.extend_from_slice(&buf[..n]),
            Recv::WouldBlock => would_block += 1,
            Recv::Eof => return (bytes, would_block),
            Recv::Hole => unreachable!("no STOP_AT_HOLE"),
        }
    }
}

#[test]
fn would_block_follows_the_schedule_and_changes_no_byte() {
    for profile in [Profile::Remote, Profile::Local] {
        let config = SimConfig::new(profile).would_block(WouldBlock::Times(2));
        let sim = SimBackend::with_config(config);
        let transfer = match profile {
            Profile::Remote => {
                let volume = VolumeId::new("default", "v");
                sim.create_volume(&volume, &Layout::parse("D700K H4K D5").unwrap())
                    .unwrap();
                Transfer::download(volume, false)
            }
            Profile::Local => Transfer::screenshot("test"),
        };
        let (blocking, none) = drain_counting(&sim, StreamFlags::empty(), &transfer);
        let (nonblock, blocked) = drain_counting(&sim, StreamFlags::NONBLOCK, &transfer);
        assert_eq!(none, 0, "{profile:?}: blocking streams never return -2");
        assert!(
            blocked >= 2,
            "{profile:?}: schedule Times(2) gave {blocked} would-blocks"
        );
        assert_eq!(nonblock, blocking, "{profile:?}: same bytes either way");
    }
}

#[test]
fn seeded_schedules_are_reproducible() {
    let run = |seed| {
        let sim = SimBackend::with_config(SimConfig::new(Profile::Remote).would_block(
            WouldBlock::Seeded {
                seed,
                per_mille: 500,
            },
        ));
        let fixture = Fixture::new(&sim);
        let volume = fixture.volume("D2M").unwrap();
        drain_counting(
            &sim,
            StreamFlags::NONBLOCK,
            &Transfer::download(volume, false),
        )
        .1
    };
    assert_eq!(run(11), run(11));
    assert!(run(11) > 0);
}

#[test]
fn local_nonblock_reads_stop_at_256k_messages() {
    let sim = SimBackend::new(Profile::Local);
    let mut stream = sim
        .open(StreamFlags::NONBLOCK, &Transfer::screenshot("test"))
        .unwrap();
    let mut buf = vec![0; 1 << 20];
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()).unwrap(),
        Recv::Data(33443)
    );
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()).unwrap(),
        Recv::Eof
    );
}

#[test]
fn screenshot_of_an_unknown_domain_is_libvirts_error() {
    let sim = SimBackend::new(Profile::Local);
    let error = sim
        .open(
            StreamFlags::empty(),
            &Transfer::Screenshot {
                domain: "nope".into(),
                screen: 0,
                flags: 0,
            },
        )
        .err()
        .unwrap();
    // libvirt 9.0's test driver names no domain (measured).
    assert_eq!(error.message(), "Domain not found");
}
