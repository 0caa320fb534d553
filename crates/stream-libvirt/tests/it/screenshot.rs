//! The test domain's screenshot on real libvirt, in-process (a local fdstream) and through the
//! private daemon (`test+unix:///default`, a remote stream): its MIME type, screen and flags,
//! the two receive calls, error levels, and the simulator's profiles beside each
//! (fixtures/libvirt-9.0/FINDINGS.md Q20–Q24).

use stream_conformance::scenario::content_digest;
use stream_core::libvirt_errors::{self, Call};
use stream_core::{
    Backend, Capabilities, ErrorLevel, Recv, RecvFlags, Stream, StreamFlags, StreamKind, Transfer,
};
use stream_libvirt::LibvirtBackend;
use stream_sim::{Profile, SimBackend, TEST_SCREENSHOT};
use virt::sys;

use crate::support;

fn test_driver() -> LibvirtBackend {
    LibvirtBackend::test_driver().unwrap_or_else(|error| {
        panic!("cannot open test:///default ({error}); run `cargo xtask setup` to install libvirt")
    })
}

/// The test driver on the shared private daemon.
fn test_daemon() -> LibvirtBackend {
    let uri = stream_libvirt::daemon::test_driver_uri(&support::daemon_uri())
        .unwrap_or_else(|error| panic!("{error}"));
    LibvirtBackend::connect(&uri).unwrap_or_else(|error| panic!("cannot connect to {uri}: {error}"))
}

fn screenshot(screen: u32, flags: u32) -> Transfer {
    Transfer::Screenshot {
        domain: "test".into(),
        screen,
        flags,
    }
}

/// Receive until end of stream in `buffer`-byte reads: the bytes and each read's count.
fn drain(stream: &mut dyn Stream, buffer: usize) -> (Vec<u8>, Vec<usize>) {
    let (mut bytes, mut counts) = (Vec::new(), Vec::new());
    let mut buf = vec![0; buffer];
    loop {
        match stream.recv(&mut buf, RecvFlags::empty()).expect("recv") {
            Recv::Data(n) => {
                bytes.extend_from_slice(&buf[..n]);
                counts.push(n);
            }
            Recv::Eof => return (bytes, counts),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn the_daemon_serves_the_test_driver_as_remote_streams() {
    let backend = test_daemon();
    assert_eq!(backend.capabilities(), Capabilities::remote_screenshot());
    let mut stream = backend
        .open(StreamFlags::empty(), &screenshot(0, 0))
        .expect("screenshot through the daemon");
    assert_eq!(stream.mime_type(), Some("image/png"));
    // q22: a remote stream takes RecvFlags, and refuses holes as a remote stream does.
    assert_eq!(
        stream.recv_flags(&mut [0; 100], RecvFlags::empty()),
        Ok(Recv::Data(100))
    );
    assert_eq!(
        stream.recv_hole(0),
        Err(libvirt_errors::holes_not_supported())
    );
    let (bytes, counts) = drain(stream.as_mut(), 4096);
    assert_eq!(bytes.len() + 100, 33443);
    assert_eq!(counts.len(), 9, "{counts:?}");
    stream.finish().expect("finish");
    assert_eq!(
        stream.recv(&mut [0; 10], RecvFlags::empty()),
        Err(libvirt_errors::stream_closed())
    );
}

#[test]
fn screenshot_flags_and_screens_reach_libvirt() {
    for backend in [test_driver(), test_daemon()] {
        let kind = backend.capabilities().kind;
        for flags in [1, 2, 0x80] {
            let error = backend
                .open(StreamFlags::empty(), &screenshot(0, flags))
                .err()
                .unwrap_or_else(|| panic!("{kind:?}: flags {flags:#x} bound"));
            // Equality compares the level too: libvirt's is VIR_ERR_ERROR (q20, q22, q23).
            assert_eq!(error, libvirt_errors::screenshot_flags(flags), "{kind:?}");
            assert_eq!(error.level(), Some(ErrorLevel::Error));
        }
        for screen in [1, u32::MAX] {
            let mut stream = backend
                .open(StreamFlags::empty(), &screenshot(screen, 0))
                .unwrap_or_else(|error| panic!("{kind:?} screen {screen}: {error}"));
            assert_eq!(stream.mime_type(), Some("image/png"));
            assert_eq!(drain(stream.as_mut(), 1 << 20).1, [33443]);
        }
        let missing = backend
            .open(StreamFlags::empty(), &Transfer::screenshot("nope"))
            .err()
            .expect("no such domain");
        assert_eq!(missing, libvirt_errors::no_domain(), "{kind:?}");
    }
}

#[test]
fn the_simulators_profiles_screenshot_as_libvirt_does() {
    for (real, sim) in [
        (test_driver(), SimBackend::new(Profile::Local)),
        (test_daemon(), SimBackend::new(Profile::Remote)),
    ] {
        let kind = real.capabilities().kind;
        for transfer in [
            screenshot(0, 1),
            screenshot(0, 0x40),
            Transfer::screenshot("nope"),
        ] {
            assert_eq!(
                real.open(StreamFlags::empty(), &transfer).err(),
                sim.open(StreamFlags::empty(), &transfer).err(),
                "{kind:?} {transfer:?}"
            );
        }
        let mut streams = [&real as &dyn Backend, &sim].map(|backend| {
            backend
                .open(StreamFlags::empty(), &screenshot(0, 0))
                .expect("screenshot")
        });
        let [a, b] = &mut streams;
        assert_eq!(a.mime_type(), b.mime_type(), "{kind:?}");
        for flags in [RecvFlags::empty(), RecvFlags::STOP_AT_HOLE] {
            assert_eq!(
                a.recv_flags(&mut [0; 100], flags),
                b.recv_flags(&mut [0; 100], flags),
                "{kind:?} recv_flags({flags:?})"
            );
        }
        assert_eq!(a.recv_hole(0), b.recv_hole(0), "{kind:?} recv_hole");
        let (real_bytes, real_counts) = drain(a.as_mut(), 4096);
        let (sim_bytes, sim_counts) = drain(b.as_mut(), 4096);
        assert_eq!(real_counts, sim_counts, "{kind:?}");
        // The simulator ships libvirt 9.0's file; a Debian build of libvirt stamps its own date
        // into the PNG, which the digest leaves out (q24).
        assert_eq!(
            content_digest(&real_bytes),
            content_digest(&sim_bytes),
            "{kind:?}"
        );
        assert_eq!(a.finish(), b.finish());
    }
}

/// What the test driver streams is the file libvirt installed; it is the simulator's image
/// but for the build dates (the same bytes on libvirt 9.0.0-4+deb12u2, not on 11.3, q24).
#[test]
fn the_installed_screenshot_is_the_simulators_image_undated() {
    let path = "/usr/share/libvirt/test-screenshot.png";
    let installed = std::fs::read(path).unwrap_or_else(|error| {
        panic!("{path}: {error}; run `cargo xtask setup` (Debian package libvirt0 ships it)")
    });
    let mut stream = test_driver()
        .open(StreamFlags::empty(), &Transfer::screenshot("test"))
        .expect("screenshot");
    assert_eq!(drain(stream.as_mut(), 1 << 20).0, installed);
    assert_eq!(installed.len(), TEST_SCREENSHOT.len());
    assert_eq!(content_digest(&installed), content_digest(TEST_SCREENSHOT));
}

/// q21, raw: on a local fdstream `virStreamRecvFlags(st, buf, n, 0)` fails "not supported"
/// while `virStreamRecv` reads; `recv_flags` and `recv` make those two calls.
#[test]
fn recv_flags_with_no_flags_is_not_recv_on_a_local_stream() {
    let connection = virt::connect::Connect::open(Some("test:///default")).expect("test driver");
    let mut buf = [0u8; 100];
    // SAFETY: live connection, domain and stream, each released once; `buf` outlives the calls.
    let (flagged, flagged_error, plain) = unsafe {
        let stream = sys::virStreamNew(connection.as_ptr(), 0);
        let domain = sys::virDomainLookupByName(connection.as_ptr(), c"test".as_ptr());
        let mime = sys::virDomainScreenshot(domain, stream, 0, 0);
        assert!(!mime.is_null(), "screenshot");
        libc::free(mime.cast());
        let flagged = sys::virStreamRecvFlags(stream, buf.as_mut_ptr().cast(), buf.len(), 0);
        let flagged_error = virt::error::Error::last_error();
        let plain = sys::virStreamRecv(stream, buf.as_mut_ptr().cast(), buf.len());
        sys::virStreamAbort(stream);
        sys::virStreamFree(stream);
        sys::virDomainFree(domain);
        (flagged, flagged_error, plain)
    };
    assert_eq!((flagged, plain), (-1, 100));
    assert_eq!(
        flagged_error.message(),
        "this function is not supported by the connection driver: virStreamRecvFlags"
    );
    let backend = test_driver();
    let mut stream = backend
        .open(StreamFlags::empty(), &Transfer::screenshot("test"))
        .expect("screenshot");
    assert_eq!(backend.capabilities().kind, StreamKind::Local);
    assert_eq!(
        stream.recv_flags(&mut buf, RecvFlags::empty()),
        Err(libvirt_errors::not_supported(Call::RecvFlags))
    );
    assert_eq!(
        stream.recv(&mut buf, RecvFlags::empty()),
        Ok(Recv::Data(100))
    );
    assert_eq!(buf[..8], TEST_SCREENSHOT[..8], "the PNG signature");
}
