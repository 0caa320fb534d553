//! The daemon's side of an upload: writes into the volume as they arrive.
//!
//! Measured on libvirt 9.0: a write past the upload's range is cut at the range's end and the
//! overflow is reported by `finish` ("No space left on device"); a hole moves the write position
//! and truncates the file there (`lseek` + `ftruncate`), never past the range's end, so old bytes
//! under a hole stay and a trailing hole sets the size.

use std::sync::{Arc, Mutex};

use stream_core::{Error, Result, VolumeId, libvirt_errors};

use crate::storage::Storage;

/// An upload in progress.
#[derive(Debug)]
pub struct Upload {
    storage: Arc<Mutex<Storage>>,
    volume: VolumeId,
    position: u64,
    limit: u64,
    /// The daemon's first write failure, reported by `finish` (the upload is over for it).
    failure: Option<Error>,
    /// Each hole truncates the file at its end (libvirt's fdstream); off only for a mutation.
    truncate_holes: bool,
    /// The filesystem's largest file: bytes past it are dropped without a word, as libvirt 9.0's
    /// daemon drops them (Q13).
    max_file_size: u64,
}

impl Upload {
    /// An upload into `volume` from `offset`, at most `length` bytes (0: no limit).
    pub fn new(
        storage: Arc<Mutex<Storage>>,
        volume: VolumeId,
        offset: u64,
        length: u64,
        truncate_holes: bool,
        max_file_size: u64,
    ) -> Upload {
        let limit = if length == 0 {
            u64::MAX
        } else {
            offset.saturating_add(length)
        };
        Upload {
            storage,
            volume,
            position: offset,
            limit,
            failure: None,
            truncate_holes,
            max_file_size,
        }
    }

    /// Take `data` at the current position; only its first `lands` bytes reach the volume
    /// (fewer than all when the far side failed after them: a fault plan's error or death).
    pub fn send(&mut self, data: &[u8], lands: usize) -> Result<usize> {
        if self.failure.is_some() {
            // The daemon stopped writing at its first failure; the client does not know yet.
            return Ok(data.len());
        }
        if self.past_off_t(data.len() as u64) {
            return Ok(data.len());
        }
        let room = self.limit.saturating_sub(self.position);
        if data.len() as u64 > room {
            self.failure = Some(libvirt_errors::no_space_left());
        }
        let fits = self.max_file_size.saturating_sub(self.position);
        let take = (data.len().min(lands) as u64).min(room).min(fits) as usize;
        if take > 0 {
            let mut storage = crate::storage::lock(&self.storage);
            storage
                .volume_mut(&self.volume)?
                .write(self.position, &data[..take]);
            self.position += take as u64;
        }
        Ok(data.len())
    }

    /// Skip `length` bytes: move the position and truncate the file there.
    pub fn send_hole(&mut self, length: u64) -> Result<()> {
        if self.failure.is_some() || self.past_off_t(length) {
            return Ok(());
        }
        self.position = self.position.saturating_add(length).min(self.limit);
        let mut storage = crate::storage::lock(&self.storage);
        let volume = storage.volume_mut(&self.volume)?;
        // (Without truncation, the mutation still grows a file that ends before the hole's end.)
        // A truncation past the largest file fails in the daemon, unreported (Q13).
        if (self.truncate_holes || self.position > volume.size())
            && self.position <= self.max_file_size
        {
            volume.truncate(self.position);
        }
        Ok(())
    }

    /// Whether moving `by` bytes would take the file past `off_t` (i64::MAX): the daemon's
    /// seek fails, and `finish` reports it (measured: fixtures/libvirt-9.0/q12-sparse-past-end).
    fn past_off_t(&mut self, by: u64) -> bool {
        let past = self.position.saturating_add(by) > i64::MAX as u64;
        if past {
            self.failure = Some(libvirt_errors::seek_failed(&self.volume.name));
        }
        past
    }

    /// The volume's size now.
    pub fn volume_size(&self) -> Result<u64> {
        Ok(crate::storage::lock(&self.storage)
            .volume(&self.volume)?
            .size())
    }

    /// The daemon's first write failure, if any: `finish` fails with it.
    pub fn failure(&self) -> Option<Error> {
        self.failure.clone()
    }
}
