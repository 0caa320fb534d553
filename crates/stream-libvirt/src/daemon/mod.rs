//! A private, storage-only `libvirtd` that the project starts itself: its own state directory,
//! its own sockets, and a mount namespace whose overlays catch every write it makes to the host.
//!
//! The recipe (measured on libvirt 9.0, Debian 12) is in `fixtures/libvirt-9.0/DAEMON.md`:
//! a temporary directory `D` holds the configuration, the sockets, the logs, a driver directory
//! with only the storage driver, the overlay upper dirs and the pool's files. The daemon runs as
//! `setsid unshare -m … sh -c '<overlays over /run /var /etc>; exec "$@"' sh D libvirtd …`, so the
//! pid we spawn is libvirtd's own pid, and nothing it writes reaches the host's `/run`, `/var`
//! or `/etc`. It needs root (mount namespaces and overlayfs).
//!
//! The libvirtd is an [`Installation`]'s: the system's, or another release unpacked under a
//! prefix (`cargo xtask setup`'s 11.3), which also gets its own libraries, its own storage backend
//! directory (`LIBVIRT_STORAGE_BACKEND_DIR`, for both) and its data and helper trees bound over the
//! system's in the namespace (`fixtures/libvirt-11.3/FINDINGS.md`).

use std::{
    env, fmt, fs, io,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Mutex, OnceLock, mpsc},
    thread,
    time::{Duration, Instant},
};

use virt::connect::Connect;

mod host;
mod install;
mod ours;
pub(crate) mod private;
mod shared;
pub(crate) mod state;
mod test_driver;

use host::*;
pub use install::{
    Installation, PREFIX_ENV, check_daemon_version, check_loaded_library, loaded_library_version,
    unpacked_beside_test, version_text,
};
pub use ours::{Volume, Volumes};
pub use shared::shared_uri;
pub use state::{DaemonState, Stopped};
pub use test_driver::test_driver_uri;

/// The environment variable naming a shared daemon's URI; `cargo xtask test` sets it so that every
/// test process uses one daemon instead of starting its own.
pub const URI_ENV: &str = "VIRTSTREAM_DAEMON_URI";

/// The name of the transient dir pool every daemon gets, as a libvirt host's default pool.
pub const POOL: &str = "default";

const LIBVIRTD: &str = "/usr/sbin/libvirtd";
const STORAGE_DRIVER: &str = "libvirt_driver_storage.so";
/// The dir pool's backend, the only one a private daemon loads.
const FS_BACKEND: &str = "libvirt_storage_backend_fs.so";
const INSTALL_HINT: &str =
    "install it with `cargo xtask setup` (Debian packages libvirt-daemon libvirt-clients)";
/// The host trees the daemon writes to; each gets an overlay whose upper dir is inside `D`.
const OVERLAID: [&str; 3] = ["run", "var", "etc"];
/// Runs inside the new mount namespace; `exec` keeps the pid we spawned as libvirtd's pid.
/// `$2` is the pool's size limit in bytes, or `-`: a limited pool is a tmpfs of that size, mounted
/// in the daemon's namespace only (a filesystem that fills up, on demand). `$3` is a number N of
/// bind mounts, whose N (source, target) pairs follow: a prefix's trees over the system's (see
/// [`Installation`]). The overlays over `/run` and `/etc` take every write to `/run/libvirt` and
/// `/etc/libvirt/storage` (neither need exist on the host).
const NAMESPACE_SCRIPT: &str = r#"set -e
D="$1"; LIMIT="$2"; N="$3"; shift 3
for p in run var etc; do
  mount -t overlay overlay -o "lowerdir=/$p,upperdir=$D/ovl/$p-upper,workdir=$D/ovl/$p-work" "/$p"
done
while [ "$N" -gt 0 ]; do mount --bind "$1" "$2"; shift 2; N=$((N - 1)); done
if [ "$LIMIT" != - ]; then mount -t tmpfs -o "size=$LIMIT" tmpfs "$D/pool"; fi
exec "$@""#;
/// A unix socket path must fit `sun_path` (108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;
const POLL: Duration = Duration::from_millis(50);
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// After SIGKILL the kernel still has to tear the process (and its namespace) down.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a private daemon could not be started, reached or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    #[error(
        "the private libvirtd needs root (mount namespace and overlayfs), but this runs as uid {euid}"
    )]
    NotRoot { euid: u32 },
    #[error("{what} is missing: {INSTALL_HINT}")]
    Missing { what: String },
    #[error("{0}")]
    Unusable(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("libvirtd exited ({status}) before it answered\n{logs}")]
    Exited { status: ExitStatus, logs: String },
    #[error("libvirtd did not answer on {uri} within {timeout:?}\n{logs}")]
    NotReady {
        uri: String,
        timeout: Duration,
        logs: String,
    },
    #[error("{what} on the private libvirtd: {source}")]
    Libvirt {
        what: String,
        #[source]
        source: virt::error::Error,
    },
    #[error("state file {path}: {reason}")]
    State { path: PathBuf, reason: String },
    #[error("the shared private libvirtd failed to start earlier in this process: {0}")]
    SharedFailed(String),
}

fn io_error(what: impl fmt::Display) -> impl FnOnce(io::Error) -> DaemonError {
    move |source| DaemonError::Io {
        what: what.to_string(),
        source,
    }
}

/// A running private `libvirtd`; dropping it stops the daemon and removes its directory.
#[derive(Debug)]
pub struct LocalDaemon {
    /// A `vs-*` directory, mode 0700, that only this user can enter.
    dir: PathBuf,
    /// Whether the directory goes with the daemon: not once [`LocalDaemon::persist`] handed it
    /// over, nor for a directory adopted from a state, whose volumes are the user's.
    remove_dir: bool,
    /// The pool's directory as the daemon sees it.
    pool: PathBuf,
    /// The same directory as this process sees it (through `/proc/<pid>/root` for a limited
    /// pool, whose tmpfs exists in the daemon's namespace only).
    pool_seen: PathBuf,
    /// The pool's size limit in bytes (a tmpfs), if any.
    pool_limit: Option<u64>,
    /// `None` once the daemon was killed, stopped or handed over by [`LocalDaemon::persist`].
    child: Option<Child>,
    pid: u32,
    uri: String,
    /// Whether libvirtd gets SIGTERM when the thread that started it ends (see [`shared_uri`]).
    tied_to_thread: bool,
    /// Whose libvirtd runs.
    installation: Installation,
}

impl LocalDaemon {
    /// Starts a daemon in a new directory under the system's temporary directory, waits until
    /// it answers and creates the transient dir pool [`POOL`] in [`LocalDaemon::pool_dir`].
    /// The daemon is [`Installation::from_env`]'s: the system's libvirtd unless
    /// `$VIRTSTREAM_LIBVIRT_PREFIX` names a prefix.
    ///
    /// The directory is in `$TMPDIR` (normally `/tmp`) rather than under `target/`: socket
    /// paths must stay under 108 bytes wherever the checkout lives, and the OS cleans `/tmp`
    /// if a daemon is ever leaked.
    pub fn start() -> Result<LocalDaemon, DaemonError> {
        Self::start_with(false, None, Installation::from_env())
    }

    /// Like [`LocalDaemon::start`], with `installation`'s libvirtd whatever the environment says
    /// (this process's client library may be another release's: the protocol is the same).
    pub fn start_of(installation: Installation) -> Result<LocalDaemon, DaemonError> {
        Self::start_with(false, None, installation)
    }

    /// Like [`LocalDaemon::start`], but the pool is a tmpfs of `bytes` bytes (whole pages)
    /// mounted in the daemon's mount namespace only: a filesystem that fills up, for tests of
    /// uploads that run out of space. Its volumes do not survive [`LocalDaemon::restart`].
    pub fn start_with_pool_limit(bytes: u64) -> Result<LocalDaemon, DaemonError> {
        Self::start_with(false, Some(bytes), Installation::from_env())
    }

    /// [`LocalDaemon::start_with_pool_limit`] with `installation`'s libvirtd.
    pub fn start_of_with_pool_limit(
        installation: Installation,
        bytes: u64,
    ) -> Result<LocalDaemon, DaemonError> {
        Self::start_with(false, Some(bytes), installation)
    }

    fn start_with(
        tied_to_thread: bool,
        pool_limit: Option<u64>,
        installation: Installation,
    ) -> Result<LocalDaemon, DaemonError> {
        let modules = preflight(&installation)?;
        let parent = env::temp_dir();
        // Another user who could rename entries of the parent could swap the directory.
        private::check_no_one_else_controls(&parent).map_err(DaemonError::Unusable)?;
        // 0700: the sockets, logs and pool inside are nobody else's business (tempfile's
        // default is 0777 less the umask, 0755 as measured).
        let dir = tempfile::Builder::new()
            .prefix("vs-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(&parent)
            .map_err(io_error(format_args!(
                "creating a directory in {}",
                parent.display()
            )))?;
        check_dir(dir.path())?;
        prepare_dir(dir.path(), &installation, &modules)?;
        let mut daemon =
            LocalDaemon::on_dir(dir.keep(), true, tied_to_thread, pool_limit, installation);
        daemon.launch()?;
        Ok(daemon)
    }

    /// A daemon not yet launched on `dir`, which [`prepare_dir`] has filled.
    fn on_dir(
        dir: PathBuf,
        remove_dir: bool,
        tied_to_thread: bool,
        pool_limit: Option<u64>,
        installation: Installation,
    ) -> LocalDaemon {
        LocalDaemon {
            installation,
            pool: dir.join("pool"),
            pool_seen: dir.join("pool"),
            pool_limit,
            uri: uri_for(&dir),
            dir,
            remove_dir,
            child: None,
            pid: 0,
            tied_to_thread,
        }
    }

    /// The URI to connect to, e.g. `storage:///system?socket=/tmp/vs-XXXXXX/libvirt-sock`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The directory behind pool [`POOL`]: a volume `v` is the file `pool_dir()/v`.
    pub fn pool_dir(&self) -> &Path {
        &self.pool_seen
    }

    /// The daemon's directory: its config, sockets and logs (`libvirtd.log`, `stderr.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whose libvirtd this is.
    pub fn installation(&self) -> &Installation {
        &self.installation
    }

    /// The pid of the (last started) libvirtd.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills the daemon with SIGKILL at once, for tests of a daemon that dies; does nothing if
    /// it is not running.
    pub fn kill(&mut self) -> Result<(), DaemonError> {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` is a no-op on a child that already exited, and `wait` reaps it so
            // no zombie holds the pid.
            child.kill().map_err(io_error("killing libvirtd"))?;
            child.wait().map_err(io_error("waiting for libvirtd"))?;
        }
        Ok(())
    }

    /// Starts a new libvirtd on the same directory (after stopping the old one if it still
    /// runs), so volumes in [`LocalDaemon::pool_dir`] survive; pool [`POOL`] is created again
    /// because it is transient.
    pub fn restart(&mut self) -> Result<(), DaemonError> {
        self.shutdown()?;
        self.launch()
    }

    /// Stops the daemon: SIGTERM, then SIGKILL if it has not exited after 10 s; then removes
    /// its directory.
    pub fn stop(mut self) -> Result<(), DaemonError> {
        self.shutdown()?;
        self.remove_dir()
    }

    /// Leaves the daemon running and its directory in place, for a daemon that outlives this
    /// process (`virtstream-daemon start`); [`DaemonState::stop`] ends it later.
    pub fn persist(mut self) -> DaemonState {
        // Without a child, `Drop` has nothing to stop, and the directory stays.
        self.child = None;
        self.remove_dir = false;
        DaemonState {
            dir: self.dir.clone(),
            pid: self.pid,
            uri: self.uri.clone(),
        }
    }
}

impl LocalDaemon {
    /// Starts libvirtd on this directory, waits until it answers and creates the pool.
    fn launch(&mut self) -> Result<(), DaemonError> {
        let dir = self.dir.clone();
        fresh_run_files(&dir)?;
        let log = |name: &str| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
                .map_err(io_error(format_args!("opening {name}")))
        };
        let mut command = Command::new("setsid");
        command
            .args(["unshare", "-m", "--propagation", "private", "sh", "-c"])
            .arg(NAMESPACE_SCRIPT)
            .arg("sh")
            .arg(&dir)
            .arg(
                self.pool_limit
                    .map_or("-".to_string(), |bytes| bytes.to_string()),
            );
        let binds = self.installation.bound_trees();
        command.arg(binds.len().to_string());
        for (ours, system) in &binds {
            command.arg(ours).arg(system);
        }
        command
            .arg(self.installation.libvirtd())
            .arg("-f")
            .arg(dir.join("libvirtd.conf"))
            .arg("-p")
            .arg(dir.join("libvirtd.pid"))
            // Only the storage driver: the daemon then has nothing to do with VMs or networks.
            .env("LIBVIRT_DRIVER_DIR", dir.join("drivers"))
            // Only the dir backend, the installation's own: an 11.3 daemon must not load 9.0's.
            .env("LIBVIRT_STORAGE_BACKEND_DIR", dir.join("backends"))
            // Files, not our pipes: a daemon holding a test's stdout would keep its runner waiting.
            .stdin(Stdio::null())
            .stdout(log("stdout.log")?)
            .stderr(log("stderr.log")?);
        if self.installation.prefix().is_some() {
            let lib = self
                .installation
                .lib_dir()
                .ok_or_else(|| DaemonError::Missing {
                    what: format!("libvirt.so.0 of {}", self.installation),
                })?;
            command.env("LD_LIBRARY_PATH", lib);
        } else {
            // The system's daemon links the system's libraries, whatever this process was given.
            command.env_remove("LD_LIBRARY_PATH");
        }
        if self.tied_to_thread {
            die_with_parent(&mut command);
        }
        let child = command
            .spawn()
            .map_err(io_error("starting setsid unshare … libvirtd"))?;
        self.pid = child.id();
        self.child = Some(child);
        if self.pool_limit.is_some() {
            // The tmpfs is mounted in the daemon's namespace: seen from here through its root.
            let root = PathBuf::from(format!("/proc/{}/root", self.pid));
            self.pool_seen = root.join(self.pool.strip_prefix("/").unwrap_or(&self.pool));
        }
        let ready = self.wait_ready().and_then(|conn| self.create_pool(&conn));
        if ready.is_err() {
            // A daemon that never became usable is no use to anyone; do not leave it running.
            let _ = self.kill();
        }
        ready
    }

    /// Polls until the socket exists and a connection opens; fails early if libvirtd exits.
    fn wait_ready(&mut self) -> Result<Connect, DaemonError> {
        // libvirt prints every failed call to stderr by default; refused polls are expected here.
        virt::error::clear_error_callback();
        let dir = self.dir.clone();
        let socket = dir.join("libvirt-sock");
        let started = Instant::now();
        loop {
            let child = self.child.as_mut().expect("launch just spawned the child");
            if let Some(status) = child.try_wait().map_err(io_error("waiting for libvirtd"))? {
                self.child = None;
                return Err(DaemonError::Exited {
                    status,
                    logs: log_tails(&dir),
                });
            }
            if socket.exists() {
                if let Ok(conn) = Connect::open(Some(&self.uri)) {
                    self.check_pid_file()?;
                    return Ok(conn);
                }
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(DaemonError::NotReady {
                    uri: self.uri.clone(),
                    timeout: READY_TIMEOUT,
                    logs: log_tails(&dir),
                });
            }
            thread::sleep(POLL);
        }
    }

    /// Everything here relies on the spawned pid being libvirtd's (setsid, unshare and sh all
    /// exec); libvirtd's own pid file says whether that held.
    fn check_pid_file(&self) -> Result<(), DaemonError> {
        let path = self.dir.join("libvirtd.pid");
        let written = fs::read_to_string(&path).map_err(io_error("reading libvirtd.pid"))?;
        match written.trim().parse::<u32>() {
            Ok(pid) if pid == self.pid => Ok(()),
            _ => Err(DaemonError::Unusable(format!(
                "libvirtd wrote pid {:?} to {}, but the spawned pid is {}",
                written.trim(),
                path.display(),
                self.pid
            ))),
        }
    }

    fn create_pool(&self, conn: &Connect) -> Result<(), DaemonError> {
        let xml = format!(
            "<pool type='dir'><name>{POOL}</name><target><path>{}</path></target></pool>",
            self.pool.display()
        );
        conn.create_storage_pool_xml(&xml, 0)
            .map(drop)
            .map_err(|source| DaemonError::Libvirt {
                what: format!("creating pool `{POOL}`"),
                source,
            })
    }

    /// SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]; reaps the child either way.
    fn shutdown(&mut self) -> Result<(), DaemonError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        signal(self.pid, libc::SIGTERM);
        let asked = Instant::now();
        while asked.elapsed() < STOP_TIMEOUT {
            if child
                .try_wait()
                .map_err(io_error("waiting for libvirtd"))?
                .is_some()
            {
                return Ok(());
            }
            thread::sleep(POLL);
        }
        child.kill().map_err(io_error("killing libvirtd"))?;
        child
            .wait()
            .map_err(io_error("waiting for libvirtd"))
            .map(drop)
    }

    /// Removes the directory if it goes with the daemon, once.
    fn remove_dir(&mut self) -> Result<(), DaemonError> {
        if !std::mem::take(&mut self.remove_dir) {
            return Ok(());
        }
        fs::remove_dir_all(&self.dir)
            .map_err(io_error(format_args!("removing {}", self.dir.display())))
    }
}

/// The URI of the daemon on `dir`; a state's `uri=` must be this, so a state can never hand
/// out another daemon's socket.
pub(crate) fn uri_for(dir: &Path) -> String {
    format!(
        "storage:///system?socket={}",
        dir.join("libvirt-sock").display()
    )
}

impl Drop for LocalDaemon {
    fn drop(&mut self) {
        // Errors cannot be returned from here.
        let _ = self.shutdown();
        let _ = self.remove_dir();
    }
}

#[cfg(test)]
mod install_tests;
#[cfg(test)]
mod private_tests;
#[cfg(test)]
mod tests;
