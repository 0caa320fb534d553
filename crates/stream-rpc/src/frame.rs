//! One whole message: encoding, decoding from a buffer, and reading from a byte stream.

use std::io::{self, Read};

use crate::header::{HEADER_SIZE, Header, LEN_SIZE, MESSAGE_MAX};

/// The smallest legal message: a length word and a header, no payload.
const MESSAGE_MIN: u32 = (LEN_SIZE + HEADER_SIZE) as u32;

/// Why bytes are not a message. The texts follow `virNetMessageDecodeLength`'s where it has one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length word is below the length word plus a header.
    #[error("packet {len} bytes too small, want at least {MESSAGE_MIN}")]
    TooSmall {
        /// The length word as sent.
        len: u32,
    },
    /// The length word (or an encoded message) is over libvirt's 32 MiB limit.
    #[error("packet {len} bytes too large, want at most {MESSAGE_MAX}")]
    TooLarge {
        /// The length the message says it has (or would have).
        len: u64,
    },
    /// The bytes end inside a message.
    #[error("truncated message: {have} of {need} bytes")]
    Truncated {
        /// Bytes available.
        have: usize,
        /// Bytes the message needs.
        need: usize,
    },
    /// The underlying reader failed.
    #[error("reading a message: {0}")]
    Io(#[from] io::Error),
}

/// A header and its payload (the XDR body, stream bytes, or a `remote_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The six header fields.
    pub header: Header,
    /// Everything after the header.
    pub payload: Vec<u8>,
}

impl Frame {
    /// A CALL of the REMOTE program, version 1: procedure `proc_` (`REMOTE_PROC_*`) with
    /// `serial` and its XDR arguments, as a client sends it.
    pub fn remote_call(proc_: u32, serial: u32, payload: Vec<u8>) -> Frame {
        let header = crate::Header {
            prog: crate::REMOTE_PROGRAM,
            vers: crate::REMOTE_VERSION,
            proc_,
            kind: crate::MessageType::CALL,
            serial,
            status: crate::Status::OK,
        };
        Frame { header, payload }
    }

    /// The value of the length word this frame is sent with.
    pub fn wire_len(&self) -> u64 {
        u64::from(MESSAGE_MIN) + self.payload.len() as u64
    }

    /// The whole message, length word first; refuses a payload that would pass 32 MiB.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let len = self.wire_len();
        let len32 = u32::try_from(len).ok().filter(|&l| l <= MESSAGE_MAX);
        let len32 = len32.ok_or(FrameError::TooLarge { len })?;
        let mut out = Vec::with_capacity(len32 as usize);
        out.extend_from_slice(&len32.to_be_bytes());
        out.extend_from_slice(&self.header.to_bytes());
        out.extend_from_slice(&self.payload);
        Ok(out)
    }
}

/// Checks a length word before anything is allocated for it.
fn check_len(len: u32) -> Result<usize, FrameError> {
    if len < MESSAGE_MIN {
        Err(FrameError::TooSmall { len })
    } else if len > MESSAGE_MAX {
        Err(FrameError::TooLarge { len: len.into() })
    } else {
        Ok(len as usize)
    }
}

/// Splits a message body (the bytes after the length word) into header and payload.
fn split_body(body: &[u8]) -> Frame {
    let (head, payload) = body.split_at(HEADER_SIZE);
    let head: &[u8; HEADER_SIZE] = head.try_into().expect("split_at gives HEADER_SIZE bytes");
    Frame {
        header: Header::from_bytes(head),
        payload: payload.to_vec(),
    }
}

/// Decodes the message at the start of `buf`; returns it and the bytes it used.
pub fn decode_frame(buf: &[u8]) -> Result<(Frame, usize), FrameError> {
    let Some(len_word) = buf.first_chunk::<LEN_SIZE>() else {
        return Err(FrameError::Truncated {
            have: buf.len(),
            need: LEN_SIZE,
        });
    };
    let len = check_len(u32::from_be_bytes(*len_word))?;
    let whole = buf.get(..len).ok_or(FrameError::Truncated {
        have: buf.len(),
        need: len,
    })?;
    Ok((split_body(&whole[LEN_SIZE..]), len))
}

/// Cuts a byte stream into frames, checking each length word before reading the rest.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
}

impl<R: Read> FrameReader<R> {
    /// Reads frames from `inner`.
    pub fn new(inner: R) -> Self {
        Self { inner }
    }

    /// The next frame; `Ok(None)` when the stream ends between frames.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let mut len_word = [0; LEN_SIZE];
        let got = read_full(&mut self.inner, &mut len_word)?;
        if got == 0 {
            return Ok(None);
        }
        if got < LEN_SIZE {
            return Err(FrameError::Truncated {
                have: got,
                need: LEN_SIZE,
            });
        }
        let len = check_len(u32::from_be_bytes(len_word))?;
        // The header and the payload are read into their own buffers: the payload (up to
        // 32 MiB of an upload) is then moved into the frame, not copied out of a whole body.
        let mut head = [0; HEADER_SIZE];
        let mut payload = vec![0; len - LEN_SIZE - HEADER_SIZE];
        let got = read_full(&mut self.inner, &mut head)?;
        let got = if got == HEADER_SIZE {
            got + read_full(&mut self.inner, &mut payload)?
        } else {
            got
        };
        if got < HEADER_SIZE + payload.len() {
            return Err(FrameError::Truncated {
                have: LEN_SIZE + got,
                need: len,
            });
        }
        Ok(Some(Frame {
            header: Header::from_bytes(&head),
            payload,
        }))
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
