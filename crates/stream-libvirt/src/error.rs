//! libvirt's errors as `stream_core::Error`: code, domain and message carried unchanged, plus a
//! kind chosen from the code.

use stream_core::{Error, ErrorLevel, libvirt_errors};

/// The error libvirt recorded for this thread's last failed call.
pub fn last_error() -> Error {
    from_virt(&virt::error::Error::last_error())
}

/// A `virt` crate error, unchanged (code, domain, level, message) but for the added kind.
pub fn from_virt(error: &virt::error::Error) -> Error {
    let code = error.code().to_raw() as i32;
    let domain = error.domain().to_raw() as i32;
    Error::libvirt(
        libvirt_errors::kind_of(code, domain, error.message()),
        code,
        domain,
        error.message(),
    )
    .with_level(level_of(error.level()))
}

fn level_of(level: virt::error::ErrorLevel) -> ErrorLevel {
    match level {
        virt::error::ErrorLevel::None => ErrorLevel::None,
        virt::error::ErrorLevel::Warning => ErrorLevel::Warning,
        virt::error::ErrorLevel::Error => ErrorLevel::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stream_core::code;
    use virt::sys;

    /// stream-core names libvirt's numbers without linking libvirt; here they meet the headers.
    #[test]
    fn stream_core_codes_match_libvirts_headers() {
        assert_eq!(code::INTERNAL_ERROR, sys::VIR_ERR_INTERNAL_ERROR as i32);
        assert_eq!(code::NO_SUPPORT, sys::VIR_ERR_NO_SUPPORT as i32);
        assert_eq!(code::INVALID_ARG, sys::VIR_ERR_INVALID_ARG as i32);
        assert_eq!(code::OPERATION_FAILED, sys::VIR_ERR_OPERATION_FAILED as i32);
        assert_eq!(code::SYSTEM_ERROR, sys::VIR_ERR_SYSTEM_ERROR as i32);
        assert_eq!(code::RPC, sys::VIR_ERR_RPC as i32);
        assert_eq!(code::NO_DOMAIN, sys::VIR_ERR_NO_DOMAIN as i32);
        assert_eq!(code::NO_STORAGE_POOL, sys::VIR_ERR_NO_STORAGE_POOL as i32);
        assert_eq!(code::NO_STORAGE_VOL, sys::VIR_ERR_NO_STORAGE_VOL as i32);
        assert_eq!(
            code::STORAGE_VOL_EXIST,
            sys::VIR_ERR_STORAGE_VOL_EXIST as i32
        );
        assert_eq!(
            code::OPERATION_INVALID,
            sys::VIR_ERR_OPERATION_INVALID as i32
        );
        use virt::error::ErrorLevel as Theirs;
        assert_eq!(level_of(Theirs::None), ErrorLevel::None);
        assert_eq!(level_of(Theirs::Warning), ErrorLevel::Warning);
        assert_eq!(level_of(Theirs::Error), ErrorLevel::Error);
        assert_eq!(ErrorLevel::None.raw(), sys::VIR_ERR_NONE as i32);
        assert_eq!(ErrorLevel::Warning.raw(), sys::VIR_ERR_WARNING as i32);
        assert_eq!(ErrorLevel::Error.raw(), sys::VIR_ERR_ERROR as i32);
        use stream_core::domain;
        assert_eq!(domain::RPC, sys::VIR_FROM_RPC as i32);
        assert_eq!(domain::TEST, sys::VIR_FROM_TEST as i32);
        assert_eq!(domain::REMOTE, sys::VIR_FROM_REMOTE as i32);
        assert_eq!(domain::STORAGE, sys::VIR_FROM_STORAGE as i32);
        assert_eq!(domain::DOMAIN, sys::VIR_FROM_DOMAIN as i32);
        assert_eq!(domain::STREAMS, sys::VIR_FROM_STREAMS as i32);
    }
}
