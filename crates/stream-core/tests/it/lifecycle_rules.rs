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
