//! The objects procedures name: `remote_nonnull_domain`, `remote_nonnull_storage_pool`,
//! `remote_nonnull_storage_vol`, and `remote_uuid`.

use crate::xdr_struct;

/// `remote_uuid`: `opaque[VIR_UUID_BUFLEN]`.
pub type Uuid = [u8; 16];

xdr_struct! {
    /// `remote_nonnull_domain`.
    pub struct Domain {
        /// Its name.
        pub name: String,
        /// Its UUID.
        pub uuid: Uuid,
        /// Its id (-1 when inactive).
        pub id: i32,
    }
}

xdr_struct! {
    /// `remote_nonnull_storage_pool`.
    pub struct Pool {
        /// Its name.
        pub name: String,
        /// Its UUID.
        pub uuid: Uuid,
    }
}

xdr_struct! {
    /// `remote_nonnull_storage_vol`.
    pub struct Vol {
        /// The pool's name.
        pub pool: String,
        /// The volume's name.
        pub name: String,
        /// Its key (a directory pool's key is the file's path).
        pub key: String,
    }
}
