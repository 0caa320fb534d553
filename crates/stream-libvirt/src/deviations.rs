//! Where this backend deliberately differs from raw libvirt 9.0, and why.
//!
//! The rule (CONTRACT.md §4): virtstream returns exactly what raw libvirt returns (value, error
//! code, domain, message, and the order in which libvirt checks them) except where raw libvirt
//! crashes, hangs, or loses data, and except the one uniform lifecycle after `finish`/`abort`
//! that CONTRACT.md §3 gives local streams (modelled on remote streams). Each exception is a row
//! below; the raw column starts with what the row prevents (**crash**, **hang**, **loss**,
//! **spin**) or says **lifecycle**. Where libvirt refuses a misuse safely there is no row: its
//! own error is returned (`send_hole` on a non-sparse stream, a screenshot's `send`, a NONBLOCK
//! `recv` on an upload, libvirt's flag, sparseness and size checks after `finish`: tests/it/
//! libvirt_answers.rs compares each with the raw call).
//!
//! Rows marked † are shown raw by a test (tests/it/deviations.rs unless named) that runs the
//! misuse raw (in a child process where it crashes or hangs) beside the guarded call.
//!
//! | misuse | raw libvirt 9.0 (measured, fixtures/libvirt-9.0/) | through this crate |
//! |---|---|---|
//! | † `send_hole` length 0 or negative, sparse upload | **loss**: returns 0; the daemon drops the upload (of 10 bytes, hole, 10 bytes: 0 or the first 10 kept); `finish` returns 0, or hangs forever if data followed | `InvalidArgument`, nothing sent, stream usable |
//! | † `send_hole` flags ≠ 0, sparse upload | **loss**: same silent loss | `InvalidArgument` |
//! | † `send` of 0 bytes on an upload | **loss**: taken as end of stream; later data dropped | `InvalidArgument` |
//! | † `send` (any length) on a remote download, `send_hole` on a sparse remote download (Q4, Q17 B, H) | **loss**: accepted; the transfer then fails with a sticky 39/38 "stream had unexpected termination", at `finish`, or with an event loop running at a `recv` that loses the bytes still to come | `InvalidOperation`, the download goes on |
//! | † `send` of any length on a NONBLOCK screenshot before its end (Q17 B) | **loss**: accepted; the bytes come back out of `recv`, an empty send ends the screenshot at once (after the end: 38/38 "cannot write to stream: Bad file descriptor", returned as is) | `InvalidOperation` until `recv` returned end of stream |
//! | † `send_hole` of length ≥ 1, flags 0, on a screenshot (Q17 B) | **loss** (blocking): "unable to truncate", after skipping that many bytes of the screenshot; **crash** (NONBLOCK): segmentation fault | `InvalidOperation` (flags and a length below 1 get libvirt's own 8/38 errors first) |
//! | † blocking `recv` on an upload | **hang**: forever (a NONBLOCK one returns -2, returned as is) | `InvalidOperation` |
//! | † any call on a local (fdstream) stream after `finish`/`abort` (Q5, Q17 L; also tests/it/libvirt_answers.rs) | **lifecycle**, and **crash**: `finish`/`abort` return 0, data and callback calls fail "internal error: stream is not open" (1/38), a valid `send_hole` segfaults | libvirt's checks that ignore the state first (`virFDStreamSendHole`'s flags and length, the missing `virStreamRecvHole`/`virStreamRecvFlags`), then "stream is closed" as remote streams |
//! | † callback calls after `finish`/`abort` (remote, Q17 A, G) | **spin**: a callback added then is called ~300,000 times a second, on a stream every call of which fails, until removed; update/remove answer "no stream callback registered" | "stream is closed" for all three |
//! | † `finish`/`abort` with a callback registered | **spin**: remote keeps it registered (as above) | removed first |
//! | event callback with no function | **crash**: segfault | impossible: a `Box<dyn FnMut>` is never null |
//! | † NONBLOCK stream with no event loop | **hang**: `-2` forever (a download: ~1,800 times in 2 s, no byte) | the crate runs the loop while a NONBLOCK stream or a callback lives |
//! | † write to a dead daemon | **crash**: SIGPIPE kills the process | SIGPIPE ignored: the call returns an error |
//! | NONBLOCK `recv` after the daemon died (Q11) | **hang**: `-2` forever, never an error | libvirt's "client socket is closed" once libvirt has closed the connection (within ~60 ms) |
//! | event callback when the daemon dies (Q11) | **hang**: `ERROR`/`HANGUP` never fire, `READABLE` never again, `WRITABLE` keeps firing ~300,000 times/s where asked for | the callback gets `ERROR \| HANGUP` once (from the connection's close callback) |
//! | † sparse download bound past the end of the volume (Q12) | **loss**: a hole of the requested length that is not there, or every call fails with "Library function returned error but did not set virError" (1/7), then, once the daemon's failure has arrived, 39/38 "stream had I/O failure" | `InvalidArgument` at bind, naming the volume's end |
//! | `send` crossing the end of an upload's range (Q14) | **loss**: accepted; the upload fails later, and now and then the daemon also confirms the queued `finish`, which makes the client close the whole connection | `InvalidArgument` naming the range's end and the room left, nothing sent, stream usable |
//! | upload crossing the filesystem's largest file, e.g. ext4's 2^44 − 4096 (Q13), or filling the filesystem with its last send (Q16) | **loss**: the bytes past it are dropped; `send` and `finish` succeed | after `finish`, the volume's size is checked against what was sent: `System` error naming the bytes lost |
//! | a call after a `finish` that failed because the daemon died (Q11) | **lifecycle**: "client socket is closed" | "stream is closed", as after any failed `finish` |
//! | † `finish`/`abort`/drop right after removing a local stream's callback, with the event loop running (Q15; tests/it/callback_removal.rs) | **crash**: a dispatch in flight locks the freed fdstream data: valgrind's invalid write, `(<NULL-class>) is not a virObjectLockable instance` | removing a callback waits until the loop's current iteration has ended |
