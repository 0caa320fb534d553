//! Where this backend deliberately differs from raw libvirt 9.0, and why.
//!
//! Rows marked † are shown raw by a test (tests/it/deviations.rs) that runs the misuse in a
//! child process and observes the crash, hang or loss, beside the guarded call.
//!
//! | misuse | raw libvirt 9.0 (measured, fixtures/libvirt-9.0/) | through this crate |
//! |---|---|---|
//! | `send_hole` length 0 or negative, sparse upload | returns 0; the daemon drops the upload; `finish` returns 0, or hangs forever if data followed | `InvalidArgument`, nothing sent, stream usable |
//! | `send_hole` flags ≠ 0 | same silent loss | `InvalidArgument` |
//! | † `send` of 0 bytes on an upload | taken as end of stream; later data dropped | `InvalidArgument` |
//! | `send` / `send_hole` on a download | accepted; echoed or fails later | `InvalidOperation` |
//! | † `recv` on an upload | blocking: hangs forever | `InvalidOperation` |
//! | † any call on a local (fdstream) stream after `finish`/`abort` | `finish`/`abort` return 0, `send_hole` segfaults | "stream is closed", as remote streams |
//! | callback calls after `finish`/`abort` (remote) | still operate on the stream | "stream is closed" |
//! | † `finish`/`abort` with a callback registered | remote keeps it registered | removed first |
//! | event callback with no function | segfault | impossible: a `Box<dyn FnMut>` is never null |
//! | NONBLOCK stream with no event loop | `-2` forever | the crate runs the loop while a NONBLOCK stream or a callback lives |
//! | † write to a dead daemon | SIGPIPE kills the process | SIGPIPE ignored: the call returns an error |
//! | NONBLOCK `recv` after the daemon died (Q11) | `-2` forever, never an error | libvirt's "client socket is closed" once libvirt has closed the connection (within ~60 ms) |
//! | event callback when the daemon dies (Q11) | `ERROR`/`HANGUP` never fire, `READABLE` never again, `WRITABLE` keeps firing ~300,000 times/s where asked for | the callback gets `ERROR \| HANGUP` once (from the connection's close callback) |
//! | sparse download bound past the end of the volume (Q12) | a hole of the requested length that is not there, or every call fails with "Library function returned error but did not set virError" | `InvalidArgument` at bind, naming the volume's end |
//! | `send` crossing the end of an upload's range (Q14) | accepted; the upload fails later, and now and then the daemon also confirms the queued `finish`, which makes the client close the whole connection | `InvalidArgument` naming the range's end and the room left, nothing sent, stream usable |
//! | upload crossing the filesystem's largest file, e.g. ext4's 2^44 − 4096 (Q13), or filling the filesystem with its last send (Q16) | the bytes past it are dropped; `send` and `finish` succeed | after `finish`, the volume's size is checked against what was sent: `System` error naming the bytes lost |
//! | a call after a `finish` that failed because the daemon died (Q11) | "client socket is closed" | "stream is closed", as after any failed `finish` |
//! | † `finish`/`abort`/drop right after removing a local stream's callback, with the event loop running (Q15) | a dispatch in flight locks the freed fdstream data: valgrind's invalid write, `(<NULL-class>) is not a virObjectLockable instance` | removing a callback waits until the loop's current iteration has ended |
//! | `recv` flags on a local stream | "not supported: virStreamRecvFlags" even for `STOP_AT_HOLE` | `STOP_AT_HOLE` on a non-sparse stream is a plain `recv`; unknown bits keep libvirt's error |
