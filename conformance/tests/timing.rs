//! Replaying a recorded download on a backend whose `recv` sometimes takes several queued
//! packets at once (real libvirt under load): such a mismatch is played again; any other
//! mismatch, or coalescing that never goes away, is reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use stream_conformance::scenario::{TIMING_RETRIES, parse, play};
use stream_core::mock::{MockBackend, MockStream};
use stream_core::{Recv, Stream};

const RECORDED: &str = "kind remote\nvolume D8K\nopen download\n\nrecv 65536\n=> 4096\n";

/// A backend whose n-th download (from 0) gives `first(n)` to its first `recv`.
fn backend(
    first: impl Fn(usize) -> usize + Send + Sync + 'static,
) -> (MockBackend, Arc<AtomicUsize>) {
    let opened = Arc::new(AtomicUsize::new(0));
    let mut backend = MockBackend::new();
    backend.expect_create_volume().returning(|_, _| Ok(()));
    // A played scenario deletes the volume it made when it ends.
    backend.expect_delete_volume().returning(|_| Ok(()));
    let count = Arc::clone(&opened);
    backend.expect_open().returning(move |_, _| {
        let n = first(count.fetch_add(1, Ordering::SeqCst));
        let mut stream = MockStream::new();
        stream
            .expect_recv()
            .returning(move |_, _| Ok(Recv::Data(n)));
        stream
            .expect_state()
            .return_const(stream_core::StreamState::Finished);
        Ok(Box::new(stream) as Box<dyn Stream>)
    });
    (backend, opened)
}

#[test]
fn a_coalesced_recv_is_played_again_until_it_matches() {
    let scenario = parse(RECORDED).unwrap();
    let (backend, opened) = backend(|n| if n < 2 { 8192 } else { 4096 });
    assert_eq!(play(&scenario, &backend), Ok(Ok(())));
    assert_eq!(opened.load(Ordering::SeqCst), 3);
}

#[test]
fn coalescing_that_persists_is_reported_after_the_retries() {
    let scenario = parse(RECORDED).unwrap();
    let (backend, opened) = backend(|_| 8192);
    let mismatch = play(&scenario, &backend).unwrap().unwrap_err();
    assert_eq!(mismatch.actual, "8192");
    assert_eq!(opened.load(Ordering::SeqCst), 1 + TIMING_RETRIES);
}

#[test]
fn a_smaller_recv_is_reported_at_once() {
    let scenario = parse(RECORDED).unwrap();
    let (backend, opened) = backend(|_| 100);
    let mismatch = play(&scenario, &backend).unwrap().unwrap_err();
    assert_eq!(mismatch.actual, "100");
    assert_eq!(opened.load(Ordering::SeqCst), 1);
}
