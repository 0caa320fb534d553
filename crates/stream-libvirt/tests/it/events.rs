//! Event callbacks on real libvirt, through this crate's own boxed state: they fire on the event
//! loop thread, NONBLOCK streams get their data, and removal stops them.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use stream_core::{Backend, EventSet, Recv, RecvFlags, StreamFlags, Transfer};
use stream_libvirt::LibvirtBackend;

use crate::support;

#[test]
fn nonblock_download_is_driven_by_its_callback() {
    let uri = support::daemon_uri();
    let volume = support::volume(&uri, "D1M D10");
    let backend = LibvirtBackend::connect(&uri).expect("daemon");
    let mut stream = backend
        .open(StreamFlags::NONBLOCK, &Transfer::download(volume, false))
        .expect("download");
    let (tx, rx) = mpsc::channel();
    stream
        .add_callback(
            EventSet::READABLE,
            Box::new(move |events| {
                let _ = tx.send(events);
            }),
        )
        .expect("add");
    let (mut total, mut would_block, start) = (0usize, 0usize, Instant::now());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let events = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("a READABLE event within 5 s");
        assert!(events.contains(EventSet::READABLE), "{events}");
        match stream.recv(&mut buf, RecvFlags::empty()).expect("recv") {
            Recv::Data(n) => total += n,
            Recv::WouldBlock => would_block += 1,
            Recv::Eof => break,
            Recv::Hole => panic!("no holes without STOP_AT_HOLE"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "download did not end"
        );
    }
    assert_eq!(
        total,
        (1 << 20) + 10,
        "every byte arrived ({would_block} would-blocks on the way)"
    );
    stream.remove_callback().expect("remove");
    stream.finish().expect("finish");
}
