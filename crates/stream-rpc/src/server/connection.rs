//! One client connection: its thread reads messages and answers them in order; downloads are
//! sent by threads of their own, so the reader keeps taking the client's messages (keepalive
//! pings, finish, abort) while a download runs.
//!
//! What a bad message does, as libvirtd: a frame that cannot be a message (length word under 28
//! bytes or over 32 MiB, or the connection ending inside one) ends this connection; a call to an
//! unknown program, version or procedure, or with arguments that do not decode, gets a REPLY
//! ERROR and the connection goes on. Nothing a client sends reaches another connection.

use std::io;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use stream_sim::SimBackend;

use crate::header::Header;
use crate::protocol::procedure::{KEEPALIVE_PING, KEEPALIVE_PONG};
use crate::server::dispatch::{Dispatcher, Outcome};
use crate::server::streams::Streams;
use crate::server::wire_error::rpc_error;
use crate::server::writer::Writer;
use crate::xdr;
use crate::{
    Frame, FrameReader, KEEPALIVE_PROGRAM, KEEPALIVE_VERSION, MessageType, REMOTE_PROGRAM,
    REMOTE_VERSION, Status,
};

/// Serves one client until it leaves (or sends what cannot be a message).
pub fn serve(socket: UnixStream, sim: SimBackend) {
    let Ok(write_half) = socket.try_clone() else {
        return;
    };
    let writer = Arc::new(Writer::new(write_half));
    let mut connection = Connection {
        dispatcher: Dispatcher::new(sim),
        streams: Streams::default(),
        writer,
    };
    let mut reader = FrameReader::new(&socket);
    // Ends at the client's end of stream, a refused frame or a failed write.
    while let Ok(Some(frame)) = reader.next_frame() {
        if connection.message(frame).is_err() {
            break;
        }
    }
    // Unblocks download threads stuck writing to a client that went away.
    let _ = socket.shutdown(Shutdown::Both);
    connection.streams.close_all();
}

struct Connection {
    dispatcher: Dispatcher,
    streams: Streams,
    writer: Arc<Writer>,
}

impl Connection {
    fn message(&mut self, frame: Frame) -> io::Result<()> {
        let h = frame.header;
        match (h.prog, h.kind) {
            (KEEPALIVE_PROGRAM, MessageType::MESSAGE) => {
                if h.vers == KEEPALIVE_VERSION && h.proc_ == KEEPALIVE_PING {
                    let pong = Header {
                        proc_: KEEPALIVE_PONG,
                        ..h
                    };
                    return self.writer.send(&pong, &[]);
                }
                Ok(())
            }
            (_, MessageType::CALL) => self.call(&h, &frame.payload),
            (REMOTE_PROGRAM, MessageType::STREAM | MessageType::STREAM_HOLE)
                if h.vers == REMOTE_VERSION =>
            {
                self.streams.message(&frame, &self.writer)
            }
            // Replies, events and anything else from a client: libvirtd drops them.
            _ => Ok(()),
        }
    }

    fn call(&mut self, h: &Header, payload: &[u8]) -> io::Result<()> {
        if h.prog != REMOTE_PROGRAM || h.vers != REMOTE_VERSION {
            // libvirt prints the program as a signed int.
            let error = rpc_error(format!(
                "Cannot find program {} version {}",
                h.prog as i32, h.vers
            ));
            return self.error(h, &xdr::to_bytes(&error));
        }
        if h.status != Status::OK {
            let error = rpc_error(format!("Unexpected message status {}", h.status.0));
            return self.error(h, &xdr::to_bytes(&error));
        }
        match self.dispatcher.call(h.proc_, payload) {
            Outcome::Reply(ret) => self.ok(h, &ret),
            Outcome::Closed => self.ok(h, &[]),
            Outcome::Error(error) => self.error(h, &xdr::to_bytes(&error)),
            Outcome::Upload(upload) => {
                self.ok(h, &[])?;
                self.streams.start_upload(*h, upload);
                Ok(())
            }
            Outcome::Download(ret, download) => {
                // The REPLY goes out before the first stream message.
                self.ok(h, &ret)?;
                self.streams
                    .start_download(*h, download, self.writer.clone());
                Ok(())
            }
        }
    }

    fn ok(&self, call: &Header, payload: &[u8]) -> io::Result<()> {
        self.writer
            .answer(call, MessageType::REPLY, Status::OK, payload)
    }

    fn error(&self, call: &Header, payload: &[u8]) -> io::Result<()> {
        self.writer
            .answer(call, MessageType::REPLY, Status::ERROR, payload)
    }
}
