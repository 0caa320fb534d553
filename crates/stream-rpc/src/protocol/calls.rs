//! Argument (`*_args`) and reply (`*_ret`) structs of the procedures the server answers,
//! field for field as libvirt 9.0's `remote_protocol.x` declares them. A procedure whose
//! arguments or reply are `void` has none here (`()` stands for it).

use crate::protocol::objects::{Domain, Pool, Vol};
use crate::xdr::List;
use crate::xdr_struct;

/// `REMOTE_AUTH_TYPE_LIST_MAX`.
pub const REMOTE_AUTH_TYPE_LIST_MAX: u32 = 20;
/// `REMOTE_STORAGE_POOL_LIST_MAX`.
pub const REMOTE_STORAGE_POOL_LIST_MAX: u32 = 4096;
/// `REMOTE_STORAGE_VOL_LIST_MAX`.
pub const REMOTE_STORAGE_VOL_LIST_MAX: u32 = 16384;

xdr_struct! {
    /// `remote_connect_open_args`.
    pub struct ConnectOpenArgs {
        /// The URI without its transport (`storage:///system`); may be NULL.
        pub name: Option<String>,
        /// `virConnectFlags`.
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_connect_supports_feature_args`.
    pub struct ConnectSupportsFeatureArgs {
        /// `VIR_DRV_FEATURE_*`.
        pub feature: i32,
    }
}

xdr_struct! {
    /// `remote_connect_supports_feature_ret`.
    pub struct ConnectSupportsFeatureRet {
        /// 1 when supported.
        pub supported: i32,
    }
}

xdr_struct! {
    /// `remote_auth_list_ret`: `remote_auth_type types<REMOTE_AUTH_TYPE_LIST_MAX>`.
    pub struct AuthListRet {
        /// `REMOTE_AUTH_NONE` (0), `SASL` (1), `POLKIT` (2).
        pub types: List<i32, REMOTE_AUTH_TYPE_LIST_MAX>,
    }
}

xdr_struct! {
    /// `remote_domain_lookup_by_name_args`.
    pub struct DomainLookupByNameArgs {
        /// The domain's name.
        pub name: String,
    }
}

xdr_struct! {
    /// `remote_domain_lookup_by_name_ret`.
    pub struct DomainLookupByNameRet {
        /// The domain.
        pub dom: Domain,
    }
}

xdr_struct! {
    /// `remote_domain_screenshot_args`.
    pub struct DomainScreenshotArgs {
        /// The domain.
        pub dom: Domain,
        /// The screen number.
        pub screen: u32,
        /// Flags (none defined).
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_domain_screenshot_ret`.
    pub struct DomainScreenshotRet {
        /// The image's MIME type.
        pub mime: Option<String>,
    }
}

xdr_struct! {
    /// `remote_storage_pool_lookup_by_name_args`.
    pub struct StoragePoolLookupByNameArgs {
        /// The pool's name.
        pub name: String,
    }
}

xdr_struct! {
    /// The reply of every procedure that returns one pool (`remote_storage_pool_lookup_by_*_ret`).
    pub struct StoragePoolRet {
        /// The pool.
        pub pool: Pool,
    }
}

xdr_struct! {
    /// The arguments of every procedure that takes one pool (`remote_storage_pool_get_info_args`,
    /// `..._get_autostart_args`, `..._is_active_args`).
    pub struct StoragePoolArgs {
        /// The pool.
        pub pool: Pool,
    }
}

xdr_struct! {
    /// The arguments of every procedure that takes one volume (`remote_storage_pool_lookup_by_volume_args`,
    /// `remote_storage_vol_get_info_args`, `..._get_path_args`).
    pub struct StorageVolArgs {
        /// The volume.
        pub vol: Vol,
    }
}

xdr_struct! {
    /// The reply of every procedure that returns one volume (`remote_storage_vol_lookup_by_*_ret`,
    /// `remote_storage_vol_create_xml_ret`).
    pub struct StorageVolRet {
        /// The volume.
        pub vol: Vol,
    }
}

xdr_struct! {
    /// `remote_storage_pool_get_info_ret`.
    pub struct StoragePoolGetInfoRet {
        /// `virStoragePoolState` (`unsigned char`, one XDR word): 2 is running.
        pub state: u32,
        /// Bytes.
        pub capacity: u64,
        /// Bytes.
        pub allocation: u64,
        /// Bytes.
        pub available: u64,
    }
}

xdr_struct! {
    /// `remote_storage_pool_get_autostart_ret`.
    pub struct StoragePoolGetAutostartRet {
        /// 1 when the pool starts with the daemon.
        pub autostart: i32,
    }
}

xdr_struct! {
    /// `remote_storage_pool_is_active_ret`.
    pub struct StoragePoolIsActiveRet {
        /// 1 when running.
        pub active: i32,
    }
}

xdr_struct! {
    /// `remote_storage_vol_create_xml_args`.
    pub struct StorageVolCreateXmlArgs {
        /// The pool.
        pub pool: Pool,
        /// The volume's XML.
        pub xml: String,
        /// `virStorageVolCreateFlags`.
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_storage_vol_delete_args` (and every `{vol, flags}` argument: `..._get_info_flags_args`).
    pub struct StorageVolFlagsArgs {
        /// The volume.
        pub vol: Vol,
        /// Flags.
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_storage_vol_wipe_pattern_args`.
    pub struct StorageVolWipePatternArgs {
        /// The volume.
        pub vol: Vol,
        /// `virStorageVolWipeAlgorithm`.
        pub algorithm: u32,
        /// Flags.
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_storage_vol_lookup_by_name_args`.
    pub struct StorageVolLookupByNameArgs {
        /// The pool.
        pub pool: Pool,
        /// The volume's name.
        pub name: String,
    }
}

xdr_struct! {
    /// `remote_storage_vol_lookup_by_key_args`.
    pub struct StorageVolLookupByKeyArgs {
        /// The key.
        pub key: String,
    }
}

xdr_struct! {
    /// `remote_storage_vol_lookup_by_path_args`.
    pub struct StorageVolLookupByPathArgs {
        /// The path.
        pub path: String,
    }
}

xdr_struct! {
    /// `remote_storage_vol_get_info_ret` and `remote_storage_vol_get_info_flags_ret`.
    pub struct StorageVolGetInfoRet {
        /// `virStorageVolType` (`char`, one XDR word): 0 is a file.
        pub kind: i32,
        /// Bytes.
        pub capacity: u64,
        /// Bytes.
        pub allocation: u64,
    }
}

xdr_struct! {
    /// `remote_storage_vol_get_path_ret`.
    pub struct StorageVolGetPathRet {
        /// The path.
        pub name: String,
    }
}

xdr_struct! {
    /// `remote_storage_vol_upload_args` and `remote_storage_vol_download_args`.
    pub struct StorageVolTransferArgs {
        /// The volume.
        pub vol: Vol,
        /// Where the transfer starts.
        pub offset: u64,
        /// How many bytes (0: to the end).
        pub length: u64,
        /// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM` / `..._DOWNLOAD_SPARSE_STREAM` (1).
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_connect_list_all_storage_pools_args`.
    pub struct ConnectListAllStoragePoolsArgs {
        /// 1 when the client wants the pools, not only their number.
        pub need_results: i32,
        /// `VIR_CONNECT_LIST_STORAGE_POOLS_*`.
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_connect_list_all_storage_pools_ret`.
    pub struct ConnectListAllStoragePoolsRet {
        /// The pools.
        pub pools: List<Pool, REMOTE_STORAGE_POOL_LIST_MAX>,
        /// How many.
        pub ret: u32,
    }
}

xdr_struct! {
    /// `remote_storage_pool_list_all_volumes_args`.
    pub struct StoragePoolListAllVolumesArgs {
        /// The pool.
        pub pool: Pool,
        /// 1 when the client wants the volumes, not only their number.
        pub need_results: i32,
        /// Flags (none defined).
        pub flags: u32,
    }
}

xdr_struct! {
    /// `remote_storage_pool_list_all_volumes_ret`.
    pub struct StoragePoolListAllVolumesRet {
        /// The volumes.
        pub vols: List<Vol, REMOTE_STORAGE_VOL_LIST_MAX>,
        /// How many.
        pub ret: u32,
    }
}
