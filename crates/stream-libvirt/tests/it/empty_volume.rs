//! `Backend::empty_volume` on the storage daemon: a sparse file is emptied in place (its size
//! kept, every byte a hole reading as zero), anything libvirt would overwrite byte by byte is
//! declined and left as it was.

use stream_core::{Backend, Layout};
use stream_libvirt::LibvirtBackend;

use crate::support;

#[test]
fn a_sparse_volume_is_emptied_in_place_and_keeps_its_size() {
    let uri = support::daemon_uri();
    let volume = support::volume(&uri, "D64K H1M D4K H60K");
    let backend = LibvirtBackend::connect(&uri).expect("daemon");
    let size = backend.volume_size(&volume).expect("size");
    assert!(support::allocation(&uri, &volume) > 0, "data before");
    assert!(backend.empty_volume(&volume).expect("empty"), "declined");
    let layout = backend.volume_layout(&volume).expect("layout");
    let mut bytes = vec![1; usize::try_from(size).expect("small")];
    let read = backend.read_volume(&volume, 0, &mut bytes).expect("read");
    backend.delete_volume(&volume).expect("delete");
    assert_eq!(layout, Layout::hole(size), "not one hole of the old size");
    assert!(
        read == bytes.len() && bytes.iter().all(|&b| b == 0),
        "old bytes left"
    );
}

#[test]
fn a_fully_allocated_volume_is_declined_and_unchanged() {
    let uri = support::daemon_uri();
    let volume = support::volume(&uri, "D64K");
    let backend = LibvirtBackend::connect(&uri).expect("daemon");
    let mut before = vec![0; 65536];
    backend.read_volume(&volume, 0, &mut before).expect("read");
    let emptied = backend.empty_volume(&volume).expect("empty");
    let mut after = vec![0; 65536];
    backend.read_volume(&volume, 0, &mut after).expect("read");
    backend.delete_volume(&volume).expect("delete");
    assert!(!emptied, "a wipe would have written zeros over every byte");
    assert!(before == after, "a declined call changed the volume");
}
