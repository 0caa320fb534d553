//! The contract suite against real libvirt: the in-process test driver (local streams), the
//! private storage daemon and the test driver through it (remote streams). The same rules run
//! on the simulator.

use stream_libvirt::LibvirtBackend;

fn test_driver() -> LibvirtBackend {
    LibvirtBackend::test_driver().unwrap_or_else(|error| {
        panic!("cannot open test:///default ({error}); run `cargo xtask setup` to install libvirt")
    })
}

stream_conformance::conformance_suite!(test_driver_local, super::test_driver(); skips: [
    remote_recv_returns_one_packet_at_a_time, remote_sparse_download_packets, hole_sentinel_is_minus_three,
    upload_finish_after_data_succeeds, zero_length_hole_is_refused_and_loses_nothing, negative_hole_is_refused,
    hole_flags_are_refused, empty_send_is_refused_and_loses_nothing, recv_on_upload_is_refused,
    sparse_upload_keeps_old_bytes_under_a_hole, send_hole_needs_a_sparse_upload,
    stop_at_hole_then_recv_hole_gives_its_length, recv_hole_with_no_hole_pending_returns_zero,
    recv_hole_on_non_sparse_stream_fails, stop_at_hole_on_non_sparse_stream_is_plain_recv,
    plain_recv_reads_holes_as_zeros, holes_follow_blocks_and_merge, sparse_round_trip_keeps_bytes_and_holes,
    trailing_hole_sets_the_size, send_past_the_upload_range_is_refused_and_loses_nothing, send_all_then_recv_all_round_trip,
    sparse_all_helpers_round_trip,
    upload_and_download_at_once_keep_their_own_data,
]);

fn storage_daemon() -> LibvirtBackend {
    let uri = stream_libvirt::daemon::shared_uri()
        .unwrap_or_else(|error| panic!("no storage daemon: {error}"));
    LibvirtBackend::connect(&uri).unwrap_or_else(|error| panic!("cannot connect to {uri}: {error}"))
}

stream_conformance::conformance_suite!(storage_daemon_remote, super::storage_daemon(); skips: [
    local_recv_fills_the_buffer, screenshot_returns_its_mime_type, screenshot_flags_are_refused,
    every_screen_number_gets_the_image,
]);

/// The test driver through the same daemon (`test+unix:///default`): screenshots as remote
/// streams, no volume transfers.
fn test_driver_remote() -> LibvirtBackend {
    let uri = stream_libvirt::daemon::test_driver_uri(&crate::support::daemon_uri())
        .unwrap_or_else(|error| panic!("{error}"));
    LibvirtBackend::connect(&uri).unwrap_or_else(|error| panic!("cannot connect to {uri}: {error}"))
}

stream_conformance::conformance_suite!(test_driver_through_the_daemon, super::test_driver_remote(); skips: [
    remote_recv_returns_one_packet_at_a_time, remote_sparse_download_packets, local_recv_fills_the_buffer,
    hole_sentinel_is_minus_three, upload_finish_after_data_succeeds, zero_length_hole_is_refused_and_loses_nothing,
    negative_hole_is_refused, hole_flags_are_refused, empty_send_is_refused_and_loses_nothing,
    recv_on_upload_is_refused, sparse_upload_keeps_old_bytes_under_a_hole, send_hole_needs_a_sparse_upload,
    stop_at_hole_then_recv_hole_gives_its_length, recv_hole_with_no_hole_pending_returns_zero,
    recv_hole_on_non_sparse_stream_fails, stop_at_hole_on_non_sparse_stream_is_plain_recv,
    plain_recv_reads_holes_as_zeros, holes_follow_blocks_and_merge, sparse_round_trip_keeps_bytes_and_holes,
    trailing_hole_sets_the_size, send_past_the_upload_range_is_refused_and_loses_nothing, send_all_then_recv_all_round_trip,
    sparse_all_helpers_round_trip,
    upload_and_download_at_once_keep_their_own_data,
]);
