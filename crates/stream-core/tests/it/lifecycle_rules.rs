//! CONTRACT.md §3 and §4 on the shared state machine itself (every backend runs it first).

use stream_core::libvirt_errors::{self, Call};
use stream_core::{
    AbortAction, Binding, Direction, ErrorKind, Lifecycle, RecvFlags, StreamFlags, StreamKind,
    StreamState,
};

const SPARSE_UPLOAD: Binding = Binding {
    direction: Direction::Upload,
    sparse: true,
};
const DOWNLOAD: Binding = Binding {
    direction: Direction::Download,
    sparse: false,
};

fn active(kind: StreamKind, binding: Binding) -> Lifecycle {
    let mut lifecycle = Lifecycle::new(kind, StreamFlags::empty());
    lifecycle.bind(binding);
    lifecycle
}

#[test]
fn new_stream_refuses_all_but_abort() {
    let mut lifecycle = Lifecycle::new(StreamKind::Remote, StreamFlags::empty());
    assert_eq!(
        lifecycle.check_send(1).unwrap_err(),
        libvirt_errors::not_supported(Call::Send)
    );
    assert_eq!(
        lifecycle.check_recv(RecvFlags::empty()).unwrap_err(),
        libvirt_errors::not_supported(Call::Recv)
    );
    assert_eq!(
        lifecycle.check_recv(RecvFlags::STOP_AT_HOLE).unwrap_err(),
        libvirt_errors::not_supported(Call::RecvFlags)
    );
    assert_eq!(
        lifecycle.check_finish().unwrap_err().kind(),
        ErrorKind::NotSupported
    );
    assert_eq!(lifecycle.abort().unwrap(), AbortAction::Nothing);
    assert_eq!(lifecycle.state(), StreamState::New);
}

#[test]
fn closed_stream_refuses_everything_including_second_finish_and_abort() {
    for close in ["finish", "abort"] {
        let mut lifecycle = active(StreamKind::Local, SPARSE_UPLOAD);
        if close == "finish" {
            lifecycle.check_finish().unwrap();
            lifecycle.finished(true);
        } else {
            assert_eq!(
                lifecycle.abort().unwrap(),
                AbortAction::Cancel(SPARSE_UPLOAD)
            );
        }
        let closed = libvirt_errors::stream_closed();
        assert_eq!(lifecycle.check_send(1).unwrap_err(), closed);
        assert_eq!(lifecycle.check_send_hole(1, 0).unwrap_err(), closed);
        assert_eq!(
            lifecycle.check_callback(Call::AddCallback).unwrap_err(),
            closed
        );
        assert_eq!(lifecycle.check_finish().unwrap_err(), closed);
        assert_eq!(lifecycle.abort().unwrap_err(), closed);
        assert_eq!(closed.kind(), ErrorKind::Closed);
    }
}

#[test]
fn guards_refuse_data_loss_without_changing_state() {
    let lifecycle = active(StreamKind::Remote, SPARSE_UPLOAD);
    assert_eq!(
        lifecycle.check_send(0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        lifecycle.check_send_hole(0, 0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        lifecycle.check_send_hole(-5, 0).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        lifecycle.check_send_hole(5, 1).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        lifecycle.check_recv(RecvFlags::empty()).unwrap_err().kind(),
        ErrorKind::InvalidOperation
    );
    assert_eq!(lifecycle.state(), StreamState::Active(SPARSE_UPLOAD));
    let download = active(StreamKind::Remote, DOWNLOAD);
    assert_eq!(
        download.check_send(4).unwrap_err().kind(),
        ErrorKind::InvalidOperation
    );
    assert_eq!(
        download.check_send_hole(4, 0).unwrap_err().kind(),
        ErrorKind::InvalidOperation
    );
}

#[test]
fn unknown_flags_get_libvirts_error() {
    let remote = active(StreamKind::Remote, DOWNLOAD);
    let error = remote
        .check_recv(RecvFlags::from_bits_retain(0x3))
        .unwrap_err();
    assert_eq!(
        error.message(),
        "unsupported flags (0x2) in function remoteStreamRecvFlags"
    );
    let error = remote.check_recv_hole(1).unwrap_err();
    assert_eq!(
        error.message(),
        "unsupported flags (0x1) in function remoteStreamRecvHole"
    );
    let local = active(StreamKind::Local, DOWNLOAD);
    let error = local
        .check_recv(RecvFlags::from_bits_retain(0x2))
        .unwrap_err();
    assert_eq!(error, libvirt_errors::not_supported(Call::RecvFlags));
}

#[test]
fn holes_need_a_sparse_binding() {
    let upload = active(
        StreamKind::Remote,
        Binding {
            direction: Direction::Upload,
            sparse: false,
        },
    );
    assert_eq!(
        upload.check_send_hole(10, 0).unwrap_err(),
        libvirt_errors::skipping_not_supported()
    );
    let download = active(StreamKind::Remote, DOWNLOAD);
    assert_eq!(
        download.check_recv_hole(0).unwrap_err(),
        libvirt_errors::holes_not_supported()
    );
    assert!(download.check_recv(RecvFlags::STOP_AT_HOLE).is_ok());
}

fn closed(kind: StreamKind, binding: Binding, close: &str) -> Lifecycle {
    let mut lifecycle = active(kind, binding);
    if close == "finish" {
        lifecycle.check_finish().unwrap();
        lifecycle.finished(true);
    } else {
        lifecycle.abort().unwrap();
    }
    lifecycle
}

/// Q17 A: after finish or abort a remote stream still answers flags, sparseness and the size of
/// a send first, with libvirt's own errors; only then "stream is closed" (issue 11 item 3).
#[test]
fn closed_remote_streams_check_flags_and_sparseness_first() {
    let too_long = stream_core::libvirt_errors::MAX_REMOTE_SEND + 1;
    for close in ["finish", "abort"] {
        for direction in [Direction::Download, Direction::Upload] {
            for sparse in [false, true] {
                let binding = Binding { direction, sparse };
                let lifecycle = closed(StreamKind::Remote, binding, close);
                let closed = libvirt_errors::stream_closed();
                let case = format!("{direction:?} sparse={sparse} after {close}");
                assert_eq!(
                    lifecycle
                        .check_recv(RecvFlags::from_bits_retain(0x3))
                        .unwrap_err(),
                    libvirt_errors::unsupported_flags("remoteStreamRecvFlags", 0x2),
                    "{case}"
                );
                assert_eq!(
                    lifecycle.check_recv(RecvFlags::STOP_AT_HOLE).unwrap_err(),
                    closed,
                    "{case}"
                );
                assert_eq!(
                    lifecycle.check_recv_hole(1).unwrap_err(),
                    libvirt_errors::unsupported_flags("remoteStreamRecvHole", 0x1),
                    "{case}"
                );
                let (hole, skip) = if sparse {
                    (closed.clone(), closed.clone())
                } else {
                    (
                        libvirt_errors::holes_not_supported(),
                        libvirt_errors::skipping_not_supported(),
                    )
                };
                assert_eq!(lifecycle.check_recv_hole(0).unwrap_err(), hole, "{case}");
                for (length, flags) in [(4096, 0), (0, 0), (-5, 0), (4096, 1)] {
                    assert_eq!(
                        lifecycle.check_send_hole(length, flags).unwrap_err(),
                        skip,
                        "{case}: send_hole({length}, {flags})"
                    );
                }
                assert_eq!(lifecycle.check_send(1).unwrap_err(), closed, "{case}");
                assert_eq!(lifecycle.check_send(0).unwrap_err(), closed, "{case}");
                assert_eq!(
                    lifecycle.check_send(too_long).unwrap_err(),
                    libvirt_errors::send_too_long(too_long),
                    "{case}"
                );
                assert_eq!(lifecycle.check_finish().unwrap_err(), closed, "{case}");
            }
        }
    }
}

/// Q17 L: a closed local stream answers what libvirt checks before it touches the stream; the
/// rest is "stream is closed", as on a remote stream (raw: 0, "stream is not open", SIGSEGV).
#[test]
fn closed_local_streams_keep_libvirts_argument_checks() {
    for close in ["finish", "abort"] {
        let lifecycle = closed(StreamKind::Local, DOWNLOAD, close);
        let closed = libvirt_errors::stream_closed();
        assert_eq!(
            lifecycle.check_send_hole(4096, 1).unwrap_err(),
            libvirt_errors::fdstream_unsupported_flags("virFDStreamSendHole", 1)
        );
        assert_eq!(
            lifecycle.check_send_hole(0, 0).unwrap_err(),
            libvirt_errors::fdstream_hole_length()
        );
        assert_eq!(
            lifecycle.check_send_hole(-5, 0).unwrap_err(),
            libvirt_errors::fdstream_hole_length()
        );
        assert_eq!(lifecycle.check_send_hole(4096, 0).unwrap_err(), closed);
        assert_eq!(
            lifecycle.check_recv_hole(1).unwrap_err(),
            libvirt_errors::not_supported(Call::RecvHole)
        );
        assert_eq!(
            lifecycle
                .check_recv(RecvFlags::from_bits_retain(0x2))
                .unwrap_err(),
            libvirt_errors::not_supported(Call::RecvFlags)
        );
        assert_eq!(lifecycle.check_send(0).unwrap_err(), closed);
        assert_eq!(
            lifecycle.check_recv(RecvFlags::empty()).unwrap_err(),
            closed
        );
        assert_eq!(lifecycle.check_finish().unwrap_err(), closed);
    }
}

/// Q17 B (issue 11 item 4): where raw libvirt refuses a misuse safely, the lifecycle lets the
/// call through (the backend returns libvirt's error) or answers with libvirt's error itself.
#[test]
fn misuses_libvirt_refuses_safely_get_libvirts_answer() {
    let remote = active(StreamKind::Remote, DOWNLOAD);
    for flags in [0, 1] {
        assert_eq!(
            remote.check_send_hole(4096, flags).unwrap_err(),
            libvirt_errors::skipping_not_supported()
        );
    }
    let local = active(StreamKind::Local, DOWNLOAD);
    assert_eq!(local.check_send(1).unwrap(), DOWNLOAD);
    assert_eq!(local.check_send(0).unwrap(), DOWNLOAD);
    assert_eq!(
        local.check_send_hole(10, 1).unwrap_err(),
        libvirt_errors::fdstream_unsupported_flags("virFDStreamSendHole", 1)
    );
    assert_eq!(
        local.check_send_hole(0, 0).unwrap_err(),
        libvirt_errors::fdstream_hole_length()
    );
}

/// Q17 B: the guards left are the calls raw libvirt accepts and then crashes, hangs or loses
/// data over.
#[test]
fn guards_stay_where_libvirt_accepts_and_loses() {
    let sparse_download = Binding {
        direction: Direction::Download,
        sparse: true,
    };
    let remote = active(StreamKind::Remote, sparse_download);
    assert_eq!(
        remote.check_send(10).unwrap_err(),
        stream_core::libvirt_errors::guard::send_on_download("send")
    );
    assert_eq!(
        remote.check_send_hole(4096, 0).unwrap_err(),
        stream_core::libvirt_errors::guard::send_on_download("send_hole")
    );
    let local = active(StreamKind::Local, DOWNLOAD);
    assert_eq!(
        local.check_send_hole(10, 0).unwrap_err(),
        stream_core::libvirt_errors::guard::send_on_download("send_hole")
    );
    // NONBLOCK screenshot: raw echoes sent bytes into recv until the end; refused until then.
    let mut nonblock = Lifecycle::new(StreamKind::Local, StreamFlags::NONBLOCK);
    nonblock.bind(DOWNLOAD);
    assert_eq!(
        nonblock.check_send(1).unwrap_err(),
        stream_core::libvirt_errors::guard::send_on_download("send")
    );
    nonblock.reached_end();
    assert_eq!(nonblock.check_send(1).unwrap(), DOWNLOAD);
}

/// Q17 C (issue 11 item 6): only a blocking recv on an upload hangs; a NONBLOCK one returns -2.
#[test]
fn only_a_blocking_recv_on_an_upload_is_refused() {
    let blocking = active(StreamKind::Remote, SPARSE_UPLOAD);
    assert_eq!(
        blocking.check_recv(RecvFlags::empty()).unwrap_err(),
        stream_core::libvirt_errors::guard::recv_on_upload()
    );
    let mut nonblock = Lifecycle::new(StreamKind::Remote, StreamFlags::NONBLOCK);
    nonblock.bind(SPARSE_UPLOAD);
    assert_eq!(
        nonblock.check_recv(RecvFlags::empty()).unwrap(),
        SPARSE_UPLOAD
    );
    assert_eq!(
        nonblock.check_recv(RecvFlags::STOP_AT_HOLE).unwrap(),
        SPARSE_UPLOAD
    );
}
