//! Each guard of the deviations table beside the raw libvirt behaviour it prevents: the raw
//! misuse runs in a child process (it crashes or hangs), the guarded call here.

use std::time::Duration;

use stream_core::{Backend, ErrorKind, EventSet, RecvFlags, Stream, StreamFlags, Transfer};
use stream_libvirt::LibvirtBackend;
use virt::connect::Connect;
use virt::sys;

use crate::raw::{Ending, in_child, run_in_child};
use crate::support;

/// Raw: a finished local screenshot stream, then `virStreamSendHole`: SIGSEGV.
#[test]
fn local_send_hole_after_finish_is_closed_not_a_crash() {
    if in_child() {
        let connection = Connect::open(Some("test:///default")).expect("test driver");
        // SAFETY: deliberately the raw misuse, in a child process.
        unsafe {
            let stream = sys::virStreamNew(connection.as_ptr(), 0);
            let domain = sys::virDomainLookupByName(connection.as_ptr(), c"test".as_ptr());
            sys::virDomainScreenshot(domain, stream, 0, 0);
            sys::virStreamFinish(stream);
            sys::virStreamSendHole(stream, 4096, 0);
        }
        std::process::exit(0);
    }
    let raw = run_in_child(
        "deviations::local_send_hole_after_finish_is_closed_not_a_crash",
        Duration::from_secs(20),
    );
    assert_eq!(
        raw,
        Ending::Signal(libc::SIGSEGV),
        "raw libvirt 9.0 crashes here"
    );
    let backend = LibvirtBackend::test_driver().expect("test driver");
    let mut stream = backend
        .open(StreamFlags::empty(), &Transfer::screenshot("test"))
        .expect("screenshot");
    stream.finish().expect("finish");
    assert_eq!(
        stream.send_hole(4096, 0).unwrap_err().kind(),
        ErrorKind::Closed
    );
}

/// Raw: a blocking `virStreamRecv` on an upload stream never returns.
#[test]
fn recv_on_upload_is_refused_not_a_hang() {
    let uri = support::daemon_uri();
    let volume = support::volume(&uri, "H4K");
    if in_child() {
        let connection = Connect::open(Some(&uri)).expect("daemon");
        let pool = connection
            .lookup_storage_pool_by_name(&volume.pool)
            .expect("pool");
        let vol = pool
            .lookup_storage_vol_by_name(&volume.name)
            .expect("volume");
        let mut buf = [0u8; 64];
        // SAFETY: deliberately the raw misuse, in a child process.
        unsafe {
            let stream = sys::virStreamNew(connection.as_ptr(), 0);
            sys::virStorageVolUpload(vol.as_ptr(), stream, 0, 0, 0);
            sys::virStreamRecv(stream, buf.as_mut_ptr().cast(), buf.len());
        }
        std::process::exit(0);
    }
    let raw = run_in_child(
        "deviations::recv_on_upload_is_refused_not_a_hang",
        Duration::from_secs(3),
    );
    assert_eq!(raw, Ending::Hung, "raw libvirt 9.0 hangs here");
    let backend = LibvirtBackend::connect(&uri).expect("daemon");
    let mut stream = backend
        .open(StreamFlags::empty(), &Transfer::upload(volume, false))
        .expect("upload");
    let error = stream.recv(&mut [0; 64], RecvFlags::empty()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidOperation);
    stream.abort().expect("abort");
}

/// Raw: a remote stream keeps its callback after `finish` (removing it afterwards succeeds);
/// through this crate the callback is gone and further callback calls are closed.
#[test]
fn finish_removes_the_callback_unlike_raw_remote_streams() {
    let uri = support::daemon_uri();
    let volume = support::volume(&uri, "D4K");
    let connection = Connect::open(Some(&uri)).expect("daemon");
    let pool = connection
        .lookup_storage_pool_by_name(&volume.pool)
        .expect("pool");
    let vol = pool
        .lookup_storage_vol_by_name(&volume.name)
        .expect("volume");
    unsafe extern "C" fn ignore(
        _: sys::virStreamPtr,
        _: std::os::raw::c_int,
        _: *mut std::os::raw::c_void,
    ) {
    }
    // SAFETY: valid pointers; the stream is freed at the end.
    let removed_after_finish = unsafe {
        let stream = sys::virStreamNew(connection.as_ptr(), 0);
        sys::virStorageVolDownload(vol.as_ptr(), stream, 0, 0, 0);
        sys::virStreamEventAddCallback(stream, 1, Some(ignore), std::ptr::null_mut(), None);
        sys::virStreamFinish(stream);
        let removed = sys::virStreamEventRemoveCallback(stream);
        sys::virStreamFree(stream);
        removed
    };
    assert_eq!(
        removed_after_finish, 0,
        "raw libvirt 9.0 still had the callback after finish"
    );
    let backend = LibvirtBackend::connect(&uri).expect("daemon");
    let mut stream = backend
        .open(StreamFlags::empty(), &Transfer::download(volume, false))
        .expect("download");
    stream
        .add_callback(EventSet::READABLE, Box::new(|_| {}))
        .expect("add");
    stream.finish().expect("finish");
    assert_eq!(
        stream.remove_callback().unwrap_err().kind(),
        ErrorKind::Closed
    );
}

/// Raw: `virStreamSend` of 0 bytes ends the upload early: later data never reaches the volume.
#[test]
fn empty_send_is_refused_not_an_early_end() {
    let uri = support::daemon_uri();
    let volume = support::volume(&uri, "H4K");
    let connection = Connect::open(Some(&uri)).expect("daemon");
    let pool = connection
        .lookup_storage_pool_by_name(&volume.pool)
        .expect("pool");
    let vol = pool
        .lookup_storage_vol_by_name(&volume.name)
        .expect("volume");
    let data = [9u8; 10];
    // SAFETY: valid pointers; the stream is freed at the end.
    unsafe {
        let stream = sys::virStreamNew(connection.as_ptr(), 0);
        sys::virStorageVolUpload(vol.as_ptr(), stream, 0, 0, 0);
        sys::virStreamSend(stream, data.as_ptr().cast(), 0);
        sys::virStreamSend(stream, data.as_ptr().cast(), data.len());
        sys::virStreamFinish(stream);
        sys::virStreamFree(stream);
    }
    let backend = LibvirtBackend::connect(&uri).expect("daemon");
    let mut first = [0u8; 10];
    backend.read_volume(&volume, 0, &mut first).expect("read");
    assert_eq!(
        first, [0; 10],
        "raw libvirt 9.0 dropped the data sent after the empty send"
    );
    let mut stream = backend
        .open(
            StreamFlags::empty(),
            &Transfer::upload(volume.clone(), false),
        )
        .expect("upload");
    assert_eq!(
        stream.send(&[]).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    stream.send(&data).expect("send");
    stream.finish().expect("finish");
    backend.read_volume(&volume, 0, &mut first).expect("read");
    assert_eq!(first, data);
}

/// Raw: with SIGPIPE at its default (as in a C program), a send to a killed daemon kills the
/// process. This crate ignores SIGPIPE, so the same send is an error (see `daemon_death`).
#[test]
fn write_to_a_dead_daemon_is_an_error_not_sigpipe() {
    if in_child() {
        // SAFETY: restoring the default disposition, as a C program has it.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let mut daemon = stream_libvirt::daemon::LocalDaemon::start().expect("private daemon");
        let connection = Connect::open(Some(daemon.uri())).expect("connect");
        let pool = connection
            .lookup_storage_pool_by_name("default")
            .expect("pool");
        let xml = "<volume><name>v</name><capacity>268435456</capacity><allocation>0</allocation></volume>";
        let vol = virt::storage_vol::StorageVol::create_xml(&pool, xml, 0).expect("volume");
        let chunk = vec![1u8; 1 << 20];
        // SAFETY: deliberately the raw misuse, in a child process.
        unsafe {
            let stream = sys::virStreamNew(connection.as_ptr(), 0);
            sys::virStorageVolUpload(vol.as_ptr(), stream, 0, 0, 0);
            sys::virStreamSend(stream, chunk.as_ptr().cast(), chunk.len());
            daemon.kill().expect("kill");
            for _ in 0..200 {
                sys::virStreamSend(stream, chunk.as_ptr().cast(), chunk.len());
            }
        }
        std::process::exit(0);
    }
    let raw = run_in_child(
        "deviations::write_to_a_dead_daemon_is_an_error_not_sigpipe",
        Duration::from_secs(30),
    );
    assert_eq!(
        raw,
        Ending::Signal(libc::SIGPIPE),
        "raw libvirt 9.0 dies of SIGPIPE here"
    );
}
