//! The message header of `virnetprotocol.x` (`virNetMessageHeader`) and its named values.

use std::fmt;

/// `VIR_NET_MESSAGE_MAX`: the largest whole message (length word included), 32 MiB.
pub const MESSAGE_MAX: u32 = 33_554_432;
/// `VIR_NET_MESSAGE_LEN_MAX`: the size of the length word.
pub const LEN_SIZE: usize = 4;
/// `VIR_NET_MESSAGE_HEADER_MAX`: six 32-bit fields.
pub const HEADER_SIZE: usize = 24;
/// `VIR_NET_MESSAGE_PAYLOAD_MAX`: what is left for the payload in the largest message.
pub const PAYLOAD_MAX: u32 = MESSAGE_MAX - (LEN_SIZE + HEADER_SIZE) as u32;
/// `REMOTE_PROGRAM` of `remote_protocol.x`.
pub const REMOTE_PROGRAM: u32 = 0x2000_8086;
/// `REMOTE_PROTOCOL_VERSION`.
pub const REMOTE_VERSION: u32 = 1;
/// `KEEPALIVE_PROGRAM` of `virkeepaliveprotocol.x` (`"keep"` in ASCII).
pub const KEEPALIVE_PROGRAM: u32 = 0x6b65_6570;
/// `KEEPALIVE_PROTOCOL_VERSION`.
pub const KEEPALIVE_VERSION: u32 = 1;

/// `virNetMessageType`, kept as the raw number so an unknown value can be reported, not lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u32);

impl MessageType {
    /// `VIR_NET_CALL`: a request that expects a reply.
    pub const CALL: Self = Self(0);
    /// `VIR_NET_REPLY`: the answer to a call.
    pub const REPLY: Self = Self(1);
    /// `VIR_NET_MESSAGE`: an asynchronous event, no reply.
    pub const MESSAGE: Self = Self(2);
    /// `VIR_NET_STREAM`: stream data (or end, or error) for the call with the same serial.
    pub const STREAM: Self = Self(3);
    /// `VIR_NET_CALL_WITH_FDS`.
    pub const CALL_WITH_FDS: Self = Self(4);
    /// `VIR_NET_REPLY_WITH_FDS`.
    pub const REPLY_WITH_FDS: Self = Self(5);
    /// `VIR_NET_STREAM_HOLE`: a hole in a sparse stream.
    pub const STREAM_HOLE: Self = Self(6);

    /// libvirt's name without the `VIR_NET_` prefix, or `None` for a number libvirt 9.0 does not define.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "CALL",
            1 => "REPLY",
            2 => "MESSAGE",
            3 => "STREAM",
            4 => "CALL_WITH_FDS",
            5 => "REPLY_WITH_FDS",
            6 => "STREAM_HOLE",
            _ => return None,
        })
    }

    /// Parses [`MessageType::name`] back, or a plain number.
    pub fn from_name(text: &str) -> Option<Self> {
        (0..=6)
            .map(Self)
            .find(|t| t.name() == Some(text))
            .or_else(|| text.parse().ok().map(Self))
    }
}

/// `virNetMessageStatus`, raw for the same reason as [`MessageType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub u32);

impl Status {
    /// `VIR_NET_OK`.
    pub const OK: Self = Self(0);
    /// `VIR_NET_ERROR`: the payload is a `remote_error`.
    pub const ERROR: Self = Self(1);
    /// `VIR_NET_CONTINUE`: more stream data follows.
    pub const CONTINUE: Self = Self(2);

    /// libvirt's name without the `VIR_NET_` prefix, or `None` for an unknown number.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "OK",
            1 => "ERROR",
            2 => "CONTINUE",
            _ => return None,
        })
    }

    /// Parses [`Status::name`] back, or a plain number.
    pub fn from_name(text: &str) -> Option<Self> {
        (0..=2)
            .map(Self)
            .find(|s| s.name() == Some(text))
            .or_else(|| text.parse().ok().map(Self))
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

/// `virNetMessageHeader`. `proc` is signed in the `.x` file but never negative in practice;
/// it is kept as the raw `u32` so every message round-trips exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Program number ([`REMOTE_PROGRAM`], [`KEEPALIVE_PROGRAM`], …).
    pub prog: u32,
    /// Program version.
    pub vers: u32,
    /// Procedure number within the program.
    pub proc_: u32,
    /// Message type.
    pub kind: MessageType,
    /// Serial that ties replies and stream messages to their call.
    pub serial: u32,
    /// Status.
    pub status: Status,
}

impl Header {
    /// The six fields as big-endian XDR.
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let words = [
            self.prog,
            self.vers,
            self.proc_,
            self.kind.0,
            self.serial,
            self.status.0,
        ];
        let mut out = [0; HEADER_SIZE];
        for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Reads the six fields from exactly [`HEADER_SIZE`] bytes.
    pub fn from_bytes(bytes: &[u8; HEADER_SIZE]) -> Self {
        let word =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        Self {
            prog: word(0),
            vers: word(4),
            proc_: word(8),
            kind: MessageType(word(12)),
            serial: word(16),
            status: Status(word(20)),
        }
    }
}
