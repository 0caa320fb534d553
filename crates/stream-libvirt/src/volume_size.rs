//! How many bytes a volume's file holds, as the daemon sees it now.

use stream_core::Result;
use virt::storage_vol::StorageVol;

use crate::error::from_virt;

/// The volume's physical size (a file's `st_size`, a device's size): what volume streams read
/// and write. Its capacity would be an image format's virtual size. The daemon refreshes it on
/// every call.
pub fn physical_size(vol: &StorageVol) -> Result<u64> {
    let info = vol
        .info_flags(virt::sys::VIR_STORAGE_VOL_GET_PHYSICAL)
        .map_err(|error| from_virt(&error))?;
    Ok(info.allocation)
}
