//! A simulator error as libvirtd puts it on the wire: `remote_error` with the code, domain,
//! message and level, and the parts `virRaiseErrorFull` keeps beside the message (`str1`, the
//! code's message format; `str2`, the detail; `int1`, the `errno` of a system error), as the
//! recordings of libvirtd 9.0 show them (fixtures/rpc/libvirt-9.0: vol-info-missing,
//! raw-unknown, vol-upload-longer-than-length).

use stream_core::Error;
use stream_core::{code, domain};

use crate::protocol::RemoteError;

/// `VIR_ERR_ERROR`.
const LEVEL_ERROR: i32 = 2;

/// `virErrorMsg`'s formats with information, for the codes the simulator reports: a message
/// that starts with the part before `%s` was made from it.
const FORMATS: &[(i32, &str)] = &[
    (code::INTERNAL_ERROR, "internal error: %s"),
    (
        code::NO_SUPPORT,
        "this function is not supported by the connection driver: %s",
    ),
    (code::INVALID_ARG, "invalid argument: %s"),
    (code::OPERATION_FAILED, "operation failed: %s"),
    (code::NO_DOMAIN, "Domain not found: %s"),
    (code::NO_STORAGE_POOL, "Storage pool not found: %s"),
    (code::NO_STORAGE_VOL, "Storage volume not found: %s"),
    (
        code::OPERATION_INVALID,
        "Requested operation is not valid: %s",
    ),
    (XML_ERROR, "XML error: %s"),
];

/// `VIR_ERR_XML_ERROR`.
pub const XML_ERROR: i32 = 27;

/// The `errno` values of the `strerror` texts system errors end with.
const ERRNOS: &[(&str, i32)] = &[
    ("No such file or directory", 2),
    ("Input/output error", 5),
    ("Bad file descriptor", 9),
    ("Invalid argument", 22),
    ("No space left on device", 28),
    ("Broken pipe", 32),
];

/// `error` as libvirtd 9.0 sends it.
pub fn remote_error(error: &Error) -> RemoteError {
    let (code, domain) = error
        .libvirt_code()
        .map_or((code::INTERNAL_ERROR, domain::NONE), |c| (c.code, c.domain));
    let message = error.message().to_string();
    let (str1, str2) = split_format(code, &message);
    let int1 = if code == code::SYSTEM_ERROR {
        ERRNOS
            .iter()
            .find(|(text, _)| message.ends_with(text))
            .map_or(-1, |&(_, errno)| errno)
    } else {
        -1
    };
    RemoteError {
        code,
        domain,
        message: Some(message),
        level: error.level().map_or(LEVEL_ERROR, |level| level.raw()),
        dom: None,
        str1: Some(str1),
        str2,
        str3: None,
        int1,
        int2: -1,
        net: None,
    }
}

/// The RPC layer's own refusal (`VIR_ERR_RPC` from `VIR_FROM_RPC`, format `%s`).
pub fn rpc_failure(message: impl Into<String>) -> Error {
    Error::libvirt(stream_core::ErrorKind::Rpc, code::RPC, domain::RPC, message)
}

/// [`rpc_failure`] as it goes on the wire.
pub fn rpc_error(message: impl Into<String>) -> RemoteError {
    remote_error(&rpc_failure(message))
}

/// `(str1, str2)`: the code's format and the detail that fills it. A message with no detail
/// is its own format (`"Domain not found"`); one that matches no format is `"%s"` filled with
/// the whole message, as `virReportSystemError` and `VIR_ERR_RPC` send it.
fn split_format(code: i32, message: &str) -> (String, Option<String>) {
    for (_, format) in FORMATS.iter().filter(|(c, _)| *c == code) {
        let prefix = format.trim_end_matches("%s");
        if let Some(detail) = message.strip_prefix(prefix) {
            return (format.to_string(), Some(detail.to_string()));
        }
        if message == prefix.trim_end_matches(": ") {
            return (message.to_string(), None);
        }
    }
    ("%s".to_string(), Some(message.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stream_core::libvirt_errors;

    #[test]
    fn formats_split_as_libvirtd_sends_them() {
        let missing = remote_error(&libvirt_errors::no_volume("x"));
        assert_eq!(
            missing.str1.as_deref(),
            Some("Storage volume not found: %s")
        );
        assert_eq!(
            missing.str2.as_deref(),
            Some("no storage vol with matching name 'x'")
        );
        let full = remote_error(&libvirt_errors::no_space_left());
        assert_eq!((full.str1.as_deref(), full.int1), (Some("%s"), 28));
        let domain = remote_error(&libvirt_errors::no_domain());
        assert_eq!(
            (domain.str1.as_deref(), domain.str2),
            (Some("Domain not found"), None)
        );
    }
}
