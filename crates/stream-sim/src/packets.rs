//! The daemon's side of a remote download: the packets libvirtd sends, in order.
//!
//! Measured on libvirt 9.0 (see fixtures/README.md): the daemon reads a data section in chunks of
//! 256 KiB, each sent as a packet of at most `VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX` (262120) bytes
//! plus the rest (24 bytes); a sparse download sends each hole as one packet of its full length,
//! holes being the filesystem's (block-aligned) holes within the range.

use stream_core::Layout;

/// The daemon's read size (`256 * 1024` in virfdstream.c).
pub const READ_CHUNK: u64 = 256 * 1024;
/// The largest stream packet payload (`VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`).
pub const MAX_PACKET: u64 = 262_120;

/// One stream message from the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    /// `len` bytes of the volume starting at `offset`.
    Data { offset: u64, len: u64 },
    /// A hole of this many bytes (sparse downloads only).
    Hole(u64),
    /// End of stream.
    Eof,
}

/// Produces a download's packets one at a time, with no per-byte work.
#[derive(Debug, Clone)]
pub struct PacketSource {
    /// Data runs within the range, block-aligned, sorted (the whole range when not sparse).
    runs: Vec<(u64, u64)>,
    next_run: usize,
    position: u64,
    end: u64,
    sparse: bool,
    chunk_left: u64,
    max_packet: u64,
}

impl PacketSource {
    /// The packets of a download of `range` from a volume shaped as `layout` (already
    /// block-aligned as the filesystem reports it), in packets of at most `max_packet` bytes
    /// ([`MAX_PACKET`], as libvirt).
    pub fn new(
        layout: &Layout,
        start: u64,
        end: u64,
        sparse: bool,
        max_packet: u64,
    ) -> PacketSource {
        let runs = if sparse {
            layout
                .extents()
                .iter()
                .filter(|extent| extent.end() > start && extent.offset < end)
                .map(|extent| (extent.offset.max(start), extent.end().min(end)))
                .collect()
        } else {
            vec![(start, end)]
        };
        PacketSource {
            runs,
            next_run: 0,
            position: start,
            end,
            sparse,
            chunk_left: 0,
            max_packet,
        }
    }

    /// The next packet the daemon sends.
    pub fn next_packet(&mut self) -> Packet {
        if self.position >= self.end {
            return Packet::Eof;
        }
        while self
            .runs
            .get(self.next_run)
            .is_some_and(|&(_, run_end)| run_end <= self.position)
        {
            self.next_run += 1;
        }
        let (run_start, run_end) = match self.runs.get(self.next_run) {
            Some(&run) => run,
            None => (self.end, self.end),
        };
        if self.sparse && self.position < run_start {
            let hole = run_start - self.position;
            self.position = run_start;
            self.chunk_left = 0;
            return Packet::Hole(hole);
        }
        if self.chunk_left == 0 {
            self.chunk_left = READ_CHUNK.min(run_end - self.position);
        }
        let len = self.max_packet.min(self.chunk_left);
        let packet = Packet::Data {
            offset: self.position,
            len,
        };
        self.chunk_left -= len;
        self.position += len;
        packet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(notation: &str, sparse: bool) -> Vec<Packet> {
        let layout = Layout::parse(notation).unwrap().block_aligned(4096);
        let mut source = PacketSource::new(&layout, 0, layout.size(), sparse, MAX_PACKET);
        let mut out = Vec::new();
        loop {
            let packet = source.next_packet();
            out.push(packet);
            if packet == Packet::Eof {
                return out;
            }
        }
    }

    fn lengths(packets: &[Packet]) -> Vec<i64> {
        packets
            .iter()
            .map(|packet| match packet {
                Packet::Data { len, .. } => *len as i64,
                Packet::Hole(len) => -(*len as i64),
                Packet::Eof => 0,
            })
            .collect()
    }

    #[test]
    fn chunks_of_256k_split_at_the_payload_limit() {
        assert_eq!(
            lengths(&packets("D1M D10", false)),
            [262120, 24, 262120, 24, 262120, 24, 262120, 24, 10, 0]
        );
    }

    #[test]
    fn sparse_sends_whole_holes_and_aligned_data() {
        // q3 case sD: 2000 bytes at 5000 in a 10000-byte file.
        assert_eq!(
            lengths(&packets("H5000 D2000 H3000", true)),
            [-4096, 4096, -1808, 0]
        );
        assert_eq!(lengths(&packets("H1M", true)), [-1048576, 0]);
        assert_eq!(lengths(&packets("-", true)), [0]);
    }
}
