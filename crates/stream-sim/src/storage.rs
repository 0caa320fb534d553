//! The simulator's storage: pools of volumes, shared by the backend and its uploads.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use stream_core::{Result, VolumeId, libvirt_errors};

use crate::volume::Volume;

/// Pools by name, each a map of volumes by name.
#[derive(Debug, Default)]
pub struct Storage {
    pools: BTreeMap<String, BTreeMap<String, Volume>>,
}

impl Storage {
    /// Add an empty pool (no-op if it exists).
    pub fn add_pool(&mut self, name: &str) {
        self.pools.entry(name.to_string()).or_default();
    }

    /// The pools' names, sorted.
    pub fn pool_names(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }

    /// The pool named `name`, or libvirt's "pool not found".
    pub fn pool(&self, name: &str) -> Result<&BTreeMap<String, Volume>> {
        self.pools
            .get(name)
            .ok_or_else(|| libvirt_errors::no_pool(name))
    }

    /// The pool named `name`, or libvirt's "pool not found".
    pub fn pool_mut(&mut self, name: &str) -> Result<&mut BTreeMap<String, Volume>> {
        self.pools
            .get_mut(name)
            .ok_or_else(|| libvirt_errors::no_pool(name))
    }

    /// The volume, or libvirt's "pool not found" / "volume not found".
    pub fn volume(&self, id: &VolumeId) -> Result<&Volume> {
        let pool = self
            .pools
            .get(&id.pool)
            .ok_or_else(|| libvirt_errors::no_pool(&id.pool))?;
        pool.get(&id.name)
            .ok_or_else(|| libvirt_errors::no_volume(&id.name))
    }

    /// The volume, mutably.
    pub fn volume_mut(&mut self, id: &VolumeId) -> Result<&mut Volume> {
        let pool = self.pool_mut(&id.pool)?;
        pool.get_mut(&id.name)
            .ok_or_else(|| libvirt_errors::no_volume(&id.name))
    }
}

/// Lock shared storage; a panic elsewhere cannot leave a volume half-updated (every update is
/// one call), so a poisoned lock is still safe to use.
pub fn lock(storage: &Arc<Mutex<Storage>>) -> MutexGuard<'_, Storage> {
    storage
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
