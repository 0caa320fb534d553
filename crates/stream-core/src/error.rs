//! The one error type: a kind callers match on, plus libvirt's code, domain and message when the
//! error came from (or reproduces) libvirt.

use std::fmt;
use std::sync::Arc;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The stream was finished or aborted; nothing more can be done with it.
    Closed,
    /// The stream (or backend) does not offer this operation, e.g. on a stream not yet bound.
    NotSupported,
    /// A bad argument: zero-length hole, unknown flag bits, bad layout notation, bad range.
    InvalidArgument,
    /// An operation the stream's state or direction forbids: `send` on a download, ...
    InvalidOperation,
    /// An operating-system error on either side (I/O, a dead daemon's socket).
    System,
    /// The RPC layer between client and daemon failed (connection closed, protocol error).
    Rpc,
    /// A handler of a `*_all` helper failed; the handler's own error is the source.
    Handler,
    /// Something the far side reported that fits no other kind (`VIR_ERR_INTERNAL_ERROR`, ...).
    Internal,
    /// A pool, volume or domain that does not exist.
    NotFound,
    /// The daemon at the other end is gone (killed, restarted, its socket closed): nothing on
    /// this connection will work again; connect anew. libvirt reports it under several codes
    /// (`VIR_ERR_INTERNAL_ERROR` "client socket is closed", `VIR_ERR_SYSTEM_ERROR` "End of
    /// file while reading data", ...), so the kind is what tells it apart.
    Disconnected,
}

impl ErrorKind {
    /// The word used in [`Error`]'s `Display` and in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Closed => "closed",
            ErrorKind::NotSupported => "not-supported",
            ErrorKind::InvalidArgument => "invalid-argument",
            ErrorKind::InvalidOperation => "invalid-operation",
            ErrorKind::System => "system",
            ErrorKind::Rpc => "rpc",
            ErrorKind::Handler => "handler",
            ErrorKind::Internal => "internal",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Disconnected => "disconnected",
        }
    }

    /// The kind named by [`ErrorKind::as_str`].
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ALL_KINDS.iter().copied().find(|kind| kind.as_str() == name)
    }
}

const ALL_KINDS: [ErrorKind; 10] = [
    ErrorKind::Closed,
    ErrorKind::NotSupported,
    ErrorKind::InvalidArgument,
    ErrorKind::InvalidOperation,
    ErrorKind::System,
    ErrorKind::Rpc,
    ErrorKind::Handler,
    ErrorKind::Internal,
    ErrorKind::NotFound,
    ErrorKind::Disconnected,
];

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// libvirt's numeric error code and domain (`virErrorNumber`, `virErrorDomain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LibvirtCode {
    /// `virErrorNumber`, e.g. 3 for `VIR_ERR_NO_SUPPORT`.
    pub code: i32,
    /// `virErrorDomain`, e.g. 38 for `VIR_FROM_STREAMS`.
    pub domain: i32,
}

/// libvirt's `virErrorLevel`: how serious libvirt says an error is.
///
/// Every error libvirt 9.0 raised for a stream, a screenshot or a volume in the probes was
/// [`ErrorLevel::Error`] (fixtures/libvirt-9.0/FINDINGS.md, Q23); the others exist in libvirt's
/// API and are kept when libvirt reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorLevel {
    /// `VIR_ERR_NONE` (0).
    None,
    /// `VIR_ERR_WARNING` (1).
    Warning,
    /// `VIR_ERR_ERROR` (2).
    Error,
}

impl ErrorLevel {
    /// libvirt's number for the level.
    pub fn raw(self) -> i32 {
        match self {
            ErrorLevel::None => 0,
            ErrorLevel::Warning => 1,
            ErrorLevel::Error => 2,
        }
    }

    /// The level libvirt means by `raw`; `None` for a number libvirt does not define.
    pub fn from_raw(raw: i32) -> Option<ErrorLevel> {
        match raw {
            0 => Some(ErrorLevel::None),
            1 => Some(ErrorLevel::Warning),
            2 => Some(ErrorLevel::Error),
            _ => None,
        }
    }

    /// The word used in [`Error`]'s `Display` and in scenario files: `none`, `warning`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorLevel::None => "none",
            ErrorLevel::Warning => "warning",
            ErrorLevel::Error => "error",
        }
    }

    /// The level named by [`ErrorLevel::as_str`].
    pub fn from_name(name: &str) -> Option<ErrorLevel> {
        [ErrorLevel::None, ErrorLevel::Warning, ErrorLevel::Error]
            .into_iter()
            .find(|level| level.as_str() == name)
    }
}

impl fmt::Display for ErrorLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from a stream or backend.
///
/// Equality compares kind, libvirt code, level and message, not the source: that is what the
/// conformance suite compares between backends.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    libvirt: Option<LibvirtCode>,
    level: Option<ErrorLevel>,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of this project's own (a guard, a bad argument), with no libvirt code.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            libvirt: None,
            level: None,
            message: message.into(),
            source: None,
        }
    }

    /// An error as libvirt reports it: code, domain and its exact message, at libvirt's level
    /// [`ErrorLevel::Error`] (what `virReportError` gives; [`Error::with_level`] changes it).
    pub fn libvirt(kind: ErrorKind, code: i32, domain: i32, message: impl Into<String>) -> Error {
        Error {
            kind,
            libvirt: Some(LibvirtCode { code, domain }),
            level: Some(ErrorLevel::Error),
            message: message.into(),
            source: None,
        }
    }

    /// The same error at another libvirt level (as the `virError` reported it).
    pub fn with_level(mut self, level: ErrorLevel) -> Error {
        self.level = Some(level);
        self
    }

    /// Attach the underlying cause (a handler's error, an `io::Error`).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Arc::new(source));
        self
    }

    /// The same error with another kind: libvirt reports one code for several situations
    /// (a closed stream and an unbound one look alike), the lifecycle knows which it is.
    pub fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.kind = kind;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// libvirt's code and domain, when libvirt reported (or would report) this error.
    pub fn libvirt_code(&self) -> Option<LibvirtCode> {
        self.libvirt
    }

    /// libvirt's `virErrorLevel`, where libvirt gave (or would give) one; `None` for this
    /// project's own errors (guards, bad arguments), which libvirt never raises.
    pub fn level(&self) -> Option<ErrorLevel> {
        self.level
    }

    /// The message: libvirt's own text where there is one, else a sentence naming the rule.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.kind == other.kind
            && self.libvirt == other.libvirt
            && self.level == other.level
            && self.message == other.message
    }
}

impl Eq for Error {}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug
            .field("kind", &self.kind)
            .field("libvirt", &self.libvirt)
            .field("level", &self.level);
        debug.field("message", &self.message);
        if let Some(source) = &self.source {
            debug.field("source", &source.to_string());
        }
        debug.finish()
    }
}

impl fmt::Display for Error {
    /// One line: `kind: message [libvirt code C, domain D]`, with `, level L` inside the
    /// brackets when libvirt's level is not the usual `error`. The source is not repeated here
    /// (it is `source()`, for reporters that walk the chain; messages already name the cause).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        let unusual = self.level.filter(|level| *level != ErrorLevel::Error);
        match (self.libvirt, unusual) {
            (Some(LibvirtCode { code, domain }), None) => {
                write!(f, " [libvirt code {code}, domain {domain}]")
            }
            (Some(LibvirtCode { code, domain }), Some(level)) => {
                write!(f, " [libvirt code {code}, domain {domain}, level {level}]")
            }
            (None, Some(level)) => write!(f, " [libvirt level {level}]"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// libvirt's `virErrorNumber` values this project produces or matches (include/libvirt/virterror.h).
pub mod code {
    /// `VIR_ERR_INTERNAL_ERROR`
    pub const INTERNAL_ERROR: i32 = 1;
    /// `VIR_ERR_NO_SUPPORT`
    pub const NO_SUPPORT: i32 = 3;
    /// `VIR_ERR_INVALID_ARG`
    pub const INVALID_ARG: i32 = 8;
    /// `VIR_ERR_OPERATION_FAILED`
    pub const OPERATION_FAILED: i32 = 9;
    /// `VIR_ERR_SYSTEM_ERROR`
    pub const SYSTEM_ERROR: i32 = 38;
    /// `VIR_ERR_RPC`
    pub const RPC: i32 = 39;
    /// `VIR_ERR_NO_DOMAIN`
    pub const NO_DOMAIN: i32 = 42;
    /// `VIR_ERR_NO_STORAGE_POOL`
    pub const NO_STORAGE_POOL: i32 = 49;
    /// `VIR_ERR_NO_STORAGE_VOL`
    pub const NO_STORAGE_VOL: i32 = 50;
    /// `VIR_ERR_OPERATION_INVALID`
    pub const OPERATION_INVALID: i32 = 55;
    /// `VIR_ERR_STORAGE_VOL_EXIST`
    pub const STORAGE_VOL_EXIST: i32 = 90;
}

/// libvirt's `virErrorDomain` values this project produces or matches.
pub mod domain {
    /// `VIR_FROM_NONE`
    pub const NONE: i32 = 0;
    /// `VIR_FROM_RPC`
    pub const RPC: i32 = 7;
    /// `VIR_FROM_TEST`
    pub const TEST: i32 = 12;
    /// `VIR_FROM_REMOTE`
    pub const REMOTE: i32 = 13;
    /// `VIR_FROM_STORAGE`
    pub const STORAGE: i32 = 18;
    /// `VIR_FROM_DOMAIN`
    pub const DOMAIN: i32 = 20;
    /// `VIR_FROM_STREAMS`
    pub const STREAMS: i32 = 38;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_code_and_domain() {
        let error = Error::libvirt(
            ErrorKind::NotSupported,
            code::NO_SUPPORT,
            domain::STREAMS,
            "this function is not supported by the connection driver: virStreamSend",
        );
        assert_eq!(
            error.to_string(),
            "not-supported: this function is not supported by the connection driver: \
             virStreamSend [libvirt code 3, domain 38]"
        );
        assert!(!error.to_string().contains('\n'));
    }

    #[test]
    fn display_names_the_rule_once_and_keeps_the_source() {
        let io = std::io::Error::other("disk full");
        let error =
            Error::new(ErrorKind::Handler, "sink handler failed: disk full").with_source(io);
        assert_eq!(error.to_string(), "handler: sink handler failed: disk full");
        let source = std::error::Error::source(&error).expect("the cause is kept");
        assert_eq!(source.to_string(), "disk full");
    }

    #[test]
    fn kind_names_round_trip() {
        for kind in ALL_KINDS {
            assert_eq!(ErrorKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(ErrorKind::from_name("nonsense"), None);
    }

    #[test]
    fn libvirt_errors_have_libvirts_level_and_own_errors_none() {
        let error = Error::libvirt(ErrorKind::Internal, 1, 7, "x");
        assert_eq!(error.level(), Some(ErrorLevel::Error));
        assert_eq!(Error::new(ErrorKind::Internal, "x").level(), None);
        let warning = error.clone().with_level(ErrorLevel::Warning);
        assert_eq!(warning.level(), Some(ErrorLevel::Warning));
        assert_ne!(error, warning, "the level is compared");
        assert_eq!(
            warning.to_string(),
            "internal: x [libvirt code 1, domain 7, level warning]"
        );
        for raw in 0..3 {
            let level = ErrorLevel::from_raw(raw).expect("libvirt defines 0, 1, 2");
            assert_eq!(level.raw(), raw);
            assert_eq!(ErrorLevel::from_name(level.as_str()), Some(level));
        }
        assert_eq!(ErrorLevel::from_raw(3), None);
    }

    #[test]
    fn equality_ignores_source() {
        let plain = Error::new(ErrorKind::System, "x");
        let sourced = plain.clone().with_source(std::io::Error::other("y"));
        assert_eq!(plain, sourced);
        assert_ne!(plain, plain.clone().with_kind(ErrorKind::Rpc));
    }
}
