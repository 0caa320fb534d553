//! The contract suite against both simulator profiles: one test per rule and profile.

use stream_sim::{Profile, SimBackend};

stream_conformance::conformance_suite!(sim_remote, SimBackend::new(Profile::Remote); skips: [
    local_recv_fills_the_buffer,
]);

stream_conformance::conformance_suite!(sim_local, SimBackend::new(Profile::Local); skips: [
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
