//! Every error this project produces, as its one-line `Display`, in an insta snapshot: a changed
//! message is a visible, reviewed change.

use stream_core::libvirt_errors::{self, Call, guard};
use stream_core::{Error, ErrorLevel, Layout, StreamKind};

fn every_error() -> Vec<(&'static str, Error)> {
    let mut errors = vec![
        (
            "not_supported(Send)",
            libvirt_errors::not_supported(Call::Send),
        ),
        (
            "not_supported(RecvFlags)",
            libvirt_errors::not_supported(Call::RecvFlags),
        ),
        ("stream_closed", libvirt_errors::stream_closed()),
        (
            "unsupported_flags",
            libvirt_errors::unsupported_flags("remoteStreamRecvFlags", 2),
        ),
        ("holes_not_supported", libvirt_errors::holes_not_supported()),
        (
            "skipping_not_supported",
            libvirt_errors::skipping_not_supported(),
        ),
        (
            "sources_need_blocking",
            libvirt_errors::sources_need_blocking(),
        ),
        ("sinks_need_blocking", libvirt_errors::sinks_need_blocking()),
        (
            "handler_failed",
            libvirt_errors::handler_failed("send handler", std::io::Error::other("disk full")),
        ),
        (
            "callback_exists(Remote)",
            libvirt_errors::callback_exists(StreamKind::Remote),
        ),
        (
            "callback_exists(Local)",
            libvirt_errors::callback_exists(StreamKind::Local),
        ),
        (
            "no_callback(Remote)",
            libvirt_errors::no_callback(StreamKind::Remote),
        ),
        (
            "no_callback(Local)",
            libvirt_errors::no_callback(StreamKind::Local),
        ),
        ("no_space_left", libvirt_errors::no_space_left()),
        ("send_too_long", libvirt_errors::send_too_long(41_943_040)),
        (
            "fdstream_unsupported_flags",
            libvirt_errors::fdstream_unsupported_flags("virFDStreamSendHole", 1),
        ),
        (
            "fdstream_hole_length",
            libvirt_errors::fdstream_hole_length(),
        ),
        ("cannot_write_bad_fd", libvirt_errors::cannot_write_bad_fd()),
        (
            "stream_not_open_bad_fd",
            libvirt_errors::stream_not_open_bad_fd(),
        ),
        ("no_pool", libvirt_errors::no_pool("p")),
        ("no_volume", libvirt_errors::no_volume("v")),
        ("no_domain", libvirt_errors::no_domain()),
        ("volume_exists", libvirt_errors::volume_exists("v.raw")),
        ("seek_failed", libvirt_errors::seek_failed("vol.raw")),
        (
            "unable_to_seek",
            libvirt_errors::unable_to_seek("vol.raw", 17_592_186_044_416),
        ),
        (
            "daemon_gone::end_of_file",
            libvirt_errors::daemon_gone::end_of_file(),
        ),
        (
            "daemon_gone::broken_pipe",
            libvirt_errors::daemon_gone::broken_pipe(),
        ),
        (
            "daemon_gone::socket_closed",
            libvirt_errors::daemon_gone::socket_closed(),
        ),
        (
            "driver_lacks",
            libvirt_errors::driver_lacks("virStorageVolUpload", 18),
        ),
        ("guard::empty_send", guard::empty_send()),
        (
            "guard::upload_bytes_lost",
            guard::upload_bytes_lost(160, 120),
        ),
        (
            "guard::send_past_range",
            guard::send_past_range(60, 100, 40),
        ),
        ("guard::hole_length", guard::hole_length(0)),
        ("guard::hole_flags", guard::hole_flags(1)),
        (
            "guard::sparse_download_past_end",
            guard::sparse_download_past_end(11, 10),
        ),
        ("guard::send_on_download", guard::send_on_download("send")),
        ("guard::recv_on_upload", guard::recv_on_upload()),
    ];
    errors.push(("layout", Layout::parse("D4X").unwrap_err().into()));
    // libvirt's stream errors are all level `error` (Q23); another level is shown, on the line.
    errors.push((
        "with_level(Warning)",
        libvirt_errors::stream_closed().with_level(ErrorLevel::Warning),
    ));
    errors
}

#[test]
fn every_error_display() {
    let lines: Vec<String> = every_error()
        .iter()
        .map(|(name, error)| format!("{name}: {error}"))
        .collect();
    for line in &lines {
        assert!(!line.contains('\n'), "Display must be one line: {line}");
    }
    insta::assert_snapshot!(lines.join("\n"));
}
