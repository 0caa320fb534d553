//! The client side of a remote download, as `virNetClientStreamRecvPacket` behaves: a queue of
//! received packets, a pending hole length, and end of stream.
//!
//! With no event loop delivering packets, a blocking `recv` on an empty queue waits for exactly
//! one packet, so it never returns bytes of two packets (measured). A hole packet becomes a
//! pending hole: `STOP_AT_HOLE` returns `-3`, a plain `recv` returns zeros and then, in the same
//! call, data already queued after the hole.

use std::collections::VecDeque;

use stream_core::{Recv, RecvFlags};

use crate::mutation::Mutation;
use crate::packets::{Packet, PacketSource};
use crate::schedule::Schedule;
use crate::volume::Volume;

#[derive(Debug, Clone, Copy)]
enum Queued {
    Data { offset: u64, len: u64 },
    Hole(u64),
}

/// A remote download in progress.
#[derive(Debug)]
pub struct RemoteDownload {
    snapshot: Volume,
    source: PacketSource,
    rx: VecDeque<Queued>,
    hole_length: u64,
    incoming_eof: bool,
    mutation: Option<Mutation>,
}

impl RemoteDownload {
    /// A download of `snapshot` whose packets come from `source`.
    pub fn new(
        snapshot: Volume,
        source: PacketSource,
        mutation: Option<Mutation>,
    ) -> RemoteDownload {
        RemoteDownload {
            snapshot,
            source,
            rx: VecDeque::new(),
            hole_length: 0,
            incoming_eof: false,
            mutation,
        }
    }

    /// One packet arrives from the daemon (a blocking wait, or an event-loop read).
    pub fn deliver_one(&mut self) {
        if self.incoming_eof {
            return;
        }
        match self.source.next_packet() {
            Packet::Data { offset, len } => self.rx.push_back(Queued::Data { offset, len }),
            Packet::Hole(len) => self.rx.push_back(Queued::Hole(len)),
            Packet::Eof => self.incoming_eof = true,
        }
    }

    /// Whether a remote stream's timer reports READABLE: anything queued, or end of stream.
    pub fn readable(&self) -> bool {
        !self.rx.is_empty() || self.incoming_eof
    }

    /// Whether nothing is queued yet (the event loop would read the next packet).
    pub fn waiting(&self) -> bool {
        self.rx.is_empty() && !self.incoming_eof
    }

    /// `virNetClientStreamRecvPacket`.
    pub fn recv(
        &mut self,
        buf: &mut [u8],
        flags: RecvFlags,
        nonblock: Option<&mut Schedule>,
    ) -> Recv {
        let mut schedule = nonblock;
        loop {
            if self.waiting() {
                if schedule.as_deref_mut().is_some_and(Schedule::would_block) {
                    return Recv::WouldBlock;
                }
                self.deliver_one();
            }
            if let Some(Queued::Hole(length)) = self.rx.front().copied()
                && self.hole_length == 0
            {
                self.rx.pop_front();
                self.hole_length = length;
            }
            if self.rx.is_empty() && !self.incoming_eof && self.hole_length == 0 {
                continue;
            }
            break;
        }
        let mut filled = 0usize;
        if self.hole_length > 0 {
            if flags.contains(RecvFlags::STOP_AT_HOLE) {
                return Recv::Hole;
            }
            let zeros = (buf.len() as u64).min(self.hole_length) as usize;
            buf[..zeros].fill(0);
            self.hole_length -= zeros as u64;
            filled = zeros;
            if filled > 0 && self.mutation == Some(Mutation::HoleZerosNeverMixWithData) {
                return Recv::Data(filled);
            }
        }
        while filled < buf.len() {
            let Some(Queued::Data { offset, len }) = self.rx.front_mut() else {
                break;
            };
            let take = (*len).min((buf.len() - filled) as u64) as usize;
            self.snapshot.read(*offset, &mut buf[filled..filled + take]);
            filled += take;
            *offset += take as u64;
            *len -= take as u64;
            if *len == 0 {
                self.rx.pop_front();
            }
        }
        match filled {
            0 if !buf.is_empty() => Recv::Eof,
            n => Recv::Data(n),
        }
    }

    /// `virNetClientStreamRecvHole`: the pending hole's length, consumed; 0 when none.
    /// (`None` only under [`Mutation::RecvHoleFailsWhenNonePending`].)
    pub fn recv_hole(&mut self) -> Option<i64> {
        if self.hole_length == 0 && self.mutation == Some(Mutation::RecvHoleFailsWhenNonePending) {
            return None;
        }
        // Volumes stop at i64::MAX (uploads past it fail), so this never saturates.
        Some(i64::try_from(std::mem::take(&mut self.hole_length)).unwrap_or(i64::MAX))
    }
}
