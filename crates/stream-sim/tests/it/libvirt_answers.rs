//! Where raw libvirt 9.0 answers a misuse itself (measured: fixtures/libvirt-9.0/FINDINGS.md
//! Q17), the simulator answers as it does: its error, or its value, and what the stream does next.

use stream_core::libvirt_errors::{self, guard};
use stream_core::{
    Backend, Layout, Recv, RecvFlags, Sent, Stream, StreamFlags, Transfer, VolumeId,
};
use stream_sim::{Profile, SimBackend};

fn screenshot(flags: StreamFlags) -> Box<dyn Stream> {
    SimBackend::new(Profile::Local)
        .open(flags, &Transfer::screenshot("test"))
        .unwrap()
}

/// Drain with a 64 KiB buffer, through -2, to end of stream; the byte count.
fn drain(stream: &mut dyn Stream) -> usize {
    let (mut total, mut buf) = (0, vec![0; 65536]);
    loop {
        match stream.recv(&mut buf, RecvFlags::empty()).unwrap() {
            Recv::Data(n) => total += n,
            Recv::WouldBlock => {}
            Recv::Eof => return total,
            Recv::Hole => unreachable!("no STOP_AT_HOLE"),
        }
    }
}

/// Q17 D (issue 11 item 1).
#[test]
fn a_drained_nonblock_screenshot_is_not_open_any_more() {
    let mut stream = screenshot(StreamFlags::NONBLOCK);
    assert_eq!(drain(stream.as_mut()), 33443);
    for _ in 0..3 {
        assert_eq!(
            stream
                .recv(&mut [0; 65536], RecvFlags::empty())
                .unwrap_err(),
            libvirt_errors::stream_not_open_bad_fd()
        );
    }
    assert_eq!(
        stream.recv(&mut [], RecvFlags::empty()).unwrap(),
        Recv::Data(0)
    );
    assert_eq!(
        stream.send(b"x").unwrap_err(),
        libvirt_errors::cannot_write_bad_fd()
    );
    stream.finish().unwrap();
}

#[test]
fn a_drained_blocking_screenshot_keeps_returning_end_of_stream() {
    let mut stream = screenshot(StreamFlags::empty());
    assert_eq!(drain(stream.as_mut()), 33443);
    for _ in 0..3 {
        assert_eq!(
            stream.recv(&mut [0; 64], RecvFlags::empty()).unwrap(),
            Recv::Eof
        );
    }
    stream.finish().unwrap();
}

/// Q17 B (issue 11 item 4): a blocking screenshot refuses writes itself and stays whole.
#[test]
fn a_screenshot_refuses_sends_with_libvirts_error() {
    let mut stream = screenshot(StreamFlags::empty());
    for data in [&b"x"[..], &[]] {
        assert_eq!(
            stream.send(data).unwrap_err(),
            libvirt_errors::cannot_write_bad_fd()
        );
    }
    assert_eq!(
        stream.send_hole(10, 1).unwrap_err(),
        libvirt_errors::fdstream_unsupported_flags("virFDStreamSendHole", 1)
    );
    assert_eq!(
        stream.send_hole(0, 0).unwrap_err(),
        libvirt_errors::fdstream_hole_length()
    );
    // Raw: "unable to truncate", after skipping 10 bytes of the screenshot: refused here.
    assert_eq!(
        stream.send_hole(10, 0).unwrap_err(),
        guard::send_on_download("send_hole")
    );
    assert_eq!(drain(stream.as_mut()), 33443);
    stream.finish().unwrap();
}

/// Q17 B: a NONBLOCK screenshot would take the bytes (and give them back to `recv`) until its
/// end; from then on it refuses them as a blocking one does.
#[test]
fn a_nonblock_screenshot_refuses_sends_with_the_guard_until_its_end() {
    let mut stream = screenshot(StreamFlags::NONBLOCK);
    assert_eq!(
        stream.send(b"x").unwrap_err(),
        guard::send_on_download("send")
    );
    assert_eq!(
        stream.send(&[]).unwrap_err(),
        guard::send_on_download("send")
    );
    assert_eq!(drain(stream.as_mut()), 33443);
    assert_eq!(
        stream.send(b"x").unwrap_err(),
        libvirt_errors::cannot_write_bad_fd()
    );
    stream.finish().unwrap();
}

/// Q17 B: a remote non-sparse download refuses a hole with libvirt's own error and goes on.
#[test]
fn a_non_sparse_remote_download_refuses_holes_with_libvirts_error() {
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "v");
    sim.create_volume(&volume, &Layout::parse("D8K").unwrap())
        .unwrap();
    let mut stream = sim
        .open(StreamFlags::empty(), &Transfer::download(volume, false))
        .unwrap();
    for flags in [0, 1] {
        assert_eq!(
            stream.send_hole(4096, flags).unwrap_err(),
            libvirt_errors::skipping_not_supported()
        );
    }
    assert_eq!(drain(stream.as_mut()), 8192);
    stream.finish().unwrap();
}

/// Q17 C (issue 11 item 6): a NONBLOCK recv on an upload returns -2 and changes nothing.
#[test]
fn nonblock_recv_on_an_upload_would_block() {
    for sparse in [false, true] {
        let sim = SimBackend::new(Profile::Remote);
        let volume = VolumeId::new("default", "v");
        sim.create_volume(&volume, &Layout::parse("H8K").unwrap())
            .unwrap();
        let mut stream = sim
            .open(
                StreamFlags::NONBLOCK,
                &Transfer::upload(volume.clone(), sparse),
            )
            .unwrap();
        assert_eq!(stream.send(&[1; 10]).unwrap(), Sent::Bytes(10));
        for _ in 0..100 {
            assert_eq!(
                stream.recv(&mut [0; 10], RecvFlags::empty()).unwrap(),
                Recv::WouldBlock
            );
        }
        assert_eq!(
            stream.recv(&mut [0; 10], RecvFlags::STOP_AT_HOLE).unwrap(),
            Recv::WouldBlock
        );
        assert_eq!(stream.send(&[2; 10]).unwrap(), Sent::Bytes(10));
        stream.finish().unwrap();
        let mut bytes = [0; 20];
        sim.read_volume(&volume, 0, &mut bytes).unwrap();
        assert_eq!(bytes[..10], [1; 10]);
        assert_eq!(bytes[10..], [2; 10]);
    }
}

mod wipe {
    //! `virStorageVolWipePattern` as libvirt 9.0's directory pool answered it (measured with
    //! python3-libvirt on the private daemon, session 5): zeroing a sparse file leaves it all
    //! hole, zeroing a full one leaves it allocated and all zero; flags, algorithms past the last
    //! one, TRIM and the scrub algorithms are refused with these errors.

    use stream_core::{Backend, Layout, VolumeId};
    use stream_sim::{Profile, SimBackend, WIPE_ZERO};

    fn sim_with(notation: &str) -> (SimBackend, VolumeId) {
        let sim = SimBackend::new(Profile::Remote);
        let volume = VolumeId::new("default", "w1");
        sim.create_volume(&volume, &Layout::parse(notation).unwrap())
            .unwrap();
        (sim, volume)
    }

    #[test]
    fn zeroing_a_sparse_volume_frees_it_and_a_full_one_stays_allocated() {
        let (sim, volume) = sim_with("D8K H1016K");
        sim.wipe_volume(&volume, WIPE_ZERO, 0).unwrap();
        assert_eq!(sim.volume_layout(&volume).unwrap().to_string(), "H1M");
        let (sim, volume) = sim_with("D1M");
        sim.wipe_volume(&volume, WIPE_ZERO, 0).unwrap();
        assert_eq!(
            sim.volume_layout(&volume).unwrap().allocated_bytes(),
            1 << 20
        );
        let mut buf = vec![1; 4096];
        sim.read_volume(&volume, 0, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0));
    }

    #[test]
    fn refusals_are_libvirts_code_domain_and_message() {
        let (sim, volume) = sim_with("D4K");
        for (algorithm, flags, code, domain, message) in [
            (
                0,
                1,
                8,
                18,
                "unsupported flags (0x1) in function storageVolWipePattern",
            ),
            (
                1,
                0,
                38,
                0,
                "Cannot find 'scrub' in path: No such file or directory",
            ),
            (
                9,
                0,
                74,
                18,
                "argument unsupported: 'trim' algorithm not supported",
            ),
            (
                99,
                0,
                8,
                18,
                "invalid argument: wiping algorithm 99 not supported",
            ),
        ] {
            let error = sim.wipe_volume(&volume, algorithm, flags).unwrap_err();
            let libvirt = error.libvirt_code().unwrap();
            assert_eq!((libvirt.code, libvirt.domain), (code, domain), "{error}");
            assert_eq!(error.message(), message);
        }
        assert_eq!(sim.volume_layout(&volume).unwrap().to_string(), "D4K");
    }

    #[test]
    fn the_backend_empties_only_a_sparse_volume() {
        let (sim, volume) = sim_with("D8K H8K");
        assert!(sim.empty_volume(&volume).unwrap());
        assert_eq!(sim.volume_layout(&volume).unwrap().to_string(), "H16K");
        let (sim, volume) = sim_with("D16K");
        assert!(!sim.empty_volume(&volume).unwrap());
        assert_eq!(sim.volume_layout(&volume).unwrap().to_string(), "D16K");
    }
}
