//! Where an upload's bytes go, kept by both backends: a `send` past the end of the upload's
//! range is refused before it reaches libvirt, and after `finish` every byte sent must be in the
//! volume. libvirt 9.0 can close the whole connection for the first (Q14) and report success for
//! bytes its daemon dropped for the second (a write past the filesystem's largest file, Q13);
//! fixtures/libvirt-9.0/FINDINGS.md.

use crate::Result;
use crate::libvirt_errors::guard;

/// Where an upload's bytes (data and holes) must reach, and where its range ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLedger {
    end: u64,
    /// `offset + length`; `None` for `length` 0, which runs to the end of the volume and beyond.
    range_end: Option<u64>,
}

impl UploadLedger {
    /// An upload bound to `offset` and `length`, libvirt's way: `length` 0 means no end.
    pub fn for_range(offset: u64, length: u64) -> UploadLedger {
        UploadLedger {
            end: offset,
            range_end: (length != 0).then(|| offset.saturating_add(length)),
        }
    }

    /// May a `send` of `len` bytes go ahead? Not if it would cross the range's end.
    pub fn check_send(&self, len: usize) -> Result<()> {
        let Some(range_end) = self.range_end else {
            return Ok(());
        };
        let room = range_end.saturating_sub(self.end);
        if u64::try_from(len).map_or(true, |len| len > room) {
            return Err(guard::send_past_range(len, range_end, room));
        }
        Ok(())
    }

    /// `bytes` of data were sent.
    pub fn sent(&mut self, bytes: u64) {
        self.end = self.end.saturating_add(bytes);
    }

    /// A hole of `length` was sent: the daemon clips it at the range's end (measured, Q4
    /// `u_long_hole`: the file then ends there).
    pub fn hole(&mut self, length: u64) {
        let end = self.end.saturating_add(length);
        self.end = self.range_end.map_or(end, |range_end| end.min(range_end));
    }

    /// Where the volume must reach, at least.
    pub fn expected_end(&self) -> u64 {
        self.end
    }

    /// After a successful `finish`: the volume must be at least as long as what was sent.
    pub fn verify(&self, volume_size: u64) -> Result<()> {
        if volume_size < self.end {
            return Err(guard::upload_bytes_lost(self.end, volume_size));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_volume_shorter_than_what_was_sent_is_an_error_naming_the_loss() {
        let mut ledger = UploadLedger::for_range(100, 0);
        ledger.sent(50);
        ledger.hole(10);
        assert_eq!(ledger.expected_end(), 160);
        assert!(ledger.verify(160).is_ok());
        assert!(ledger.verify(1 << 20).is_ok());
        let error = ledger.verify(120).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::System);
        assert!(error.message().contains("40 bytes"), "{error}");
    }

    #[test]
    fn a_send_crossing_the_range_end_is_refused_naming_the_room_left() {
        let mut ledger = UploadLedger::for_range(4096, 100);
        assert!(ledger.check_send(60).is_ok());
        ledger.sent(60);
        let error = ledger.check_send(41).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert!(error.message().contains("ends at byte 4196"), "{error}");
        assert!(error.message().contains("40 bytes of it remain"), "{error}");
        assert!(ledger.check_send(40).is_ok());
        ledger.sent(40);
        assert!(ledger.check_send(1).is_err());
    }

    #[test]
    fn without_a_length_any_send_goes_ahead() {
        let ledger = UploadLedger::for_range(u64::MAX - 1, 0);
        assert!(ledger.check_send(usize::MAX).is_ok());
    }

    #[test]
    fn a_hole_past_the_range_end_is_clipped_as_the_daemon_clips_it() {
        let mut ledger = UploadLedger::for_range(0, 100);
        ledger.sent(60);
        ledger.hole(4096);
        assert_eq!(ledger.expected_end(), 100);
        assert!(ledger.verify(100).is_ok());
    }
}
