//! `virStorageVolWipePattern` of a directory pool's raw volume, as libvirt 9.0's storage driver
//! does it (measured: flags, algorithm and outcome): zeroing a sparse file truncates it to
//! nothing and back (every byte a hole), zeroing a fully allocated one writes zeros over it (it
//! stays allocated); the other algorithms run `scrub`, which Debian's daemon lacks.

use stream_core::{Extent, Fill, Layout, Result, VolumeId, libvirt_errors};

use crate::backend::SimBackend;
use crate::storage;
use crate::volume::Volume;

/// `VIR_STORAGE_VOL_WIPE_ALG_ZERO`.
pub const WIPE_ZERO: u32 = 0;
/// `VIR_STORAGE_VOL_WIPE_ALG_TRIM`.
const WIPE_TRIM: u32 = 9;
/// `VIR_STORAGE_VOL_WIPE_ALG_LAST`.
const WIPE_LAST: u32 = 10;

impl SimBackend {
    /// Wipe `id` with `algorithm`; checks in libvirt's order: flags, the algorithm's range, the
    /// volume, then what the algorithm needs.
    pub fn wipe_volume(&self, id: &VolumeId, algorithm: u32, flags: u32) -> Result<()> {
        if flags != 0 {
            return Err(libvirt_errors::wipe_flags(flags));
        }
        if algorithm >= WIPE_LAST {
            return Err(libvirt_errors::wipe_algorithm_unknown(algorithm));
        }
        let mut storage = storage::lock(&self.storage);
        let volume = storage.volume_mut(id)?;
        match algorithm {
            WIPE_ZERO => {
                let size = volume.size();
                // The daemon's test: fewer blocks than the size needs is a sparse file.
                let sparse = volume.layout().allocated_bytes() < size;
                let layout = if sparse {
                    Layout::hole(size)
                } else {
                    let all = (size > 0).then_some(Extent {
                        offset: 0,
                        length: size,
                        fill: Fill::Zeros,
                    });
                    Layout::new(size, all).unwrap_or_else(|_| Layout::hole(size))
                };
                *volume = Volume::from_layout(&layout);
                Ok(())
            }
            WIPE_TRIM => Err(libvirt_errors::wipe_trim_unsupported()),
            _ => Err(libvirt_errors::wipe_scrub_missing()),
        }
    }
}
