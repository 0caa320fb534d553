//! Flag sets with libvirt's bit values: stream creation, `recv`, and event masks.
//!
//! Unknown bits are kept (`from_bits_retain`) rather than dropped, so that a caller who passes
//! them gets libvirt's "unsupported flags" error instead of a silently different call.

use bitflags::bitflags;

bitflags! {
    /// Flags of `virStreamNew` (`virStreamFlags`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct StreamFlags: u32 {
        /// `VIR_STREAM_NONBLOCK`: data calls return [`crate::Recv::WouldBlock`] instead of waiting.
        const NONBLOCK = 1;
    }
}

bitflags! {
    /// Flags of `virStreamRecvFlags` (`virStreamRecvFlagsValues`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct RecvFlags: u32 {
        /// `VIR_STREAM_RECV_STOP_AT_HOLE`: return [`crate::Recv::Hole`] when the next thing is a hole.
        const STOP_AT_HOLE = 1;
    }
}

bitflags! {
    /// Event mask of `virStreamEventAddCallback` (`virStreamEventType`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct EventSet: u32 {
        /// `VIR_STREAM_EVENT_READABLE`
        const READABLE = 1;
        /// `VIR_STREAM_EVENT_WRITABLE`
        const WRITABLE = 2;
        /// `VIR_STREAM_EVENT_ERROR`
        const ERROR = 4;
        /// `VIR_STREAM_EVENT_HANGUP`
        const HANGUP = 8;
    }
}

impl StreamFlags {
    /// Bits this crate does not know.
    pub fn unknown_bits(self) -> u32 {
        self.bits() & !Self::all().bits()
    }
}

impl RecvFlags {
    /// Bits this crate does not know.
    pub fn unknown_bits(self) -> u32 {
        self.bits() & !Self::all().bits()
    }
}

impl std::fmt::Display for EventSet {
    /// `READABLE | HANGUP`, or `NONE`: the form used by scenario files and traces. Unknown bits
    /// show as hex (`READABLE | 0x100`), never silently dropped (a set of only unknown bits
    /// would otherwise print as nothing).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("NONE");
        }
        bitflags::parser::to_writer(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_libvirts() {
        assert_eq!(StreamFlags::NONBLOCK.bits(), 1);
        assert_eq!(RecvFlags::STOP_AT_HOLE.bits(), 1);
        assert_eq!(EventSet::all().bits(), 0b1111);
    }

    #[test]
    fn unknown_bits_survive() {
        assert_eq!(RecvFlags::from_bits_retain(0x83).unknown_bits(), 0x82);
        assert_eq!(StreamFlags::from_bits_retain(4).unknown_bits(), 4);
    }

    #[test]
    fn event_set_display() {
        assert_eq!(
            (EventSet::READABLE | EventSet::HANGUP).to_string(),
            "READABLE | HANGUP"
        );
        assert_eq!(EventSet::empty().to_string(), "NONE");
    }
}
