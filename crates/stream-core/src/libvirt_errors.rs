//! The errors real libvirt 9.0 reports, built in one place with libvirt's exact code, domain and
//! message (taken from libvirt's source and checked against running libvirt), plus the guard
//! errors this project adds where raw libvirt would crash, hang or lose data.

pub mod daemon_gone;

use crate::error::{code, domain};
use crate::{Error, ErrorKind};

/// The kind of an error libvirt reported with `libvirt_code`, `domain` and `message`: one
/// mapping for every place such an error enters (the binding's `virGetLastError`, a fault plan's
/// injected error, a server's `remote_error`).
pub fn kind_of(libvirt_code: i32, domain: i32, message: &str) -> ErrorKind {
    if daemon_gone::is_daemon_gone(libvirt_code, domain, message) {
        return ErrorKind::Disconnected;
    }
    match libvirt_code {
        code::NO_SUPPORT => ErrorKind::NotSupported,
        code::INVALID_ARG => ErrorKind::InvalidArgument,
        code::OPERATION_INVALID | code::STORAGE_VOL_EXIST => ErrorKind::InvalidOperation,
        code::SYSTEM_ERROR => ErrorKind::System,
        code::RPC => ErrorKind::Rpc,
        code::NO_DOMAIN | code::NO_STORAGE_POOL | code::NO_STORAGE_VOL => ErrorKind::NotFound,
        code::OPERATION_FAILED if message.ends_with("stream is closed") => ErrorKind::Closed,
        _ => ErrorKind::Internal,
    }
}

/// libvirt's public function names, as they appear in "not supported" errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// `virStreamSend`
    Send,
    /// `virStreamRecv` (no flags)
    Recv,
    /// `virStreamRecvFlags`
    RecvFlags,
    /// `virStreamSendHole`
    SendHole,
    /// `virStreamRecvHole`
    RecvHole,
    /// `virStreamEventAddCallback`
    AddCallback,
    /// `virStreamEventUpdateCallback`
    UpdateCallback,
    /// `virStreamEventRemoveCallback`
    RemoveCallback,
    /// `virStreamFinish`
    Finish,
    /// `virStreamAbort`
    Abort,
}

impl Call {
    /// libvirt's name of the public function.
    pub fn function(self) -> &'static str {
        match self {
            Call::Send => "virStreamSend",
            Call::Recv => "virStreamRecv",
            Call::RecvFlags => "virStreamRecvFlags",
            Call::SendHole => "virStreamSendHole",
            Call::RecvHole => "virStreamRecvHole",
            Call::AddCallback => "virStreamEventAddCallback",
            Call::UpdateCallback => "virStreamEventUpdateCallback",
            Call::RemoveCallback => "virStreamEventRemoveCallback",
            Call::Finish => "virStreamFinish",
            Call::Abort => "virStreamAbort",
        }
    }
}

/// `virReportUnsupportedError()` in libvirt-stream.c: the stream has no driver for `call`
/// (not yet bound, or the driver lacks the call).
pub fn not_supported(call: Call) -> Error {
    Error::libvirt(
        ErrorKind::NotSupported,
        code::NO_SUPPORT,
        domain::STREAMS,
        format!(
            "this function is not supported by the connection driver: {}",
            call.function()
        ),
    )
}

/// `virNetClientStreamCheckState`: any call on a finished or aborted remote stream. The contract
/// gives local streams the same error (raw fdstreams return 0 or crash there).
pub fn stream_closed() -> Error {
    Error::libvirt(
        ErrorKind::Closed,
        code::OPERATION_FAILED,
        domain::RPC,
        "operation failed: stream is closed",
    )
}

/// `virCheckFlags` in the driver function that got unknown bits (only those bits are shown).
pub fn unsupported_flags(driver_function: &str, unknown_bits: u32) -> Error {
    Error::libvirt(
        ErrorKind::InvalidArgument,
        code::INVALID_ARG,
        domain::REMOTE,
        format!("unsupported flags (0x{unknown_bits:x}) in function {driver_function}"),
    )
}

/// `virCheckFlags` in a local (fdstream) driver function, e.g. `virFDStreamSendHole` (domain
/// VIR_FROM_STREAMS: measured, Q17).
pub fn fdstream_unsupported_flags(driver_function: &str, unknown_bits: u32) -> Error {
    Error::libvirt(
        ErrorKind::InvalidArgument,
        code::INVALID_ARG,
        domain::STREAMS,
        format!("unsupported flags (0x{unknown_bits:x}) in function {driver_function}"),
    )
}

/// `virCheckPositiveArgReturn(length)` in `virFDStreamSendHole`: a local stream's hole of
/// length 0 or less (no "invalid argument: " prefix: measured, Q17).
pub fn fdstream_hole_length() -> Error {
    Error::libvirt(
        ErrorKind::InvalidArgument,
        code::INVALID_ARG,
        domain::STREAMS,
        "length in virFDStreamSendHole must be greater than zero",
    )
}

/// `virFDStreamWrite` on a local stream opened for reading (a screenshot): EBADF. The stream
/// stays as it was (measured, Q17).
pub fn cannot_write_bad_fd() -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::STREAMS,
        "cannot write to stream: Bad file descriptor",
    )
}

/// `virFDStreamRead` on a NONBLOCK local stream whose I/O thread has ended, once `recv` has
/// returned end of stream (measured, Q17: every later `recv` into a non-empty buffer).
pub fn stream_not_open_bad_fd() -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::STREAMS,
        "stream is not open: Bad file descriptor",
    )
}

/// `virCheckFlags(0, NULL)` in the test driver's `testDomainScreenshot`: `virDomainScreenshot`
/// takes no flags (measured on test:///default and through a daemon alike, Q20, Q22).
pub fn screenshot_flags(flags: u32) -> Error {
    Error::libvirt(
        ErrorKind::InvalidArgument,
        code::INVALID_ARG,
        domain::TEST,
        format!("unsupported flags (0x{flags:x}) in function testDomainScreenshot"),
    )
}

/// `virNetClientStreamRecvHole` on a stream bound without the sparse flag.
pub fn holes_not_supported() -> Error {
    Error::libvirt(
        ErrorKind::InvalidOperation,
        code::OPERATION_INVALID,
        domain::RPC,
        "Requested operation is not valid: Holes are not supported with this stream",
    )
}

/// `virNetClientStreamSendHole` on a stream bound without the sparse flag.
pub fn skipping_not_supported() -> Error {
    Error::libvirt(
        ErrorKind::InvalidOperation,
        code::OPERATION_INVALID,
        domain::RPC,
        "Requested operation is not valid: Skipping is not supported with this stream",
    )
}

/// `virStreamSendAll` / `virStreamSparseSendAll` on a NONBLOCK stream (which they then abort).
pub fn sources_need_blocking() -> Error {
    Error::libvirt(
        ErrorKind::InvalidOperation,
        code::OPERATION_INVALID,
        domain::STREAMS,
        "Requested operation is not valid: data sources cannot be used for non-blocking streams",
    )
}

/// `virStreamRecvAll` / `virStreamSparseRecvAll` on a NONBLOCK stream (which they then abort).
pub fn sinks_need_blocking() -> Error {
    Error::libvirt(
        ErrorKind::InvalidOperation,
        code::OPERATION_INVALID,
        domain::STREAMS,
        "Requested operation is not valid: data sinks cannot be used for non-blocking streams",
    )
}

/// A `*_all` handler failed. libvirt reports `"<which> failed: <strerror(errno)>"`; here the
/// handler's own error replaces the errno, and is kept as the source.
pub fn handler_failed(which: &str, cause: std::io::Error) -> Error {
    let message = format!("{which} failed: {cause}");
    Error::libvirt(
        ErrorKind::Handler,
        code::SYSTEM_ERROR,
        domain::STREAMS,
        message,
    )
    .with_source(cause)
}

/// Guard errors: misuses raw libvirt 9.0 turns into crashes, hangs or silent data loss
/// (CONTRACT.md §4). They carry no libvirt code: libvirt has no error for them.
pub mod guard {
    use crate::{Error, ErrorKind};

    /// `send` with no bytes.
    pub fn empty_send() -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            "send of 0 bytes refused: libvirt would take it as end of stream and drop later data",
        )
    }

    /// `send_hole` with a length below 1.
    pub fn hole_length(length: i64) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "send_hole length must be at least 1, got {length}: libvirt would drop the whole upload"
            ),
        )
    }

    /// `send_hole` or `recv_hole` with flags.
    pub fn hole_flags(flags: u32) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "send_hole flags must be 0, got 0x{flags:x}: libvirt would drop the whole upload"
            ),
        )
    }

    /// `send` or `send_hole` on a download, where raw libvirt accepts it (a remote download: the
    /// transfer then fails; a NONBLOCK screenshot before its end: the bytes come back out of
    /// `recv`) or loses data (`send_hole` on a screenshot skips bytes, or crashes).
    pub fn send_on_download(call: &str) -> Error {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{call} on a download stream refused: only an upload takes data"),
        )
    }

    /// A blocking `recv` on an upload (a NONBLOCK one returns -2, as in libvirt).
    pub fn recv_on_upload() -> Error {
        Error::new(
            ErrorKind::InvalidOperation,
            "recv on an upload stream refused: nothing ever arrives (a blocking recv would hang forever)",
        )
    }

    /// A sparse download bound past the end of its volume. Raw libvirt 9.0 invents a hole of
    /// the requested length there, or with no length fails every call with "Library function
    /// returned error but did not set virError" (measured; a plain download gets end of stream).
    pub fn sparse_download_past_end(offset: u64, size: u64) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "sparse download from offset {offset} refused: the volume ends at {size} \
                 (libvirt would report a hole that is not there, or fail without a message)"
            ),
        )
    }

    /// A `send` that would cross the end of the upload's range (`offset + length`). libvirt 9.0
    /// accepts it and fails the upload later; when the client's `finish` is already queued, the
    /// daemon also confirms that finish and the client closes the whole connection (Q14).
    pub fn send_past_range(len: usize, range_end: u64, room: u64) -> Error {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "send of {len} {} refused: the upload's range ends at byte {range_end} and \
                 {room} {} of it remain (libvirt would fail the upload, and can close the whole \
                 connection)",
                bytes_word(len as u64),
                bytes_word(room)
            ),
        )
    }

    fn bytes_word(count: u64) -> &'static str {
        if count == 1 { "byte" } else { "bytes" }
    }

    /// An upload's `finish` succeeded but the volume is shorter than what was sent: the daemon
    /// dropped bytes without a word (libvirt 9.0 past the filesystem's largest file, Q13, or on
    /// a full filesystem when the last send is the one that does not fit, Q16).
    pub fn upload_bytes_lost(expected_end: u64, volume_size: u64) -> Error {
        Error::new(
            ErrorKind::System,
            format!(
                "upload lost {} bytes: finish succeeded but the volume ends at {volume_size}, not \
                 {expected_end} (the daemon dropped them: its filesystem filled up, or the file passed \
                 the filesystem's largest size)",
                expected_end - volume_size
            ),
        )
    }
}

/// A second `add_callback`, as each stream kind reports it.
pub fn callback_exists(kind: crate::StreamKind) -> Error {
    match kind {
        crate::StreamKind::Remote => {
            internal(domain::RPC, "multiple stream callbacks not supported")
        }
        crate::StreamKind::Local => {
            internal(domain::STREAMS, "stream already has a callback registered")
        }
    }
    .with_kind(ErrorKind::InvalidOperation)
}

/// `update_callback` / `remove_callback` with none registered, as each stream kind reports it.
pub fn no_callback(kind: crate::StreamKind) -> Error {
    match kind {
        crate::StreamKind::Remote => internal(domain::RPC, "no stream callback registered"),
        crate::StreamKind::Local => internal(
            domain::STREAMS,
            "stream does not have a callback registered",
        ),
    }
    .with_kind(ErrorKind::InvalidOperation)
}

/// `virStorageVolWipePattern` with flags: the storage driver's `virCheckFlags(0)` (measured on
/// libvirt 9.0: 8/18).
pub fn wipe_flags(unknown_bits: u32) -> Error {
    Error::libvirt(
        ErrorKind::InvalidArgument,
        code::INVALID_ARG,
        domain::STORAGE,
        format!("unsupported flags (0x{unknown_bits:x}) in function storageVolWipePattern"),
    )
}

/// `virStorageVolWipePattern` with an algorithm past `VIR_STORAGE_VOL_WIPE_ALG_LAST` (8/18).
pub fn wipe_algorithm_unknown(algorithm: u32) -> Error {
    Error::libvirt(
        ErrorKind::InvalidArgument,
        code::INVALID_ARG,
        domain::STORAGE,
        format!("invalid argument: wiping algorithm {algorithm} not supported"),
    )
}

/// `VIR_STORAGE_VOL_WIPE_ALG_TRIM` on a file volume (74/18 `VIR_ERR_ARGUMENT_UNSUPPORTED`).
pub fn wipe_trim_unsupported() -> Error {
    Error::libvirt(
        ErrorKind::NotSupported,
        74,
        domain::STORAGE,
        "argument unsupported: 'trim' algorithm not supported",
    )
}

/// The scrub(1) algorithms (NNSA … random) on a daemon without `scrub` installed, as Debian's
/// `libvirt-daemon` has it by default (38/0).
pub fn wipe_scrub_missing() -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::NONE,
        "Cannot find 'scrub' in path: No such file or directory",
    )
}

/// The daemon's write into `file` failed because the filesystem is full (Q16: the daemon's
/// fdstream thread, `virFDStreamThreadDoWrite`).
pub fn disk_full(file: &str) -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::STREAMS,
        format!("Unable to write {file}: No space left on device"),
    )
}

/// An upload wrote past its range: the daemon's write fails, reported at `finish`.
pub fn no_space_left() -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::STREAMS,
        "cannot write to stream: No space left on device",
    )
}

/// Binding a volume transfer at an offset past the largest file the daemon's filesystem holds
/// (ext4: 2^44 − 4096; any offset past i64::MAX): the daemon's `lseek` fails. libvirt names the
/// daemon's file; a backend without files names the volume.
pub fn unable_to_seek(file: &str, offset: u64) -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::STREAMS,
        format!("Unable to seek {file} to {offset}: Invalid argument"),
    )
}

/// An upload whose position went past `off_t` (i64::MAX): the daemon's seek fails and `finish`
/// reports it. libvirt names the daemon's file (`unable to seek in /path/pool/vol.raw`); a
/// backend without files names the volume.
pub fn seek_failed(file: &str) -> Error {
    Error::libvirt(
        ErrorKind::System,
        code::SYSTEM_ERROR,
        domain::STREAMS,
        format!("unable to seek in {file}: Invalid argument"),
    )
}

/// The most one remote `send` can carry (`VIR_NET_MESSAGE_MAX` less the header): measured.
pub const MAX_REMOTE_SEND: usize = 33_554_408;

/// A remote `send` larger than [`MAX_REMOTE_SEND`] (the stream stays usable).
pub fn send_too_long(len: usize) -> Error {
    Error::libvirt(
        ErrorKind::Rpc,
        code::RPC,
        domain::RPC,
        format!(
            "Stream data too long to send ({len} bytes needed, {MAX_REMOTE_SEND} bytes available)"
        ),
    )
}

/// `VIR_ERR_INTERNAL_ERROR` in `domain`.
fn internal(domain: i32, detail: &str) -> Error {
    Error::libvirt(
        ErrorKind::Internal,
        code::INTERNAL_ERROR,
        domain,
        format!("internal error: {detail}"),
    )
}

/// `virStoragePoolLookupByName` found nothing.
pub fn no_pool(name: &str) -> Error {
    Error::libvirt(
        ErrorKind::NotFound,
        code::NO_STORAGE_POOL,
        domain::STORAGE,
        format!("Storage pool not found: no storage pool with matching name '{name}'"),
    )
}

/// `virStorageVolCreateXML` with a name the pool already holds (measured: the old volume stays).
pub fn volume_exists(name: &str) -> Error {
    Error::libvirt(
        ErrorKind::InvalidOperation,
        code::STORAGE_VOL_EXIST,
        domain::STORAGE,
        format!("storage volume '{name}' exists already"),
    )
}

/// `virStorageVolLookupByName` found nothing.
pub fn no_volume(name: &str) -> Error {
    Error::libvirt(
        ErrorKind::NotFound,
        code::NO_STORAGE_VOL,
        domain::STORAGE,
        format!("Storage volume not found: no storage vol with matching name '{name}'"),
    )
}

/// `virStorageVolLookupByKey` found nothing (libvirt quotes no key, measured:
/// fixtures/rpc/libvirt-9.0/vol-info-missing.rec).
pub fn no_volume_with_key(key: &str) -> Error {
    Error::libvirt(
        ErrorKind::NotFound,
        code::NO_STORAGE_VOL,
        domain::STORAGE,
        format!("Storage volume not found: no storage vol with matching key {key}"),
    )
}

/// `virStorageVolLookupByPath` found nothing (measured as the key's).
pub fn no_volume_with_path(path: &str) -> Error {
    Error::libvirt(
        ErrorKind::NotFound,
        code::NO_STORAGE_VOL,
        domain::STORAGE,
        format!("Storage volume not found: no storage vol with matching path '{path}'"),
    )
}

/// `virDomainLookupByName` on the test driver found nothing. libvirt 9.0's
/// `testDomainLookupByName` reports no name (measured), so neither does this.
pub fn no_domain() -> Error {
    Error::libvirt(
        ErrorKind::NotFound,
        code::NO_DOMAIN,
        domain::TEST,
        "Domain not found",
    )
}

/// A connection-level call the driver lacks (`virStorageVolUpload` on the test driver, ...).
pub fn driver_lacks(function: &str, from: i32) -> Error {
    Error::libvirt(
        ErrorKind::NotSupported,
        code::NO_SUPPORT,
        from,
        format!("this function is not supported by the connection driver: {function}"),
    )
}
