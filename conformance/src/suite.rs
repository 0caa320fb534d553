//! `conformance_suite!`: the whole suite as `#[test]`s for any backend, one test per rule.

/// Generate one `#[test]` per contract rule in the calling module, each run against the backend
/// `$make` builds. A rule the backend cannot run fails with its skip reason unless it is listed
/// as expected to skip, so a skip is never shown as a pass.
///
/// ```ignore
/// stream_conformance::conformance_suite!(my_backend, || MyBackend::new(); skips: [hole_sentinel_is_minus_three]);
/// ```
#[macro_export]
macro_rules! conformance_suite {
    ($module:ident, $make:expr) => {
        $crate::conformance_suite!($module, $make; skips: []);
    };
    ($module:ident, $make:expr; skips: [$($skip:ident),* $(,)?]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_tests!($make; [$($skip),*];
                remote_recv_returns_one_packet_at_a_time, remote_sparse_download_packets,
                local_recv_fills_the_buffer, screenshot_returns_its_mime_type, screenshot_flags_are_refused,
                every_screen_number_gets_the_image, recv_flags_is_its_own_call, data_then_end_of_stream_sentinels,
                hole_sentinel_is_minus_three, error_sentinel_is_minus_one, empty_buffer_reads_zero_bytes,
                new_stream_refuses_all_but_abort, finish_before_end_of_stream_succeeds,
                every_call_fails_closed_after_finish, every_call_fails_closed_after_abort,
                upload_finish_after_data_succeeds, zero_length_hole_is_refused_and_loses_nothing,
                negative_hole_is_refused, hole_flags_are_refused, empty_send_is_refused_and_loses_nothing,
                send_on_download_is_refused, send_hole_on_download_is_refused, recv_on_upload_is_refused,
                sparse_upload_keeps_old_bytes_under_a_hole, send_hole_needs_a_sparse_upload,
                stop_at_hole_then_recv_hole_gives_its_length, recv_hole_with_no_hole_pending_returns_zero,
                recv_hole_on_non_sparse_stream_fails, stop_at_hole_on_non_sparse_stream_is_plain_recv,
                plain_recv_reads_holes_as_zeros, unknown_recv_flags_are_refused, holes_follow_blocks_and_merge,
                sparse_round_trip_keeps_bytes_and_holes, trailing_hole_sets_the_size,
                send_past_the_upload_range_is_refused_and_loses_nothing, send_all_then_recv_all_round_trip,
                sparse_all_helpers_round_trip, all_helpers_refuse_nonblock_and_abort,
                handler_failure_aborts_and_names_the_handler, second_add_callback_fails,
                update_and_remove_need_a_callback, callback_can_be_removed_and_added_again,
                interleaved_downloads_get_their_own_bytes_and_holes,
                downloads_on_two_threads_get_their_own_bytes_and_holes,
                upload_and_download_at_once_keep_their_own_data, finishing_a_stream_leaves_another_running,
                aborting_a_stream_leaves_another_running
            );
        }
    };
}

/// Implementation detail of [`conformance_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($make:expr; $skips:tt; $($rule:ident),* $(,)?) => {
        #[test]
        fn every_rule_has_a_test() {
            let listed = [$(stringify!($rule)),*];
            let ids: Vec<_> = $crate::all_rules().iter().map(|rule| rule.id).collect();
            assert_eq!(listed.to_vec(), ids, "conformance_suite! must list every rule");
        }
        $(
            #[test]
            fn $rule() {
                let backend = $make;
                let rule = $crate::all_rules().into_iter().find(|rule| rule.id == stringify!($rule)).expect("rule");
                let expected_skips: &[&str] = $crate::__skip_list!($skips);
                match $crate::run_rule(&rule, &backend) {
                    $crate::Outcome::Pass => assert!(
                        !expected_skips.contains(&rule.id),
                        "{} passed but is listed as an expected skip", rule.id
                    ),
                    $crate::Outcome::Fail(why) => panic!("{} failed: {why}", rule.id),
                    $crate::Outcome::Skipped(why) => assert!(
                        expected_skips.contains(&rule.id),
                        "{} skipped ({why}) but is not listed as an expected skip", rule.id
                    ),
                    $crate::Outcome::Unavailable(why) => panic!("{}: backend unavailable: {why}", rule.id),
                }
            }
        )*
    };
}

/// Implementation detail of [`conformance_suite!`]: the expected skips as names.
#[doc(hidden)]
#[macro_export]
macro_rules! __skip_list {
    ([$($skip:ident),*]) => {
        &[$(stringify!($skip)),*]
    };
}
