//! The stepped event loop: which events fire, when, and how often, per stream kind.

use std::sync::{Arc, Mutex};

use stream_core::{
    Backend, EventSet, Layout, Recv, RecvFlags, Stream, StreamFlags, Transfer, VolumeId,
};
use stream_sim::{Profile, SimBackend};

type Log = Arc<Mutex<Vec<EventSet>>>;

fn watch(stream: &mut dyn Stream, events: EventSet) -> Log {
    let log: Log = Arc::default();
    let sink = log.clone();
    stream
        .add_callback(
            events,
            Box::new(move |fired| sink.lock().unwrap().push(fired)),
        )
        .unwrap();
    log
}

fn remote_download(sim: &SimBackend, notation: &str) -> Box<dyn Stream> {
    let volume = VolumeId::new("default", "v");
    sim.create_volume(&volume, &Layout::parse(notation).unwrap())
        .unwrap();
    sim.open(StreamFlags::NONBLOCK, &Transfer::download(volume, false))
        .unwrap()
}

#[test]
fn remote_readable_is_level_triggered_and_stays_after_end_of_stream() {
    let sim = SimBackend::new(Profile::Remote);
    let mut stream = remote_download(&sim, "D10");
    let log = watch(stream.as_mut(), EventSet::READABLE);
    assert_eq!(sim.run_once(), 1);
    assert_eq!(
        stream.recv(&mut [0; 64], RecvFlags::empty()).unwrap(),
        Recv::Data(10)
    );
    assert_eq!(
        stream.recv(&mut [0; 64], RecvFlags::empty()).unwrap(),
        Recv::Eof
    );
    for _ in 0..3 {
        sim.run_once();
    }
    assert_eq!(
        *log.lock().unwrap(),
        vec![EventSet::READABLE; 4],
        "remote streams never report HANGUP"
    );
}

#[test]
fn remote_downloads_report_writable_when_asked() {
    let sim = SimBackend::new(Profile::Remote);
    let mut stream = remote_download(&sim, "D10");
    let log = watch(stream.as_mut(), EventSet::READABLE | EventSet::WRITABLE);
    sim.run_once();
    assert_eq!(
        *log.lock().unwrap(),
        vec![EventSet::READABLE | EventSet::WRITABLE]
    );
}

#[test]
fn remote_send_over_the_rpc_limit_is_libvirts_error_and_harmless() {
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "big");
    sim.create_volume(&volume, &Layout::parse("-").unwrap())
        .unwrap();
    let upload = Transfer::upload(volume, false);
    let mut stream = sim.open(StreamFlags::empty(), &upload).unwrap();
    let error = stream.send(&vec![1; 40 << 20]).unwrap_err();
    // Measured (q2): 40 MiB.
    assert_eq!(
        error.message(),
        "Stream data too long to send (41943040 bytes needed, 33554408 bytes available)"
    );
    assert_eq!(stream.send(&[1; 16]).unwrap().sentinel(), 16);
}

#[test]
fn local_nonblock_reports_hangup_at_end_of_stream() {
    let sim = SimBackend::new(Profile::Local);
    let mut stream = sim
        .open(StreamFlags::NONBLOCK, &Transfer::screenshot("test"))
        .unwrap();
    let log = watch(stream.as_mut(), EventSet::READABLE);
    sim.run_once();
    assert_eq!(
        stream
            .recv(&mut vec![0; 1 << 20], RecvFlags::empty())
            .unwrap(),
        Recv::Data(33443)
    );
    sim.run_once();
    assert_eq!(
        *log.lock().unwrap(),
        vec![EventSet::READABLE, EventSet::HANGUP]
    );
}

/// Q17 E (issue 11 item 2): libvirt removes the watch of a callback updated to no events, so
/// a drained NONBLOCK screenshot's HANGUP stops; updated back, it comes again.
#[test]
fn local_callback_updated_to_no_events_gets_no_hangup() {
    let sim = SimBackend::new(Profile::Local);
    let mut stream = sim
        .open(StreamFlags::NONBLOCK, &Transfer::screenshot("test"))
        .unwrap();
    let log = watch(stream.as_mut(), EventSet::READABLE);
    sim.run_once();
    let mut buf = vec![0; 1 << 20];
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()).unwrap(),
        Recv::Data(33443)
    );
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()).unwrap(),
        Recv::Eof
    );
    sim.run_once();
    stream.update_callback(EventSet::empty()).unwrap();
    for _ in 0..5 {
        assert_eq!(sim.run_once(), 0, "no events asked, none fire");
    }
    stream.update_callback(EventSet::READABLE).unwrap();
    sim.run_once();
    assert_eq!(
        *log.lock().unwrap(),
        vec![EventSet::READABLE, EventSet::HANGUP, EventSet::HANGUP]
    );
}

#[test]
fn finish_removes_the_callback() {
    let sim = SimBackend::new(Profile::Remote);
    let mut stream = remote_download(&sim, "D10");
    let log = watch(stream.as_mut(), EventSet::READABLE);
    stream.finish().unwrap();
    assert_eq!(sim.run_once(), 0);
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn local_abort_tells_the_callback_once_with_error() {
    let sim = SimBackend::new(Profile::Local);
    let mut stream = sim
        .open(StreamFlags::empty(), &Transfer::screenshot("test"))
        .unwrap();
    let log = watch(stream.as_mut(), EventSet::READABLE);
    stream.abort().unwrap();
    sim.run_once();
    assert_eq!(*log.lock().unwrap(), vec![EventSet::ERROR]);
}

#[test]
fn uploads_are_always_writable_and_unrequested_events_never_fire() {
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "u");
    sim.create_volume(&volume, &Layout::parse("-").unwrap())
        .unwrap();
    let mut stream = sim
        .open(StreamFlags::NONBLOCK, &Transfer::upload(volume, true))
        .unwrap();
    let log = watch(stream.as_mut(), EventSet::READABLE | EventSet::WRITABLE);
    sim.run_once();
    stream.update_callback(EventSet::READABLE).unwrap();
    sim.run_once();
    assert_eq!(*log.lock().unwrap(), vec![EventSet::WRITABLE]);
}

#[test]
fn dropping_an_active_stream_aborts_it_and_keeps_written_data() {
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "d");
    sim.create_volume(&volume, &Layout::parse("H4K").unwrap())
        .unwrap();
    let mut stream = sim
        .open(
            StreamFlags::empty(),
            &Transfer::upload(volume.clone(), false),
        )
        .unwrap();
    stream.send(b"kept").unwrap();
    drop(stream);
    let mut buf = [0; 4];
    sim.read_volume(&volume, 0, &mut buf).unwrap();
    assert_eq!(&buf, b"kept");
}
