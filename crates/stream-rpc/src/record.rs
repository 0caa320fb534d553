//! The recording format: one line per message, as `stream-rpc-proxy` writes it.
//!
//! ```text
//! # comment lines start with '#'
//! 1 c>s prog=REMOTE vers=1 proc=66 type=CALL serial=0 status=OK len=0 data=
//! 1 s>c prog=REMOTE vers=1 proc=66 type=REPLY serial=0 status=OK len=8 data=0000000100000000
//! 1 c>s prog=REMOTE vers=1 proc=209 type=STREAM serial=7 status=CONTINUE len=262120
//! ```
//!
//! Fields, space-separated, in this order: the connection number (1 for the first client the
//! proxy accepted), the direction (`c>s` client to server, `s>c` server to client), the six
//! header fields (`prog` is `REMOTE`, `KEEPALIVE` or `0x` hex; `type` and `status` are libvirt's
//! names without `VIR_NET_`, or a number), `len` (payload bytes) and `data` (the payload in lower
//! hex). `data` is written for every message that is not stream data (`type=STREAM` with a status
//! other than `ERROR`) and whose payload is at most [`DATA_MAX`] bytes; it is absent otherwise.

use std::fmt;

use crate::Frame;
use crate::header::{Header, KEEPALIVE_PROGRAM, MessageType, REMOTE_PROGRAM, Status};

/// Payloads longer than this are recorded by length only.
pub const DATA_MAX: usize = 4096;

/// Which way a message went through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to libvirtd.
    ToServer,
    /// From libvirtd to the client.
    ToClient,
}

impl Direction {
    /// `c>s` or `s>c`, as the record format writes it.
    pub fn token(self) -> &'static str {
        match self {
            Self::ToServer => "c>s",
            Self::ToClient => "s>c",
        }
    }
}

/// One recorded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Connection number, from 1 in accept order.
    pub conn: u32,
    /// Direction.
    pub dir: Direction,
    /// The header as sent.
    pub header: Header,
    /// Payload length in bytes.
    pub len: usize,
    /// The payload, when the format keeps it.
    pub data: Option<Vec<u8>>,
}

/// A line that is not a [`Record`]: the line number (from 1) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was expected.
    pub reason: String,
}

/// Whether the format keeps this message's payload.
pub fn keeps_data(header: &Header, len: usize) -> bool {
    let stream_data = header.kind == MessageType::STREAM && header.status != Status::ERROR;
    !stream_data && len <= DATA_MAX
}

impl Record {
    /// The record of `frame` seen on connection `conn` going `dir`.
    pub fn of_frame(conn: u32, dir: Direction, frame: &Frame) -> Self {
        let len = frame.payload.len();
        let data = keeps_data(&frame.header, len).then(|| frame.payload.clone());
        Self {
            conn,
            dir,
            header: frame.header,
            len,
            data,
        }
    }

    /// Parses one line written by [`Record`]'s `Display`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut fields = text.split(' ');
        let mut next = |key: &str| -> Result<&str, String> {
            let field = fields.next().ok_or_else(|| format!("missing {key}"))?;
            if key.is_empty() {
                return Ok(field);
            }
            field
                .strip_prefix(key)
                .and_then(|f| f.strip_prefix('='))
                .ok_or_else(|| format!("expected {key}=, found {field:?}"))
        };
        let conn = number(next("")?)?;
        let dir = match next("")? {
            "c>s" => Direction::ToServer,
            "s>c" => Direction::ToClient,
            other => return Err(format!("direction {other:?} is not c>s or s>c")),
        };
        let prog = match next("prog")? {
            "REMOTE" => REMOTE_PROGRAM,
            "KEEPALIVE" => KEEPALIVE_PROGRAM,
            hex => hex
                .strip_prefix("0x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("prog {hex:?}"))?,
        };
        let vers = number(next("vers")?)?;
        let proc_ = number(next("proc")?)?;
        let kind = next("type")?;
        let kind = MessageType::from_name(kind).ok_or_else(|| format!("type {kind:?}"))?;
        let serial = number(next("serial")?)?;
        let status = next("status")?;
        let status = Status::from_name(status).ok_or_else(|| format!("status {status:?}"))?;
        let len = number(next("len")?)? as usize;
        let data = match next("data") {
            Ok(hex) => Some(from_hex(hex)?),
            Err(e) if e.starts_with("missing") => None,
            Err(e) => return Err(e),
        };
        if fields.next().is_some() {
            return Err("text after the last field".into());
        }
        let header = Header {
            prog,
            vers,
            proc_,
            kind,
            serial,
            status,
        };
        Ok(Self {
            conn,
            dir,
            header,
            len,
            data,
        })
    }
}

/// Parses a whole recording, skipping blank and `#` lines.
pub fn parse_recording(text: &str) -> Result<Vec<Record>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            Record::parse(l).map_err(|reason| ParseError {
                line: i + 1,
                reason,
            })
        })
        .collect()
}

fn number(text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("data {text:?} is not hex bytes"));
    }
    Ok((0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap_or(0))
        .collect())
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        write!(f, "{} {} prog=", self.conn, self.dir.token())?;
        match h.prog {
            REMOTE_PROGRAM => f.write_str("REMOTE")?,
            KEEPALIVE_PROGRAM => f.write_str("KEEPALIVE")?,
            other => write!(f, "{other:#x}")?,
        }
        write!(
            f,
            " vers={} proc={} type={} serial={}",
            h.vers, h.proc_, h.kind, h.serial
        )?;
        write!(f, " status={} len={}", h.status, self.len)?;
        if let Some(data) = &self.data {
            f.write_str(" data=")?;
            data.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        }
        Ok(())
    }
}
