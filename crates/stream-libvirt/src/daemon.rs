//! A private, storage-only `libvirtd` that the project starts itself: its own state directory,
//! its own sockets, and a mount namespace whose overlays catch every write it makes to the host.
//!
//! The recipe (measured on libvirt 9.0, Debian 12) is in `fixtures/libvirt-9.0/DAEMON.md`:
//! a temporary directory `D` holds the configuration, the sockets, the logs, a driver directory
//! with only the storage driver, the overlay upper dirs and the pool's files. The daemon runs as
//! `setsid unshare -m … sh -c '<overlays over /run /var /etc>; exec "$@"' sh D libvirtd …`, so the
//! pid we spawn is libvirtd's own pid, and nothing it writes reaches the host's `/run`, `/var`
//! or `/etc`. It needs root (mount namespaces and overlayfs).

use std::{
    env, fmt, fs, io,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Mutex, OnceLock, mpsc},
    thread,
    time::{Duration, Instant},
};

use tempfile::TempDir;
use virt::connect::Connect;

/// The environment variable naming a shared daemon's URI; `cargo xtask test` sets it so that every
/// test process uses one daemon instead of starting its own.
pub const URI_ENV: &str = "VIRTSTREAM_DAEMON_URI";

/// The name of the transient dir pool every daemon gets, as a libvirt host's default pool.
pub const POOL: &str = "default";

const LIBVIRTD: &str = "/usr/sbin/libvirtd";
const STORAGE_DRIVER: &str = "libvirt_driver_storage.so";
const INSTALL_HINT: &str =
    "install it with `cargo xtask setup` (Debian packages libvirt-daemon libvirt-clients)";
/// The host trees the daemon writes to; each gets an overlay whose upper dir is inside `D`.
const OVERLAID: [&str; 3] = ["run", "var", "etc"];
/// Runs inside the new mount namespace; `exec` keeps the pid we spawned as libvirtd's pid.
const NAMESPACE_SCRIPT: &str = r#"set -e
D="$1"; shift
for p in run var etc; do
  mount -t overlay overlay -o "lowerdir=/$p,upperdir=$D/ovl/$p-upper,workdir=$D/ovl/$p-work" "/$p"
done
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
    dir: TempDir,
    pool: PathBuf,
    /// `None` once the daemon was killed, stopped or handed over by [`LocalDaemon::persist`].
    child: Option<Child>,
    pid: u32,
    uri: String,
    /// Whether libvirtd gets SIGTERM when the thread that started it ends (see [`shared_uri`]).
    tied_to_thread: bool,
}

impl LocalDaemon {
    /// Starts a daemon in a new directory under the system's temporary directory, waits until
    /// it answers and creates the transient dir pool [`POOL`] in [`LocalDaemon::pool_dir`].
    ///
    /// The directory is in `$TMPDIR` (normally `/tmp`) rather than under `target/`: socket
    /// paths must stay under 108 bytes wherever the checkout lives, and the OS cleans `/tmp`
    /// if a daemon is ever leaked.
    pub fn start() -> Result<LocalDaemon, DaemonError> {
        Self::start_with(false)
    }

    fn start_with(tied_to_thread: bool) -> Result<LocalDaemon, DaemonError> {
        let driver = preflight()?;
        let parent = env::temp_dir();
        let dir = tempfile::Builder::new()
            .prefix("vs-")
            .tempdir_in(&parent)
            .map_err(io_error(format_args!(
                "creating a directory in {}",
                parent.display()
            )))?;
        check_dir(dir.path())?;
        let path = dir.path();
        fs::create_dir(path.join("drivers")).map_err(io_error("creating drivers/"))?;
        std::os::unix::fs::symlink(&driver, path.join("drivers").join(STORAGE_DRIVER))
            .map_err(io_error("linking the storage driver"))?;
        fs::create_dir(path.join("pool")).map_err(io_error("creating pool/"))?;
        fs::write(path.join("libvirtd.conf"), config(path))
            .map_err(io_error("writing libvirtd.conf"))?;
        let uri = format!(
            "storage:///system?socket={}",
            path.join("libvirt-sock").display()
        );
        let mut daemon = LocalDaemon {
            pool: path.join("pool"),
            dir,
            child: None,
            pid: 0,
            uri,
            tied_to_thread,
        };
        daemon.launch()?;
        Ok(daemon)
    }

    /// The URI to connect to, e.g. `storage:///system?socket=/tmp/vs-XXXXXX/libvirt-sock`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The directory behind pool [`POOL`]: a volume `v` is the file `pool_dir()/v`.
    pub fn pool_dir(&self) -> &Path {
        &self.pool
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
        self.shutdown()
    }

    /// Leaves the daemon running and its directory in place, for a daemon that outlives this
    /// process (`virtstream-daemon start`); [`DaemonState::stop`] ends it later.
    pub fn persist(mut self) -> DaemonState {
        // Without a child, `Drop` has nothing to stop; with cleanup disabled the directory stays.
        self.child = None;
        self.dir.disable_cleanup(true);
        DaemonState {
            dir: self.dir.path().to_owned(),
            pid: self.pid,
            uri: self.uri.clone(),
        }
    }
}

impl LocalDaemon {
    /// Starts libvirtd on this directory, waits until it answers and creates the pool.
    fn launch(&mut self) -> Result<(), DaemonError> {
        let dir = self.dir.path().to_owned();
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
            .arg(LIBVIRTD)
            .arg("-f")
            .arg(dir.join("libvirtd.conf"))
            .arg("-p")
            .arg(dir.join("libvirtd.pid"))
            // Only the storage driver: the daemon then has nothing to do with VMs or networks.
            .env("LIBVIRT_DRIVER_DIR", dir.join("drivers"))
            // Files, not our pipes: a daemon holding a test's stdout would keep its runner waiting.
            .stdin(Stdio::null())
            .stdout(log("stdout.log")?)
            .stderr(log("stderr.log")?);
        if self.tied_to_thread {
            die_with_parent(&mut command);
        }
        let child = command
            .spawn()
            .map_err(io_error("starting setsid unshare … libvirtd"))?;
        self.pid = child.id();
        self.child = Some(child);
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
        let dir = self.dir.path().to_owned();
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
        let path = self.dir.path().join("libvirtd.pid");
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
}

impl Drop for LocalDaemon {
    fn drop(&mut self) {
        // Errors cannot be returned from here; the directory goes with `TempDir` right after.
        let _ = self.shutdown();
    }
}

/// What a daemon left running by [`LocalDaemon::persist`] needs to be found and stopped later,
/// stored as `key=value` lines in a state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonState {
    pub dir: PathBuf,
    pub pid: u32,
    pub uri: String,
}

impl DaemonState {
    pub fn write(&self, path: &Path) -> Result<(), DaemonError> {
        let text = format!(
            "dir={}\npid={}\nuri={}\n",
            self.dir.display(),
            self.pid,
            self.uri
        );
        fs::write(path, text).map_err(io_error(format_args!("writing {}", path.display())))
    }

    pub fn read(path: &Path) -> Result<DaemonState, DaemonError> {
        let text = fs::read_to_string(path)
            .map_err(io_error(format_args!("reading {}", path.display())))?;
        let bad = |reason: String| DaemonError::State {
            path: path.to_owned(),
            reason,
        };
        let value = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .ok_or_else(|| bad(format!("no `{key}=` line")))
        };
        let pid = value("pid")?;
        Ok(DaemonState {
            dir: PathBuf::from(value("dir")?),
            pid: pid
                .parse()
                .map_err(|_| bad(format!("pid `{pid}` is not a number")))?,
            uri: value("uri")?.to_owned(),
        })
    }

    /// Whether `pid` is still this state's libvirtd: a live (not zombie) process whose command
    /// line is libvirtd with this directory's config, so a reused pid is never mistaken for it.
    pub fn is_running(&self) -> bool {
        let proc = PathBuf::from(format!("/proc/{}", self.pid));
        let zombie = fs::read_to_string(proc.join("stat")).map_or(true, |stat| {
            // The state follows the command name, which is in parentheses and may hold spaces.
            stat.rsplit_once(") ")
                .is_none_or(|(_, rest)| rest.starts_with('Z'))
        });
        let Ok(cmdline) = fs::read(proc.join("cmdline")) else {
            return false;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let conf = self.dir.join("libvirtd.conf");
        !zombie
            && args.first() == Some(&LIBVIRTD.as_bytes())
            && args.contains(&conf.as_os_str().as_encoded_bytes())
    }

    /// Stops the daemon if it still runs (SIGTERM, SIGKILL after 10 s) and removes its directory.
    pub fn stop(self) -> Result<(), DaemonError> {
        if self.is_running() {
            signal(self.pid, libc::SIGTERM);
            if !self.wait_gone(STOP_TIMEOUT) {
                signal(self.pid, libc::SIGKILL);
                if !self.wait_gone(KILL_TIMEOUT) {
                    return Err(DaemonError::Unusable(format!(
                        "libvirtd {} is still running after SIGKILL",
                        self.pid
                    )));
                }
            }
        }
        // The state file could have been edited; remove only what `LocalDaemon::start` made.
        let ours = self
            .dir
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("vs-"))
            && self.dir.join("libvirtd.conf").is_file();
        if !ours {
            return Err(DaemonError::Unusable(format!(
                "not removing {}: it is not a private daemon's directory",
                self.dir.display()
            )));
        }
        fs::remove_dir_all(&self.dir)
            .map_err(io_error(format_args!("removing {}", self.dir.display())))
    }

    fn wait_gone(&self, timeout: Duration) -> bool {
        let asked = Instant::now();
        while asked.elapsed() < timeout {
            if !self.is_running() {
                return true;
            }
            thread::sleep(POLL);
        }
        !self.is_running()
    }
}

/// The daemon the tests use: the shared one named by `$VIRTSTREAM_DAEMON_URI` if set, else a
/// private one started on first use and kept for the rest of the process.
///
/// Statics are never dropped, so the private daemon is ended twice over: an `atexit` handler
/// stops it and removes its directory when the process exits normally (a test harness returning
/// from `main` or calling `exit`), and, for a process killed by a signal (a nextest timeout,
/// Ctrl-C), the kernel sends it SIGTERM when the thread that started it ends. That thread is a
/// keeper that never returns, because a test thread would end, and kill the daemon, with its
/// test. Only the directory in `$TMPDIR` is left behind in the second case.
pub fn shared_uri() -> Result<String, DaemonError> {
    if let Some(uri) = env::var(URI_ENV).ok().filter(|uri| !uri.is_empty()) {
        return Ok(uri);
    }
    // The error is kept as text: every later caller gets the same answer at once instead of
    // waiting 20 s for another daemon that will fail the same way.
    static SHARED: OnceLock<Result<String, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let (sender, receiver) = mpsc::channel();
            thread::Builder::new()
                .name("virtstream-daemon-keeper".to_owned())
                .spawn(move || keep_shared_daemon(&sender))
                .map_err(|err| format!("starting the daemon's keeper thread: {err}"))?;
            receiver
                .recv()
                .map_err(|_| "the daemon's keeper thread ended".to_owned())?
        })
        .clone()
        .map_err(DaemonError::SharedFailed)
}

/// Starts the shared daemon, reports its URI, then parks for the rest of the process.
fn keep_shared_daemon(report: &mpsc::Sender<Result<String, String>>) {
    let started = LocalDaemon::start_with(true).map(|daemon| {
        let uri = daemon.uri().to_owned();
        *SHARED_DAEMON.lock().unwrap_or_else(|e| e.into_inner()) = Some(daemon);
        // SAFETY: `stop_shared_daemon` is a plain `extern "C" fn()` that does not unwind.
        unsafe { libc::atexit(stop_shared_daemon) };
        uri
    });
    let failed = started.is_err();
    let _ = report.send(started.map_err(|err| err.to_string()));
    if failed {
        return;
    }
    loop {
        thread::park();
    }
}

static SHARED_DAEMON: Mutex<Option<LocalDaemon>> = Mutex::new(None);

extern "C" fn stop_shared_daemon() {
    // `try_lock`: at exit another thread may be anywhere; never block the process's exit on it.
    let daemon = match SHARED_DAEMON.try_lock() {
        Ok(mut guard) => guard.take(),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
        Err(std::sync::TryLockError::WouldBlock) => None,
    };
    drop(daemon);
}

/// Makes the kernel send the spawned process SIGTERM when the spawning thread ends; the flag
/// survives the execs of setsid, unshare, sh and libvirtd (none is set-user-ID).
fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: between fork and exec the closure only calls prctl(2) and getppid(2), which are
    // async-signal-safe, and builds errors from raw codes without allocating.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect; then no signal would come.
            if u32::try_from(libc::getppid()) != Ok(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        })
    };
}

fn signal(pid: u32, signal: libc::c_int) {
    // A pid that does not fit pid_t cannot be ours; never let it become -1 ("every process").
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 0 {
            // SAFETY: kill(2) takes plain integers; the pid is a single positive process id.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

/// Checks what the daemon needs and returns the storage driver's path.
fn preflight() -> Result<PathBuf, DaemonError> {
    if !Path::new(LIBVIRTD).is_file() {
        return Err(DaemonError::Missing {
            what: LIBVIRTD.to_owned(),
        });
    }
    for tool in ["setsid", "unshare", "mount"] {
        if find_on_path(tool).is_none() {
            return Err(DaemonError::Missing {
                what: format!("`{tool}` (util-linux; with libvirt)"),
            });
        }
    }
    let driver = storage_driver().ok_or_else(|| DaemonError::Missing {
        what: format!("libvirt's storage driver ({STORAGE_DRIVER})"),
    })?;
    // SAFETY: geteuid(2) has no arguments and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(DaemonError::NotRoot { euid });
    }
    Ok(driver)
}

/// The storage driver in the multiarch directory (Debian) or the plain lib directories.
fn storage_driver() -> Option<PathBuf> {
    let multiarch = fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path());
    ["/usr/lib64", "/usr/lib"]
        .into_iter()
        .map(PathBuf::from)
        .chain(multiarch)
        .map(|lib| lib.join("libvirt/connection-driver").join(STORAGE_DRIVER))
        .find(|driver| driver.is_file())
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The directory must stay visible through the overlays and fit in socket paths, URIs and XML.
fn check_dir(dir: &Path) -> Result<(), DaemonError> {
    let canonical = dir
        .canonicalize()
        .map_err(io_error(format_args!("resolving {}", dir.display())))?;
    if OVERLAID
        .iter()
        .any(|tree| canonical.starts_with(Path::new("/").join(tree)))
    {
        return Err(DaemonError::Unusable(format!(
            "{} is under /run, /var or /etc, which the daemon sees through an overlay; set TMPDIR \
             to another directory",
            canonical.display()
        )));
    }
    let text = dir.to_string_lossy();
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.+,@".contains(c))
    {
        return Err(DaemonError::Unusable(format!(
            "{text}: only plain characters are safe in the daemon's URI and XML; set TMPDIR to \
             a plain path"
        )));
    }
    let socket = dir.join("libvirt-admin-sock");
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(DaemonError::Unusable(format!(
            "{} is longer than a unix socket path may be ({MAX_SOCKET_PATH} bytes); set TMPDIR \
             to a shorter directory",
            socket.display()
        )));
    }
    Ok(())
}

fn config(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        "unix_sock_dir = \"{dir}\"\n\
         unix_sock_ro_perms = \"0777\"\n\
         unix_sock_rw_perms = \"0700\"\n\
         auth_unix_rw = \"none\"\n\
         auth_unix_ro = \"none\"\n\
         listen_tls = 0\n\
         listen_tcp = 0\n\
         log_level = 3\n\
         log_outputs = \"3:file:{dir}/libvirtd.log\"\n"
    )
}

/// Clears what an earlier libvirtd on this directory left: stale sockets (a killed daemon does
/// not remove them), its pid file, and the overlay upper dirs, whose saved state of the
/// transient pool would otherwise bring it back; every start then sees the host as the first.
fn fresh_run_files(dir: &Path) -> Result<(), DaemonError> {
    for name in [
        "libvirt-sock",
        "libvirt-sock-ro",
        "libvirt-admin-sock",
        "libvirtd.pid",
    ] {
        match fs::remove_file(dir.join(name)) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                return Err(io_error(format_args!("removing {name}"))(err));
            }
            _ => {}
        }
    }
    let overlays = dir.join("ovl");
    if overlays.exists() {
        fs::remove_dir_all(&overlays).map_err(io_error("removing ovl/"))?;
    }
    for tree in OVERLAID {
        for part in ["upper", "work"] {
            fs::create_dir_all(overlays.join(format!("{tree}-{part}")))
                .map_err(io_error("creating ovl/"))?;
        }
    }
    Ok(())
}

/// The last lines of the daemon's log and stderr, for errors about a daemon that did not answer.
fn log_tails(dir: &Path) -> String {
    const LINES: usize = 20;
    ["libvirtd.log", "stderr.log"]
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let text = fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(LINES)..].join("\n");
            format!("--- last lines of {} ---\n{tail}", path.display())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use virt::{storage_pool::StoragePool, storage_vol::StorageVol};

    use super::*;

    /// These tests are about the daemon itself, so a machine that cannot run one fails them.
    fn started() -> LocalDaemon {
        LocalDaemon::start()
            .unwrap_or_else(|err| panic!("the private libvirtd needs root and libvirt: {err}"))
    }

    fn default_pool(daemon: &LocalDaemon) -> Result<StoragePool, virt::error::Error> {
        Connect::open(Some(daemon.uri()))?.lookup_storage_pool_by_name(POOL)
    }

    fn create_volume(pool: &StoragePool, name: &str) -> StorageVol {
        let xml = format!(
            "<volume><name>{name}</name><capacity unit='bytes'>1048576</capacity>\
             <allocation>0</allocation><target><format type='raw'/></target></volume>"
        );
        StorageVol::create_xml(pool, &xml, 0).expect("creating a raw volume")
    }

    fn process_exists(pid: u32) -> bool {
        Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn start_serves_the_pool_and_stop_leaves_nothing_behind() {
        // libvirtd as root writes /run/libvirt; the overlay must keep it off the host.
        let host_run_libvirt = Path::new("/run/libvirt").exists();
        let started_at = Instant::now();
        let daemon = started();
        eprintln!("ready after {:?}", started_at.elapsed());
        let (pid, dir) = (daemon.pid(), daemon.pool_dir().parent().unwrap().to_owned());
        assert!(daemon.uri().starts_with("storage:///system?socket="));

        let pool = default_pool(&daemon).expect("pool `default` on a fresh daemon");
        assert!(pool.is_active().unwrap());
        let volume = create_volume(&pool, "v1");
        assert_eq!(
            volume.path().unwrap(),
            daemon.pool_dir().join("v1").display().to_string()
        );
        assert_eq!(
            fs::metadata(daemon.pool_dir().join("v1")).unwrap().len(),
            1 << 20
        );
        drop((volume, pool));

        daemon.stop().expect("stopping the daemon");
        assert!(!process_exists(pid), "libvirtd {pid} still exists");
        assert!(!dir.exists(), "{} was not removed", dir.display());
        assert_eq!(Path::new("/run/libvirt").exists(), host_run_libvirt);
    }

    #[test]
    fn a_killed_daemon_fails_calls_and_restart_brings_the_pool_back() {
        let mut daemon = started();
        let conn = Connect::open(Some(daemon.uri())).unwrap();
        let pool = conn.lookup_storage_pool_by_name(POOL).unwrap();
        create_volume(&pool, "kept");
        let old_pid = daemon.pid();

        daemon.kill().unwrap();
        daemon.kill().expect("a second kill is a no-op");
        assert!(!process_exists(old_pid));
        assert!(
            pool.refresh(0).is_err(),
            "a call on a dead daemon succeeded"
        );
        assert!(conn.list_storage_pools().is_err());
        assert!(Connect::open(Some(daemon.uri())).is_err());

        daemon.restart().expect("restarting on the same directory");
        assert_ne!(daemon.pid(), old_pid);
        let pool = default_pool(&daemon).expect("pool `default` after a restart");
        assert_eq!(pool.list_volumes().unwrap(), ["kept"]);
        create_volume(&pool, "new");

        // A restart of a running daemon stops it first.
        let running_pid = daemon.pid();
        daemon.restart().unwrap();
        assert!(!process_exists(running_pid));
        assert!(default_pool(&daemon).is_ok());
    }

    #[test]
    fn persisted_daemon_is_found_and_stopped_through_its_state_file() {
        let state = started().persist();
        assert!(state.is_running());
        let file = tempfile::NamedTempFile::new().unwrap();
        state.write(file.path()).unwrap();
        let read = DaemonState::read(file.path()).unwrap();
        assert_eq!(read, state);
        assert!(default_pool_at(&read.uri).is_ok());

        read.stop().unwrap();
        assert!(!state.is_running());
        // `persist` let go of the child, so here (unlike after `virtstream-daemon start`, whose
        // process has exited) the dead daemon is this process's zombie until reaped.
        let pid = libc::pid_t::try_from(state.pid).unwrap();
        // SAFETY: waitpid(2) on our own child's pid, with a valid status pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut 0, 0) }, pid);
        assert!(!process_exists(state.pid));
        assert!(!state.dir.exists());
    }

    fn default_pool_at(uri: &str) -> Result<StoragePool, virt::error::Error> {
        Connect::open(Some(uri))?.lookup_storage_pool_by_name(POOL)
    }

    #[test]
    fn shared_uri_is_one_daemon_per_process() {
        let uri = shared_uri().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(shared_uri().unwrap(), uri);
        assert!(default_pool_at(&uri).is_ok());
    }

    /// Set in the child process of the test below, which then only starts the shared daemon.
    const CHILD_ENV: &str = "VIRTSTREAM_TEST_SHARED_DAEMON_CHILD";

    #[test]
    fn shared_daemon_dies_with_a_process_killed_by_a_signal() {
        if env::var_os(CHILD_ENV).is_some() {
            shared_uri().unwrap_or_else(|err| panic!("{err}"));
            let guard = SHARED_DAEMON.lock().unwrap();
            let daemon = guard.as_ref().unwrap();
            println!("shared {} {}", daemon.pid(), daemon.dir.path().display());
            drop(guard);
            thread::sleep(Duration::from_secs(60));
            return;
        }
        let mut child = Command::new(env::current_exe().unwrap())
            .args([
                "daemon::tests::shared_daemon_dies_with_a_process_killed_by_a_signal",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD_ENV, "1")
            .env_remove(URI_ENV)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let line = io::BufRead::lines(io::BufReader::new(child.stdout.take().unwrap()))
            .map(Result::unwrap)
            .find(|line| line.starts_with("shared "))
            .expect("the child names its daemon");
        let mut words = line.split(' ').skip(1);
        let pid = words.next().unwrap().parse().unwrap();
        let state = DaemonState {
            dir: PathBuf::from(words.next().unwrap()),
            pid,
            uri: String::new(),
        };
        assert!(state.is_running());

        child.kill().unwrap();
        child.wait().unwrap();
        let killed = Instant::now();
        while state.is_running() && killed.elapsed() < Duration::from_secs(5) {
            thread::sleep(POLL);
        }
        assert!(!state.is_running(), "libvirtd {pid} outlived its process");
        // No atexit ran in the killed child, so its directory is left; this test removes it.
        state.stop().unwrap();
    }

    #[test]
    fn a_state_file_names_what_it_lacks() {
        let file = tempfile::NamedTempFile::new().unwrap();
        fs::write(file.path(), "dir=/tmp/vs-x\npid=12\n").unwrap();
        let err = DaemonState::read(file.path()).unwrap_err().to_string();
        assert!(err.ends_with("no `uri=` line"), "{err}");
        // pid 1 is never a libvirtd with this directory's config.
        let stranger = DaemonState {
            dir: "/tmp/vs-x".into(),
            pid: 1,
            uri: String::new(),
        };
        assert!(!stranger.is_running());
    }
}
