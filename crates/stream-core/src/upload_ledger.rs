//! Every byte an upload sent must be in the volume after `finish`: a check both backends run,
//! because libvirt 9.0 can report success for bytes its daemon dropped (a write past the
//! filesystem's largest file: fixtures/libvirt-9.0/FINDINGS.md, Q13).

use crate::Result;
use crate::libvirt_errors::guard;

/// Where an upload's bytes (data and holes) must reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLedger {
    end: u64,
}

impl UploadLedger {
    /// An upload that starts writing at `offset`.
    pub fn starting_at(offset: u64) -> UploadLedger {
        UploadLedger { end: offset }
    }

    /// `bytes` more were accepted (data sent, or a hole).
    pub fn sent(&mut self, bytes: u64) {
        self.end = self.end.saturating_add(bytes);
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
        let mut ledger = UploadLedger::starting_at(100);
        ledger.sent(50);
        ledger.sent(10);
        assert_eq!(ledger.expected_end(), 160);
        assert!(ledger.verify(160).is_ok());
        assert!(ledger.verify(1 << 20).is_ok());
        let error = ledger.verify(120).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::System);
        assert!(error.message().contains("40 bytes"), "{error}");
    }
}
