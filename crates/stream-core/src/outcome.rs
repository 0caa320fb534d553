//! What a data call returned, as enums, and the one mapping to libvirt's integers (CONTRACT.md §2).

/// The outcome of a successful `recv` (`virStreamRecv` / `virStreamRecvFlags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recv {
    /// `n` bytes were written into the buffer (`n == 0` only for an empty buffer).
    Data(usize),
    /// End of stream: libvirt's `0`.
    Eof,
    /// A hole is next (`STOP_AT_HOLE` on a sparse stream): libvirt's `-3`.
    Hole,
    /// Nothing available yet on a NONBLOCK stream: libvirt's `-2`.
    WouldBlock,
}

/// The outcome of a successful `send` (`virStreamSend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sent {
    /// `n` bytes were accepted.
    Bytes(usize),
    /// The stream cannot take data now (NONBLOCK only): libvirt's `-2`.
    WouldBlock,
}

/// libvirt's `-1`, the sentinel of every error.
pub const ERROR_SENTINEL: i64 = -1;

impl Recv {
    /// The integer libvirt (and Sys::Virt) returns for this outcome.
    pub fn sentinel(self) -> i64 {
        match self {
            // A buffer never exceeds isize::MAX bytes; saturate rather than wrap to a sentinel.
            Recv::Data(n) => i64::try_from(n).unwrap_or(i64::MAX),
            Recv::Eof => 0,
            Recv::WouldBlock => -2,
            Recv::Hole => -3,
        }
    }

    /// The outcome libvirt meant by `value`; `None` for `-1` (an error) and other negatives.
    pub fn from_sentinel(value: i64) -> Option<Recv> {
        match value {
            0 => Some(Recv::Eof),
            -2 => Some(Recv::WouldBlock),
            -3 => Some(Recv::Hole),
            n if n > 0 => Some(Recv::Data(n as usize)),
            _ => None,
        }
    }
}

impl Sent {
    /// The integer libvirt (and Sys::Virt) returns for this outcome.
    pub fn sentinel(self) -> i64 {
        match self {
            Sent::Bytes(n) => i64::try_from(n).unwrap_or(i64::MAX),
            Sent::WouldBlock => -2,
        }
    }

    /// The outcome libvirt meant by `value`; `None` for `-1` (an error) and other negatives.
    pub fn from_sentinel(value: i64) -> Option<Sent> {
        match value {
            -2 => Some(Sent::WouldBlock),
            n if n >= 0 => Some(Sent::Bytes(n as usize)),
            _ => None,
        }
    }
}

/// The sentinel of a whole result: the outcome's integer, or `-1` for any error.
pub fn sentinel_of<T: Copy>(result: &crate::Result<T>, sentinel: impl Fn(T) -> i64) -> i64 {
    match result {
        Ok(value) => sentinel(*value),
        Err(_) => ERROR_SENTINEL,
    }
}
