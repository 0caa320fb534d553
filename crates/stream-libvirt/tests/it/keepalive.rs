//! An idle connection outlives the daemon's keepalive (5 s × 5 pings by default): the event
//! loop answers pings while no blocking stream needs it parked.

use std::time::Duration;

use stream_core::{Backend, Recv, RecvFlags, StreamFlags, Transfer};
use stream_libvirt::LibvirtBackend;

use crate::support;

#[test]
fn idle_connection_survives_the_keepalive_timeout() {
    let uri = support::daemon_uri();
    let volume = support::volume(&uri, "D4K");
    let backend = LibvirtBackend::connect(&uri).expect("connect");
    std::thread::sleep(Duration::from_secs(40));
    let mut stream = backend
        .open(StreamFlags::empty(), &Transfer::download(volume, false))
        .expect("open after idling");
    assert_eq!(
        stream
            .recv(&mut [0; 8192], RecvFlags::empty())
            .expect("recv"),
        Recv::Data(4096)
    );
    stream.finish().expect("finish");
}
