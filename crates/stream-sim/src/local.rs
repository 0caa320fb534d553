//! A local fdstream download (`virFDStreamRead`), as the test driver's screenshot uses it.
//!
//! Blocking streams read the file directly: a `recv` returns as much as the buffer takes. NONBLOCK
//! streams go through libvirt's I/O thread, which queues messages of 256 KiB; a `recv` then takes
//! from one message at most; once such a `recv` has returned end of stream, libvirt has closed
//! the pipe and every later `recv` fails (measured: FINDINGS.md Q17 D).

use stream_core::{Recv, Result, libvirt_errors};

use crate::packets::READ_CHUNK;
use crate::schedule::Schedule;
use crate::volume::Volume;

/// A local download in progress.
#[derive(Debug)]
pub struct LocalDownload {
    snapshot: Volume,
    position: u64,
    end: u64,
    /// NONBLOCK only: the I/O thread's queued message, as (offset, remaining length).
    message: Option<(u64, u64)>,
    /// NONBLOCK only: where the I/O thread will read next.
    thread_position: u64,
    /// NONBLOCK only: a `recv` returned end of stream (libvirt closed the pipe then).
    pipe_closed: bool,
}

impl LocalDownload {
    /// A download of `snapshot` from `start` to `end`.
    pub fn new(snapshot: Volume, start: u64, end: u64) -> LocalDownload {
        LocalDownload {
            snapshot,
            position: start,
            end,
            message: None,
            thread_position: start,
            pipe_closed: false,
        }
    }

    /// The I/O thread queues its next message, if it has anything left to read.
    pub fn thread_step(&mut self) {
        if self.message.is_none() && self.thread_position < self.end {
            let len = READ_CHUNK.min(self.end - self.thread_position);
            self.message = Some((self.thread_position, len));
            self.thread_position += len;
        }
    }

    /// Whether the pipe has a message to read (READABLE in thread mode).
    pub fn message_ready(&self) -> bool {
        self.message.is_some()
    }

    /// Whether the I/O thread has read everything and closed the pipe (HANGUP in thread mode).
    pub fn thread_done(&self) -> bool {
        self.thread_position >= self.end
    }

    /// `virFDStreamRead`.
    pub fn recv(&mut self, buf: &mut [u8], nonblock: Option<&mut Schedule>) -> Result<Recv> {
        let Some(schedule) = nonblock else {
            let take = (self.end - self.position).min(buf.len() as u64) as usize;
            self.snapshot.read(self.position, &mut buf[..take]);
            self.position += take as u64;
            return Ok(if take == 0 && !buf.is_empty() {
                Recv::Eof
            } else {
                Recv::Data(take)
            });
        };
        if self.message.is_none() {
            if self.thread_done() {
                if buf.is_empty() {
                    return Ok(Recv::Data(0));
                }
                if std::mem::replace(&mut self.pipe_closed, true) {
                    return Err(libvirt_errors::stream_not_open_bad_fd());
                }
                return Ok(Recv::Eof);
            }
            if schedule.would_block() {
                return Ok(Recv::WouldBlock);
            }
            self.thread_step();
        }
        let Some((offset, len)) = self.message.as_mut() else {
            return Ok(Recv::Eof);
        };
        let take = (*len).min(buf.len() as u64) as usize;
        self.snapshot.read(*offset, &mut buf[..take]);
        *offset += take as u64;
        *len -= take as u64;
        if *len == 0 {
            self.message = None;
        }
        Ok(Recv::Data(take))
    }
}
