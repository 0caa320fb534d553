//! Which libvirt a private daemon runs, and which one this process has loaded: the system's
//! (`/usr/sbin/libvirtd`, Debian 12's 9.0) or a release unpacked under a prefix by
//! `cargo xtask setup` (`target/libvirt-11.3`), named by `$VIRTSTREAM_LIBVIRT_PREFIX`.
//!
//! A prefix's libvirtd runs with the prefix's libraries first (`LD_LIBRARY_PATH`), its storage
//! driver and dir backend only (`LIBVIRT_DRIVER_DIR`, `LIBVIRT_STORAGE_BACKEND_DIR`: the system's
//! 9.0 backends must not load into an 11.3 daemon), and, in its mount namespace only, the prefix's
//! `/usr/share/libvirt` and `/usr/lib/libvirt` bound over the system's, which its compiled-in
//! paths name. A process that uses a prefix's client library must have been started with
//! `LD_LIBRARY_PATH` set (`virtstream --libvirt PREFIX` re-executes itself so);
//! [`check_loaded_library`] proves it was.

use std::ffi::OsString;

use super::*;

/// Names the prefix whose libvirt a process uses (client library and daemon); unset or empty:
/// the system's.
pub const PREFIX_ENV: &str = "VIRTSTREAM_LIBVIRT_PREFIX";

/// What `cargo xtask setup` writes last into a prefix: `version=11.3.0`, the Debian version, the
/// packages.
const STAMP: &str = "virtstream-release";

/// Trees of a prefix bound over the system's in the daemon's namespace (when both exist): data
/// files (`/usr/share/libvirt`) and helper programs (`/usr/lib/libvirt`) that libvirtd finds by
/// compiled-in paths, not through the environment.
pub(super) const BOUND: [&str; 2] = ["usr/share/libvirt", "usr/lib/libvirt"];

/// One libvirt installation: the system's, or one unpacked under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// `None`: the system's.
    prefix: Option<PathBuf>,
}

impl Installation {
    /// The system's libvirt (`/usr/sbin/libvirtd`, the dynamic linker's `libvirt.so.0`).
    pub fn system() -> Installation {
        Installation { prefix: None }
    }

    /// The libvirt unpacked under `prefix` (a directory holding `usr/sbin/libvirtd`).
    pub fn at(prefix: impl Into<PathBuf>) -> Installation {
        Installation {
            prefix: Some(prefix.into()),
        }
    }

    /// `$VIRTSTREAM_LIBVIRT_PREFIX`'s installation, or the system's when it is unset or empty.
    pub fn from_env() -> Installation {
        match env::var_os(PREFIX_ENV).filter(|value| !value.is_empty()) {
            Some(prefix) => Installation::at(PathBuf::from(prefix)),
            None => Installation::system(),
        }
    }

    /// The prefix, `None` for the system's.
    pub fn prefix(&self) -> Option<&Path> {
        self.prefix.as_deref()
    }

    /// The daemon's program.
    pub fn libvirtd(&self) -> PathBuf {
        match &self.prefix {
            None => PathBuf::from(LIBVIRTD),
            Some(prefix) => prefix.join(LIBVIRTD.trim_start_matches('/')),
        }
    }

    /// The directories that may hold `libvirt.so.0`: Debian's multiarch one, `lib64`, `lib`.
    fn lib_dirs(&self) -> Vec<PathBuf> {
        let root = self.prefix.clone().unwrap_or_else(|| PathBuf::from("/"));
        let lib = root.join("usr/lib");
        let mut multiarch: Vec<PathBuf> = fs::read_dir(&lib)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.join("libvirt").is_dir() || path.join("libvirt.so.0").exists())
            .collect();
        multiarch.sort();
        let mut dirs = vec![root.join("usr/lib64")];
        dirs.push(lib);
        dirs.extend(multiarch);
        dirs
    }

    /// The directory holding this installation's `libvirt.so.0`, which a process using it needs
    /// first in `LD_LIBRARY_PATH`.
    pub fn lib_dir(&self) -> Option<PathBuf> {
        self.lib_dirs()
            .into_iter()
            .find(|dir| dir.join("libvirt.so.0").exists())
    }

    /// A module of the daemon: `connection-driver/…` or `storage-backend/…`.
    fn module(&self, kind: &str, name: &str) -> Option<PathBuf> {
        self.lib_dirs()
            .into_iter()
            .map(|lib| lib.join("libvirt").join(kind).join(name))
            .find(|path| path.is_file())
    }

    /// The storage driver module.
    pub(super) fn storage_driver(&self) -> Option<PathBuf> {
        self.module("connection-driver", STORAGE_DRIVER)
    }

    /// The dir pool's storage backend module.
    pub(super) fn fs_backend(&self) -> Option<PathBuf> {
        self.module("storage-backend", FS_BACKEND)
    }

    /// The version a prefix was unpacked for (`11.3.0`, from its `virtstream-release`), which the
    /// library and daemon of a process using it must report; `None` for the system's, which
    /// is whatever the system has.
    pub fn expected_version(&self) -> Result<Option<String>, DaemonError> {
        let Some(prefix) = &self.prefix else {
            return Ok(None);
        };
        let stamp = prefix.join(STAMP);
        let text = fs::read_to_string(&stamp).map_err(|source| DaemonError::Missing {
            what: format!(
                "the libvirt under {} ({}: {source}; run `cargo xtask setup`)",
                prefix.display(),
                stamp.display()
            ),
        })?;
        text.lines()
            .find_map(|line| line.strip_prefix("version="))
            .map(|version| Some(version.trim().to_owned()))
            .ok_or_else(|| {
                DaemonError::Unusable(format!("{} names no version= line", stamp.display()))
            })
    }

    /// The environment a process needs to use this installation's client library: the prefix
    /// and `LD_LIBRARY_PATH` with its lib directory first. Empty for the system's.
    pub fn client_env(&self) -> Result<Vec<(&'static str, OsString)>, DaemonError> {
        let Some(prefix) = &self.prefix else {
            return Ok(Vec::new());
        };
        let lib = self.lib_dir().ok_or_else(|| DaemonError::Missing {
            what: format!(
                "libvirt.so.0 under {} (run `cargo xtask setup`)",
                prefix.display()
            ),
        })?;
        let mut path = lib.into_os_string();
        if let Some(old) = env::var_os("LD_LIBRARY_PATH").filter(|old| !old.is_empty()) {
            path.push(":");
            path.push(old);
        }
        Ok(vec![
            (PREFIX_ENV, prefix.clone().into_os_string()),
            ("LD_LIBRARY_PATH", path),
        ])
    }

    /// What the daemon's namespace binds over the system's trees: `(prefix's, system's)`.
    pub(super) fn bound_trees(&self) -> Vec<(PathBuf, PathBuf)> {
        let Some(prefix) = &self.prefix else {
            return Vec::new();
        };
        BOUND
            .iter()
            .map(|tree| (prefix.join(tree), Path::new("/").join(tree)))
            .filter(|(ours, system)| ours.is_dir() && system.is_dir())
            .collect()
    }

    /// The installation whose libvirtd a daemon directory was prepared for (its `libvirtd`
    /// link, see [`prepare_dir`]); the system's for a directory without one.
    pub(super) fn of_dir(dir: &Path) -> Installation {
        let Ok(libvirtd) = fs::read_link(dir.join("libvirtd")) else {
            return Installation::system();
        };
        let suffix = Path::new(LIBVIRTD.trim_start_matches('/'));
        let mut prefix = libvirtd.clone();
        for _ in suffix.components() {
            prefix.pop();
        }
        if libvirtd == Path::new(LIBVIRTD) || !libvirtd.ends_with(suffix) {
            Installation::system()
        } else {
            Installation::at(prefix)
        }
    }
}

impl fmt::Display for Installation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.prefix {
            None => write!(f, "the system's libvirt"),
            Some(prefix) => write!(f, "the libvirt under {}", prefix.display()),
        }
    }
}

/// `major.minor.micro` of libvirt's packed version number (`11003000` → `11.3.0`).
/// The release `cargo xtask setup` unpacked into `<target>/libvirt-<release>`, found from a
/// test binary of that target (`<target>/<profile>/deps/<name>`); an error says what to run
/// when it is missing.
pub fn unpacked_beside_test(exe: &Path, release: &str) -> Result<PathBuf, String> {
    let target = exe
        .ancestors()
        .nth(3)
        .ok_or_else(|| format!("{} is not <target>/<profile>/deps/<name>", exe.display()))?;
    let prefix = target.join(format!("libvirt-{release}"));
    if prefix.join("virtstream-release").is_file() {
        Ok(prefix)
    } else {
        Err(format!(
            "{} has no libvirt {release}: run `cargo xtask setup`",
            prefix.display()
        ))
    }
}

pub fn version_text(packed: u32) -> String {
    format!(
        "{}.{}.{}",
        packed / 1_000_000,
        packed / 1000 % 1000,
        packed % 1000
    )
}

/// The version of the `libvirt.so.0` this process has loaded (`virGetVersion`).
pub fn loaded_library_version() -> Result<String, DaemonError> {
    Connect::version()
        .map(version_text)
        .map_err(|source| DaemonError::Libvirt {
            what: "virGetVersion".to_owned(),
            source,
        })
}

/// Fails unless the client library this process loaded is `$VIRTSTREAM_LIBVIRT_PREFIX`'s
/// release: a column labelled 11.3 must never silently test the system's 9.0 (a process started
/// without `LD_LIBRARY_PATH`). Returns the loaded version.
pub fn check_loaded_library() -> Result<String, DaemonError> {
    let installation = Installation::from_env();
    let loaded = loaded_library_version()?;
    match installation.expected_version()? {
        Some(expected) if expected != loaded => Err(DaemonError::Unusable(format!(
            "this process loaded libvirt {loaded}, not {installation}'s {expected}: start it \
             with LD_LIBRARY_PATH={} (`virtstream --libvirt PREFIX …` does)",
            installation.lib_dir().map_or_else(
                || "<prefix>/usr/lib/<arch>".to_owned(),
                |dir| dir.display().to_string()
            )
        ))),
        _ => Ok(loaded),
    }
}

/// Fails unless the daemon behind `uri` runs `$VIRTSTREAM_LIBVIRT_PREFIX`'s release
/// (`virConnectGetLibVersion` on a remote connection is the daemon's version); returns it.
pub fn check_daemon_version(uri: &str) -> Result<String, DaemonError> {
    let installation = Installation::from_env();
    let conn = Connect::open(Some(uri)).map_err(|source| DaemonError::Libvirt {
        what: format!("connecting to {uri}"),
        source,
    })?;
    let version = conn.lib_version().map(version_text);
    drop(conn);
    let version = version.map_err(|source| DaemonError::Libvirt {
        what: "virConnectGetLibVersion".to_owned(),
        source,
    })?;
    match installation.expected_version()? {
        Some(expected) if expected != version => Err(DaemonError::Unusable(format!(
            "the daemon at {uri} runs libvirt {version}, not {installation}'s {expected} \
             (a daemon of another release named by ${URI_ENV}?)"
        ))),
        _ => Ok(version),
    }
}
