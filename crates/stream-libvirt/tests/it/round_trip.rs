//! A 1 GiB volume with 10 % data through the storage daemon: uploaded as data and holes,
//! downloaded with STOP_AT_HOLE: same bytes, same hole map, allocation about the data size.

use stream_core::{Backend, Layout, Recv, RecvFlags, StreamFlags, Transfer};
use stream_libvirt::LibvirtBackend;

use crate::support;

/// 1 GiB: 102 runs of 1 MiB data followed by 9 MiB of hole, then a 4 MiB trailing hole.
pub fn tenth_data_layout() -> Layout {
    let mut notation = "D1M H9M ".repeat(102);
    notation.push_str("H4M");
    Layout::parse(&notation).expect("valid notation")
}

#[test]
fn one_gib_ten_percent_sparse_round_trip() {
    let uri = support::daemon_uri();
    let layout = tenth_data_layout();
    assert_eq!(layout.size(), 1 << 30);
    let volume = support::volume(&uri, &layout.to_string());
    let backend = LibvirtBackend::connect(&uri).expect("daemon");

    let mut stream = backend
        .open(
            StreamFlags::empty(),
            &Transfer::download(volume.clone(), true),
        )
        .expect("download");
    let (mut at, mut buf, mut expected) = (0u64, vec![0; 1 << 20], vec![0; 1 << 20]);
    let mut data_runs = Vec::new();
    loop {
        match stream
            .recv(&mut buf, RecvFlags::STOP_AT_HOLE)
            .expect("recv")
        {
            Recv::Data(n) => {
                layout.read_at(at, &mut expected[..n]);
                assert!(buf[..n] == expected[..n], "bytes differ at {at}");
                data_runs.push((at, n as u64));
                at += n as u64;
            }
            Recv::Hole => at += stream.recv_hole(0).expect("recv_hole") as u64,
            Recv::Eof => break,
            Recv::WouldBlock => panic!("blocking stream returned would-block"),
        }
    }
    stream.finish().expect("finish");
    assert_eq!(at, layout.size(), "size");
    let received = Layout::new(
        at,
        data_runs
            .iter()
            .map(|&(offset, length)| stream_core::Extent {
                offset,
                length,
                fill: stream_core::Fill::Data,
            }),
    )
    .expect("received runs are ordered");
    assert_eq!(
        received.to_string(),
        layout.block_aligned(4096).to_string(),
        "hole map"
    );

    let allocation = support::allocation(&uri, &volume);
    let data = layout.allocated_bytes();
    assert!(
        allocation >= data && allocation <= data + data / 100,
        "allocation {allocation} should be about the data size {data}"
    );
}
