//! The streams open on one connection, keyed by the serial of the call that opened them, and
//! the stream messages of libvirtd 9.0 (fixtures/rpc/libvirt-9.0, README "What they show"):
//!
//! - a download is sent by its own thread, packet by packet as [`ServedDownload`] gives them:
//!   `STREAM CONTINUE` data (at most 262120 bytes, never across a data section), one
//!   `STREAM_HOLE` per hole, the end as an empty `STREAM CONTINUE`; the client's finish (empty
//!   `STREAM OK`) or abort (empty `STREAM ERROR`) stops it and is confirmed with an empty `OK`;
//! - an upload's messages are applied as they arrive (any size up to the 32 MiB message limit);
//!   the daemon's first write failure goes out at once as `STREAM ERROR` with the
//!   `remote_error`, then the stream is gone: later messages for it are dropped and nothing
//!   confirms them (what libvirtd does; a client then reports the error it got);
//! - a message for a serial with no stream is dropped, as libvirtd drops it;
//! - a bad hole (length below 1, flags) gets the daemon's refusal as `STREAM ERROR`, where
//!   libvirtd 9.0 drops the upload silently (see [`ServedUpload::hole`]);
//! - a fault plan's point (`stream_sim::FaultPlan`, at byte positions): an error goes out as
//!   `STREAM ERROR` and nothing confirms the stream after it; a death cuts the connection both
//!   ways; a stall sends nothing more for a download and applies nothing more of an upload (its
//!   finish is never confirmed), while the connection keeps answering calls and keepalives and an
//!   abort is still confirmed.
//!
//! Where libvirtd is racy, the choice that never breaks a client: after an abort of a download,
//! packets already written still arrive before the `OK` (the recording shows the same), and no
//! `OK` ever follows an `ERROR`.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use stream_sim::{DownloadPacket, Flow, ServedDownload, ServedUpload};

use crate::header::Header;
use crate::protocol::StreamHole;
use crate::server::wire_error::{remote_error, rpc_error};
use crate::server::writer::Writer;
use crate::xdr;
use crate::{Frame, MessageType, Status};

/// A download being sent.
#[derive(Debug)]
struct Sending {
    stop: Arc<AtomicBool>,
    /// Set by the thread when it sent a `STREAM ERROR`: nothing confirms the stream after it.
    failed: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Sending {
    /// Stops sending (at the next packet) and waits for the thread.
    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        // The thread only writes; a panic there would be a bug, and it is the thread's alone.
        let _ = self.thread.join();
    }
}

#[derive(Debug)]
enum Served {
    Upload(Box<ServedUpload>),
    Download(Sending),
    /// An upload whose daemon stopped answering (a fault plan's stall).
    StalledUpload,
}

/// The streams of one connection.
#[derive(Debug, Default)]
pub struct Streams {
    open: HashMap<u32, Served>,
}

impl Streams {
    /// Starts sending `download` for the call `call` (whose REPLY is already sent).
    pub fn start_download(&mut self, call: Header, download: ServedDownload, writer: Arc<Writer>) {
        let stop = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicBool::new(false));
        let (stopped, failing) = (stop.clone(), failed.clone());
        let spawned = thread::Builder::new()
            .name(format!("serve-download-{}", call.serial))
            .spawn(move || send_download(call, download, &writer, &stopped, &failing));
        // No thread (the system is out of them): the client sees the stream end without data
        // and its finish is confirmed; nothing else on the connection is affected.
        if let Ok(thread) = spawned {
            let sending = Sending {
                stop,
                failed,
                thread,
            };
            self.replace(call.serial, Served::Download(sending));
        }
    }

    /// Receives an upload for the call `call` (whose REPLY is already sent).
    pub fn start_upload(&mut self, call: Header, upload: ServedUpload) {
        self.replace(call.serial, Served::Upload(Box::new(upload)));
    }

    /// A new stream under `serial`: a client that reuses the serial of an open stream ends the
    /// old one (a download's thread is stopped, not left running unowned).
    fn replace(&mut self, serial: u32, served: Served) {
        if let Some(Served::Download(sending)) = self.open.insert(serial, served) {
            sending.stop();
        }
    }

    /// A `STREAM` or `STREAM_HOLE` message from the client.
    pub fn message(&mut self, frame: &Frame, writer: &Writer) -> io::Result<()> {
        let h = &frame.header;
        let Some(served) = self.open.remove(&h.serial) else {
            return Ok(());
        };
        match (served, h.kind, h.status) {
            // Finish or abort of a download: stop sending, confirm (unless the daemon's side
            // failed: no OK follows an ERROR).
            (Served::Download(sending), MessageType::STREAM, Status::OK | Status::ERROR) => {
                let failed = sending.failed.load(Ordering::SeqCst);
                sending.stop();
                if failed {
                    return Ok(());
                }
                writer.answer(h, MessageType::STREAM, Status::OK, &[])
            }
            // Data for a download: libvirtd ignores it.
            (download @ Served::Download(_), _, _) => {
                self.open.insert(h.serial, download);
                Ok(())
            }
            (Served::Upload(upload), MessageType::STREAM, Status::OK) => match upload.finish() {
                Ok(()) => writer.answer(h, MessageType::STREAM, Status::OK, &[]),
                Err(error) => {
                    let payload = xdr::to_bytes(&remote_error(&error));
                    writer.answer(h, MessageType::STREAM, Status::ERROR, &payload)
                }
            },
            (Served::Upload(_) | Served::StalledUpload, MessageType::STREAM, Status::ERROR) => {
                writer.answer(h, MessageType::STREAM, Status::OK, &[])
            }
            // A stalled daemon applies nothing and never confirms the finish.
            (Served::StalledUpload, _, _) => {
                self.open.insert(h.serial, Served::StalledUpload);
                Ok(())
            }
            (Served::Upload(mut upload), kind, _) => {
                let applied = if kind == MessageType::STREAM_HOLE {
                    match xdr::from_bytes::<StreamHole>(&frame.payload) {
                        Ok(hole) => upload
                            .hole(hole.length, hole.flags)
                            .map_err(|e| remote_error(&e)),
                        Err(_) => Err(rpc_error("Unable to decode message payload")),
                    }
                } else {
                    upload.data(&frame.payload).map_err(|e| remote_error(&e))
                };
                let failed = applied
                    .as_ref()
                    .err()
                    .cloned()
                    .or_else(|| upload.failure().map(|e| remote_error(&e)));
                match (failed, applied) {
                    (Some(error), _) => {
                        let payload = xdr::to_bytes(&error);
                        writer.answer(h, MessageType::STREAM, Status::ERROR, &payload)
                    }
                    (None, Ok(Flow::Die)) => {
                        writer.cut();
                        Ok(())
                    }
                    (None, Ok(Flow::Stall)) => {
                        self.open.insert(h.serial, Served::StalledUpload);
                        Ok(())
                    }
                    (None, _) => {
                        self.open.insert(h.serial, Served::Upload(upload));
                        Ok(())
                    }
                }
            }
        }
    }

    /// The connection is over: stop every download (their writes fail once the socket is shut).
    pub fn close_all(&mut self) {
        for (_, served) in self.open.drain() {
            if let Served::Download(sending) = served {
                sending.stop();
            }
        }
    }
}

/// The download thread: every packet, then the end; stops early when told or when the client
/// is gone.
fn send_download(
    call: Header,
    mut download: ServedDownload,
    writer: &Writer,
    stop: &AtomicBool,
    failed: &AtomicBool,
) {
    let mut buf = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let sent = match download.next_packet(&mut buf) {
            DownloadPacket::Data(len) => {
                writer.answer(&call, MessageType::STREAM, Status::CONTINUE, &buf[..len])
            }
            DownloadPacket::Hole(length) => {
                let hole = StreamHole {
                    // Volumes stop at i64::MAX, so a hole always fits.
                    length: i64::try_from(length).unwrap_or(i64::MAX),
                    flags: 0,
                };
                let payload = xdr::to_bytes(&hole);
                writer.answer(&call, MessageType::STREAM_HOLE, Status::CONTINUE, &payload)
            }
            DownloadPacket::End => {
                let _ = writer.answer(&call, MessageType::STREAM, Status::CONTINUE, &[]);
                return;
            }
            DownloadPacket::Fail(error) => {
                failed.store(true, Ordering::SeqCst);
                let payload = xdr::to_bytes(&remote_error(&error));
                let _ = writer.answer(&call, MessageType::STREAM, Status::ERROR, &payload);
                return;
            }
            DownloadPacket::Die => {
                writer.cut();
                return;
            }
            DownloadPacket::Stall => {
                // Silence until the client gives up (its abort or finish, or its end).
                while !stop.load(Ordering::SeqCst) {
                    thread::sleep(std::time::Duration::from_millis(20));
                }
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
}
