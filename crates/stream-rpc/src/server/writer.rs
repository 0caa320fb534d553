//! The sending half of a connection, shared by the thread that answers calls and the threads
//! that send downloads: one whole message at a time, blocking (the socket's buffer is the only
//! queue, so a client that reads slowly slows its downloads and nothing piles up in memory).

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

use crate::header::{Header, LEN_SIZE, MESSAGE_MAX};
use crate::{HEADER_SIZE, MessageType, Status};

/// Writes messages to one client.
#[derive(Debug)]
pub struct Writer {
    socket: Mutex<UnixStream>,
}

/// `head` then `payload` with as few system calls as the socket allows (one `writev` for a
/// stream packet, where two writes cost a second syscall and wake-up per packet).
fn write_both(socket: &mut UnixStream, head: &[u8], payload: &[u8]) -> io::Result<()> {
    let mut written = 0;
    let total = head.len() + payload.len();
    while written < total {
        let n = if written < head.len() {
            let parts = [
                io::IoSlice::new(&head[written..]),
                io::IoSlice::new(payload),
            ];
            socket.write_vectored(&parts)
        } else {
            socket.write(&payload[written - head.len()..])
        };
        match n {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

impl Writer {
    /// Messages go to `socket`.
    pub fn new(socket: UnixStream) -> Writer {
        Writer {
            socket: Mutex::new(socket),
        }
    }

    /// One message: `header` and `payload`, its length word first.
    pub fn send(&self, header: &Header, payload: &[u8]) -> io::Result<()> {
        let len = LEN_SIZE + HEADER_SIZE + payload.len();
        let len = u32::try_from(len)
            .ok()
            .filter(|&len| len <= MESSAGE_MAX)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "message over 32 MiB"))?;
        let mut head = [0; LEN_SIZE + HEADER_SIZE];
        head[..LEN_SIZE].copy_from_slice(&len.to_be_bytes());
        head[LEN_SIZE..].copy_from_slice(&header.to_bytes());
        let mut socket = self
            .socket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if payload.len() <= 4096 {
            // Small messages in one write: a reply is one segment, as libvirtd sends it.
            let mut whole = head.to_vec();
            whole.extend_from_slice(payload);
            socket.write_all(&whole)
        } else {
            write_both(&mut socket, &head, payload)
        }
    }

    /// Cuts the connection both ways, as a daemon that dies does: the client's next read ends,
    /// and so does this connection's reader.
    pub fn cut(&self) {
        let socket = self
            .socket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = socket.shutdown(std::net::Shutdown::Both);
    }

    /// A message answering `call` (same program, version, procedure and serial).
    pub fn answer(
        &self,
        call: &Header,
        kind: MessageType,
        status: Status,
        payload: &[u8],
    ) -> io::Result<()> {
        let header = Header {
            kind,
            status,
            ..*call
        };
        self.send(&header, payload)
    }
}
