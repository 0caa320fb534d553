//! What a daemon's storage driver tells a client about pools and volumes: names, a stable UUID
//! per pool, keys and paths, sizes; lookups by name, key and path; creating a volume from the
//! few things a volume XML says (name, capacity, allocation).
//!
//! The simulator has no files: a volume's path (and key, as in a directory pool) is
//! [`POOL_ROOT`]`/<pool>/<volume>`.

use stream_core::{Error, Extent, Fill, Layout, Result, VolumeId, libvirt_errors};

use crate::backend::SimBackend;
use crate::storage;
use crate::volume::Volume;

/// Where the simulated pools' directories are said to be.
pub const POOL_ROOT: &str = "/var/lib/virtstream/pools";
/// The capacity every simulated pool reports (1 TiB); `available` is what volumes leave of it.
pub const POOL_CAPACITY: u64 = 1 << 40;

/// A pool as the daemon describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInfo {
    /// Its name.
    pub name: String,
    /// A UUID that depends only on the name (the same in every run).
    pub uuid: [u8; 16],
    /// Bytes ([`POOL_CAPACITY`]).
    pub capacity: u64,
    /// Bytes allocated by its volumes.
    pub allocation: u64,
    /// Bytes left.
    pub available: u64,
}

/// A volume as the daemon describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// Pool and name.
    pub id: VolumeId,
    /// Its key (the path, as a directory pool's).
    pub key: String,
    /// Its path.
    pub path: String,
    /// Its size in bytes.
    pub capacity: u64,
    /// Bytes allocated, in whole filesystem blocks.
    pub allocation: u64,
}

/// The path (and key) of a volume.
pub fn volume_path(id: &VolumeId) -> String {
    format!("{POOL_ROOT}/{}/{}", id.pool, id.name)
}

/// A name-derived UUID (FNV-1a, two seeds), marked as version 4, variant 1.
fn pool_uuid(name: &str) -> [u8; 16] {
    let hash = |seed: u64| {
        name.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let mut uuid = [0; 16];
    uuid[..8].copy_from_slice(&hash(0xcbf2_9ce4_8422_2325).to_be_bytes());
    uuid[8..].copy_from_slice(&hash(0x6c62_272e_07bb_0142).to_be_bytes());
    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    uuid
}

impl SimBackend {
    /// Bytes in whole blocks (`st_blocks`): a data run ending inside a block takes all of it.
    fn block_allocation(&self, volume: &Volume) -> u64 {
        let block = self.config().block_size;
        volume
            .layout()
            .block_aligned(block)
            .extents()
            .iter()
            .map(|run| run.length.div_ceil(block) * block)
            .sum()
    }

    fn volume_info(&self, id: VolumeId, volume: &Volume) -> VolumeInfo {
        let path = volume_path(&id);
        VolumeInfo {
            key: path.clone(),
            path,
            capacity: volume.size(),
            allocation: self.block_allocation(volume),
            id,
        }
    }

    /// Every pool, by name.
    pub fn pools(&self) -> Vec<PoolInfo> {
        let storage = storage::lock(&self.storage);
        let names: Vec<String> = storage.pool_names().map(str::to_string).collect();
        drop(storage);
        names
            .iter()
            .filter_map(|name| self.pool_info(name).ok())
            .collect()
    }

    /// One pool, or libvirt's "Storage pool not found".
    pub fn pool_info(&self, name: &str) -> Result<PoolInfo> {
        let storage = storage::lock(&self.storage);
        let allocation = storage
            .pool(name)?
            .values()
            .map(|volume| self.block_allocation(volume))
            .sum::<u64>();
        Ok(PoolInfo {
            name: name.to_string(),
            uuid: pool_uuid(name),
            capacity: POOL_CAPACITY,
            allocation,
            available: POOL_CAPACITY.saturating_sub(allocation),
        })
    }

    /// A pool's volumes, by name.
    pub fn volumes(&self, pool: &str) -> Result<Vec<VolumeInfo>> {
        let storage = storage::lock(&self.storage);
        Ok(storage
            .pool(pool)?
            .iter()
            .map(|(name, volume)| self.volume_info(VolumeId::new(pool, name.as_str()), volume))
            .collect())
    }

    /// One volume by pool and name, or libvirt's "Storage volume not found".
    pub fn volume(&self, id: &VolumeId) -> Result<VolumeInfo> {
        let storage = storage::lock(&self.storage);
        let volume = storage.volume(id)?;
        Ok(self.volume_info(id.clone(), volume))
    }

    fn find(&self, matches: impl Fn(&VolumeInfo) -> bool) -> Option<VolumeInfo> {
        let pools: Vec<String> = self.pools().into_iter().map(|pool| pool.name).collect();
        pools
            .iter()
            .flat_map(|pool| self.volumes(pool).unwrap_or_default())
            .find(|info| matches(info))
    }

    /// `virStorageVolLookupByKey`.
    pub fn volume_by_key(&self, key: &str) -> Result<VolumeInfo> {
        self.find(|info| info.key == key)
            .ok_or_else(|| libvirt_errors::no_volume_with_key(key))
    }

    /// `virStorageVolLookupByPath`.
    pub fn volume_by_path(&self, path: &str) -> Result<VolumeInfo> {
        self.find(|info| info.path == path)
            .ok_or_else(|| libvirt_errors::no_volume_with_path(path))
    }

    /// `virStorageVolCreateXML` of a raw volume: `capacity` bytes, the first `allocation` of
    /// them allocated (written zeros, as a directory pool's preallocation leaves them).
    pub fn create_sized_volume(
        &self,
        id: &VolumeId,
        capacity: u64,
        allocation: u64,
    ) -> Result<VolumeInfo> {
        let allocated = allocation.min(capacity);
        let extents = (allocated > 0).then_some(Extent {
            offset: 0,
            length: allocated,
            fill: Fill::Zeros,
        });
        let layout = Layout::new(capacity, extents)
            .map_err(|e| Error::new(stream_core::ErrorKind::InvalidArgument, e.to_string()))?;
        stream_core::Backend::create_volume(self, id, &layout)?;
        self.volume(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    #[test]
    fn pools_have_stable_distinct_uuids() {
        assert_eq!(pool_uuid("default"), pool_uuid("default"));
        assert_ne!(pool_uuid("default"), pool_uuid("other"));
        let sim = SimBackend::new(Profile::Remote);
        assert_eq!(sim.pools()[0].uuid, pool_uuid("default"));
    }

    #[test]
    fn volumes_are_found_by_name_key_and_path() {
        let sim = SimBackend::new(Profile::Remote);
        let id = VolumeId::new("default", "a.raw");
        let created = sim.create_sized_volume(&id, 1 << 20, 5000).unwrap();
        assert_eq!(created.allocation, 8192, "whole 4 KiB blocks");
        assert_eq!(sim.volume_by_key(&created.key).unwrap(), created);
        assert_eq!(sim.volume_by_path(&created.path).unwrap(), created);
        assert_eq!(
            sim.volume_by_key("nosuch").unwrap_err().message(),
            "Storage volume not found: no storage vol with matching key nosuch"
        );
        assert_eq!(sim.pool_info("default").unwrap().allocation, 8192);
    }
}
