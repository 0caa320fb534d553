//! Fault plans: would-block and short calls where planned, the far side's error at byte N (and
//! ever after), the connection dying at byte N; one plan per injected stream; bad plans refused.

use stream_core::libvirt_errors::daemon_gone;
use stream_core::{
    Backend, ErrorKind, EventSet, Layout, Recv, RecvFlags, Sent, Stream, StreamFlags, StreamState,
    Transfer, VolumeId,
};
use stream_sim::{FaultPlan, InjectedError, Profile, SimBackend};

fn sim_with(notation: &str) -> (SimBackend, VolumeId) {
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "v");
    sim.create_volume(&volume, &Layout::parse(notation).unwrap())
        .unwrap();
    (sim, volume)
}

fn io_error() -> InjectedError {
    InjectedError::new(
        ErrorKind::System,
        38,
        38,
        "cannot read from stream: Input/output error",
    )
}

/// Every result of `recv(len)` until the first error (included).
fn recv_until_error(stream: &mut dyn Stream, len: usize) -> (Vec<Recv>, stream_core::Error) {
    let mut buf = vec![0; len];
    let mut got = Vec::new();
    loop {
        match stream.recv(&mut buf, RecvFlags::empty()) {
            Ok(Recv::Eof) => panic!("end of stream before the fault: {got:?}"),
            Ok(recv) => got.push(recv),
            Err(error) => return (got, error),
        }
    }
}

#[test]
fn would_block_and_short_calls_come_where_planned_and_lose_no_byte() {
    let (sim, volume) = sim_with("D10K");
    sim.inject(
        FaultPlan::new()
            .would_block_at(1)
            .short_at(2, 100)
            .would_block_at(4),
    );
    let mut stream = sim
        .open(
            StreamFlags::NONBLOCK,
            &Transfer::download(volume.clone(), false),
        )
        .unwrap();
    let mut buf = vec![0; 4096];
    let mut got = Vec::new();
    let mut bytes = Vec::new();
    loop {
        let recv = stream.recv(&mut buf, RecvFlags::empty()).unwrap();
        got.push(recv);
        match recv {
            Recv::Data(n) => bytes.extend_from_slice(&buf[..n]),
            Recv::Eof => break,
            _ => {}
        }
    }
    assert_eq!(
        &got[..5],
        [
            Recv::WouldBlock,
            Recv::Data(100),
            Recv::Data(4096),
            Recv::WouldBlock,
            Recv::Data(4096)
        ]
    );
    let mut expected = vec![0; 10 * 1024];
    sim.read_volume(&volume, 0, &mut expected).unwrap();
    assert_eq!(bytes, expected);
}

#[test]
fn the_plan_is_for_the_next_stream_only() {
    let (sim, volume) = sim_with("D10K");
    sim.inject(FaultPlan::new().short_at(1, 1));
    let download = Transfer::download(volume, false);
    let mut buf = [0; 64];
    let mut first = sim.open(StreamFlags::empty(), &download).unwrap();
    assert_eq!(
        first.recv(&mut buf, RecvFlags::empty()).unwrap(),
        Recv::Data(1)
    );
    let mut second = sim.open(StreamFlags::empty(), &download).unwrap();
    assert_eq!(
        second.recv(&mut buf, RecvFlags::empty()).unwrap(),
        Recv::Data(64)
    );
}

#[test]
fn download_error_at_byte_n_comes_after_exactly_n_bytes_and_stays() {
    let (sim, volume) = sim_with("D1M");
    sim.inject(FaultPlan::new().error_at(300_000, io_error()));
    let mut stream = sim
        .open(StreamFlags::empty(), &Transfer::download(volume, false))
        .unwrap();
    let (got, error) = recv_until_error(stream.as_mut(), 262_144);
    let moved: usize = got
        .iter()
        .map(|recv| match recv {
            Recv::Data(n) => *n,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(moved, 300_000);
    let expected = io_error().to_error();
    assert_eq!(error, expected);
    // libvirt keeps a server error: every later call returns it, abort included.
    let mut buf = [0; 10];
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()),
        Err(expected.clone())
    );
    assert_eq!(stream.abort(), Err(expected));
    assert_eq!(stream.state(), StreamState::Aborted);
}

#[test]
fn upload_error_at_byte_n_lands_n_bytes_then_fails_the_next_call_and_finish() {
    let (sim, volume) = sim_with("H64K");
    sim.inject(FaultPlan::new().error_at(5000, io_error()));
    let mut stream = sim
        .open(
            StreamFlags::empty(),
            &Transfer::upload(volume.clone(), false),
        )
        .unwrap();
    // The send that crosses the point is accepted, as a real send is: the far side fails later.
    assert_eq!(stream.send(&[9; 4096]).unwrap(), Sent::Bytes(4096));
    assert_eq!(stream.send(&[9; 4096]).unwrap(), Sent::Bytes(4096));
    let expected = io_error().to_error();
    assert_eq!(stream.send(&[9; 4096]), Err(expected.clone()));
    assert_eq!(stream.finish(), Err(expected));
    assert_eq!(stream.state(), StreamState::FinishFailed);
    let mut landed = vec![0; 8192];
    sim.read_volume(&volume, 0, &mut landed).unwrap();
    assert!(landed[..5000].iter().all(|&b| b == 9));
    assert!(
        landed[5000..].iter().all(|&b| b == 0),
        "bytes past the error landed"
    );
}

#[test]
fn sparse_upload_error_counts_holes_as_bytes() {
    let (sim, volume) = sim_with("H64K");
    sim.inject(FaultPlan::new().error_at(8192, io_error()));
    let mut stream = sim
        .open(StreamFlags::empty(), &Transfer::upload(volume, true))
        .unwrap();
    stream.send_hole(8192, 0).unwrap();
    assert_eq!(stream.send(&[1; 10]), Err(io_error().to_error()));
}

#[test]
fn connection_dying_at_byte_n_fails_the_stream_and_the_backend() {
    let (sim, volume) = sim_with("D1M");
    sim.inject(FaultPlan::new().die_at(262_120));
    let mut stream = sim
        .open(
            StreamFlags::empty(),
            &Transfer::download(volume.clone(), false),
        )
        .unwrap();
    let (got, error) = recv_until_error(stream.as_mut(), 262_144);
    assert_eq!(got, [Recv::Data(262_120)]);
    // A blocking recv reads the socket itself: it is the one to see end of file (measured).
    assert_eq!(error, daemon_gone::end_of_file());
    assert!(!sim.is_alive());
    let mut buf = [0; 10];
    let closed = daemon_gone::socket_closed();
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()),
        Err(closed.clone())
    );
    // The callback calls never leave the client.
    stream
        .add_callback(EventSet::READABLE, Box::new(|_| {}))
        .unwrap();
    stream.remove_callback().unwrap();
    assert_eq!(stream.finish(), Err(closed.clone()));
    assert_eq!(sim.volume_layout(&volume).unwrap_err(), closed);
    // A new stream is made in the client; binding it needs the daemon.
    assert!(sim.new_stream(StreamFlags::empty()).is_ok());
    let Err(error) = sim.open(StreamFlags::empty(), &Transfer::download(volume, false)) else {
        panic!("bound a stream on a dead connection");
    };
    assert_eq!(error, closed);
}

#[test]
fn killing_the_connection_fails_every_stream_on_it() {
    let (sim, volume) = sim_with("D1M");
    let mut download = sim
        .open(
            StreamFlags::empty(),
            &Transfer::download(volume.clone(), false),
        )
        .unwrap();
    let mut upload = sim
        .open(StreamFlags::empty(), &Transfer::upload(volume, false))
        .unwrap();
    sim.kill_connection();
    // The first to notice is the send: after it, the client is closed for every stream.
    assert_eq!(upload.send(&[1; 10]), Err(daemon_gone::socket_closed()));
    let mut buf = [0; 10];
    assert_eq!(
        download.recv(&mut buf, RecvFlags::empty()),
        Err(daemon_gone::socket_closed())
    );
    assert_eq!(upload.abort(), Err(daemon_gone::socket_closed()));
}

#[test]
fn sparse_download_keeps_its_pending_hole_after_the_death() {
    let (sim, volume) = sim_with("D4K H1M D4K");
    let mut stream = sim
        .open(StreamFlags::empty(), &Transfer::download(volume, true))
        .unwrap();
    let mut buf = vec![0; 65536];
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE).unwrap(),
        Recv::Data(4096)
    );
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE).unwrap(),
        Recv::Hole
    );
    sim.kill_connection();
    // recv_hole answers from the client's own state (measured: returns 0 or the pending hole).
    assert_eq!(stream.recv_hole(0).unwrap(), 1 << 20);
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::STOP_AT_HOLE),
        Err(daemon_gone::end_of_file())
    );
}

#[test]
fn nonblock_download_after_the_death_fails_instead_of_blocking_forever() {
    let (sim, volume) = sim_with("D1M");
    let mut stream = sim
        .open(StreamFlags::NONBLOCK, &Transfer::download(volume, false))
        .unwrap();
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    stream
        .add_callback(
            EventSet::READABLE | EventSet::WRITABLE | EventSet::ERROR | EventSet::HANGUP,
            Box::new(move |events| seen.lock().unwrap().push(events)),
        )
        .unwrap();
    sim.kill_connection();
    for _ in 0..3 {
        sim.run_once();
    }
    // Real libvirt keeps firing WRITABLE and nothing else (measured), and its recv returns -2
    // forever: the backends tell the callback once (ERROR | HANGUP) and return the closed
    // socket's error instead.
    let hangup = EventSet::ERROR | EventSet::HANGUP;
    assert_eq!(
        *events.lock().unwrap(),
        [
            EventSet::WRITABLE | hangup,
            EventSet::WRITABLE,
            EventSet::WRITABLE
        ]
    );
    let mut buf = [0; 10];
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()),
        Err(daemon_gone::socket_closed())
    );
}

#[test]
fn plans_a_stream_cannot_follow_fail_the_open_and_name_the_rule() {
    let (sim, volume) = sim_with("D1M");
    sim.inject(FaultPlan::new().would_block_at(1));
    let Err(error) = sim.open(
        StreamFlags::empty(),
        &Transfer::download(volume.clone(), false),
    ) else {
        panic!("a would-block plan on a blocking stream was accepted");
    };
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(
        error.message().contains("needs a NONBLOCK stream"),
        "{error}"
    );
    // The refused plan is gone: the next stream runs clean.
    assert!(
        sim.open(StreamFlags::empty(), &Transfer::download(volume, false))
            .is_ok()
    );
    let local = SimBackend::new(Profile::Local);
    local.inject(FaultPlan::new().die_at(10));
    let Err(error) = local.open(StreamFlags::empty(), &Transfer::screenshot("test")) else {
        panic!("a death plan on a local stream was accepted");
    };
    assert!(error.message().contains("no daemon connection"), "{error}");
}

#[test]
fn what_the_client_already_received_comes_before_the_error() {
    let (sim, volume) = sim_with("D1M");
    let mut stream = sim
        .open(StreamFlags::empty(), &Transfer::download(volume, false))
        .unwrap();
    let mut buf = vec![0; 262_100];
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()).unwrap(),
        Recv::Data(262_100)
    );
    sim.kill_connection();
    // 20 bytes of the 262120-byte packet are still queued in the client.
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()).unwrap(),
        Recv::Data(20)
    );
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()),
        Err(daemon_gone::end_of_file())
    );
}

mod as_text {
    //! A plan written as text (`virtstream serve --faults FILE`) reads back as the same plan.

    use proptest::prelude::*;
    use stream_core::libvirt_errors;
    use stream_sim::{Fault, FaultPlan, InjectedError};

    fn fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            (1..u64::MAX).prop_map(|call| Fault::WouldBlockAt { call }),
            (1..u64::MAX, 1..usize::MAX).prop_map(|(call, max)| Fault::ShortAt { call, max }),
            any::<u64>().prop_map(|at| Fault::DieAt { at }),
            (any::<u64>(), any::<i32>(), any::<i32>(), "[ -~]{0,40}").prop_map(
                |(at, code, domain, message)| {
                    let kind = libvirt_errors::kind_of(code, domain, &message);
                    let error = InjectedError::new(kind, code, domain, message);
                    Fault::ErrorAt { at, error }
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn a_printed_plan_reads_back_as_itself(faults in prop::collection::vec(fault(), 0..6)) {
            let plan = faults.into_iter().fold(FaultPlan::new(), FaultPlan::with);
            let text = plan.to_string();
            prop_assert_eq!(text.parse::<FaultPlan>().unwrap(), plan, "{}", text);
        }
    }
}
