//! A local stream's callback removed, then the stream finished, while the event loop runs: raw
//! libvirt 9.0 can lock freed memory (`virFDStreamEvent` holds no reference on the fdstream's
//! data, so a dispatch in flight outlives `virStreamFinish`; valgrind: invalid write in
//! `pthread_mutex_lock`), and libvirt then warns "... (<NULL-class>) is not a virObjectLockable
//! instance". Through the crate, removal waits for the loop's dispatch in flight to end.

use std::os::raw::{c_int, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stream_core::{Backend, EventSet, StreamFlags, Transfer};
use stream_libvirt::LibvirtBackend;
use virt::sys;

use crate::raw::{Ending, child_mode, run_in_child_with_stderr};

const CYCLES: usize = 500;
const WARNING: &str = "is not a virObjectLockable instance";
const NAME: &str = "callback_removal::finishing_after_removing_a_callback_touches_no_freed_memory";

#[test]
fn finishing_after_removing_a_callback_touches_no_freed_memory() {
    match child_mode().as_deref() {
        Some("raw") => raw_cycles(),
        Some("guarded") => guarded_cycles(),
        _ => {}
    }
    let (raw, stderr) = run_in_child_with_stderr(NAME, "raw", Duration::from_secs(60));
    let raw_warnings = stderr.matches(WARNING).count();
    assert!(
        raw_warnings > 0 || raw != Ending::Exited(0),
        "raw libvirt 9.0 was expected to touch freed memory in {CYCLES} cycles (warned 0 times, \
         ended {raw:?})"
    );
    let (guarded, stderr) = run_in_child_with_stderr(NAME, "guarded", Duration::from_secs(60));
    assert_eq!(guarded, Ending::Exited(0), "guarded cycles: {stderr}");
    assert_eq!(
        stderr.matches(WARNING).count(),
        0,
        "through the crate (raw: {raw_warnings} warnings): {stderr}"
    );
}

/// Spin until `fired` moves past `seen` (the loop has dispatched), for at most a second.
fn await_dispatch(fired: &AtomicU64, seen: u64) {
    let start = Instant::now();
    while fired.load(Ordering::SeqCst) == seen && start.elapsed() < Duration::from_secs(1) {
        std::hint::spin_loop();
    }
}

static RAW_FIRED: AtomicU64 = AtomicU64::new(0);

unsafe extern "C" fn count(_stream: sys::virStreamPtr, _events: c_int, _opaque: *mut c_void) {
    RAW_FIRED.fetch_add(1, Ordering::SeqCst);
}

/// The misuse, raw: remove the callback, finish and free at once.
fn raw_cycles() -> ! {
    // SAFETY: deliberately the raw sequence, in a child process; pointers checked before use.
    unsafe {
        assert!(sys::virEventRegisterDefaultImpl() == 0);
        std::thread::spawn(|| {
            loop {
                sys::virEventRunDefaultImpl();
            }
        });
        let connection = sys::virConnectOpen(c"test:///default".as_ptr());
        assert!(!connection.is_null(), "test:///default");
        let domain = sys::virDomainLookupByName(connection, c"test".as_ptr());
        assert!(!domain.is_null(), "domain test");
        for _ in 0..CYCLES {
            let stream = sys::virStreamNew(connection, 0);
            let mime = sys::virDomainScreenshot(domain, stream, 0, 0);
            assert!(!mime.is_null(), "screenshot");
            libc::free(mime.cast());
            let seen = RAW_FIRED.load(Ordering::SeqCst);
            let events = sys::VIR_STREAM_EVENT_READABLE as c_int;
            let added = sys::virStreamEventAddCallback(
                stream,
                events,
                Some(count),
                std::ptr::null_mut(),
                None,
            );
            assert!(added == 0, "add callback");
            await_dispatch(&RAW_FIRED, seen);
            sys::virStreamEventRemoveCallback(stream);
            sys::virStreamFinish(stream);
            sys::virStreamFree(stream);
        }
    }
    std::process::exit(0)
}

/// The same through the crate.
fn guarded_cycles() -> ! {
    let backend = LibvirtBackend::test_driver().expect("test driver");
    let fired = Arc::new(AtomicU64::new(0));
    for _ in 0..CYCLES {
        let mut stream = backend
            .open(StreamFlags::empty(), &Transfer::screenshot("test"))
            .expect("screenshot");
        let seen = fired.load(Ordering::SeqCst);
        let counter = Arc::clone(&fired);
        stream
            .add_callback(
                EventSet::READABLE,
                Box::new(move |_| {
                    counter.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .expect("add callback");
        await_dispatch(&fired, seen);
        stream.finish().expect("finish");
    }
    std::process::exit(0)
}
