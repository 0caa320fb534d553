//! `virtstream daemon start|env|stop` on a machine other users share (issue 10, items 1–3): a
//! state another user planted is refused and its daemon left alone, a link at the state's name
//! is never followed, the daemon's directory and sockets are root's only, and a crashed daemon's
//! state is recognised and cleaned without losing or silently deleting a volume.
//!
//! The other user is uid 65534, played with `setpriv`, so no user is created and nothing under
//! `/etc` is written. These tests run as root (the daemon needs it) and fail, never skip,
//! elsewhere.

use std::{
    env, fs,
    os::unix::fs::{MetadataExt, PermissionsExt, lchown},
    path::{Path, PathBuf},
    process::{Command, Output},
    thread,
    time::{Duration, Instant},
};

use stream_libvirt::daemon::{DaemonState, LocalDaemon};

const NOBODY: &str = "65534";
const URI_PREFIX: &str = "VIRTSTREAM_DAEMON_URI=";

/// `virtstream daemon <args>` as root, with `$TMPDIR` set (the shared directory under test) and
/// no `$XDG_RUNTIME_DIR`, so the default state is `$TMPDIR/virtstream-0/daemon.state`.
fn daemon_cmd(tmpdir: &Path, args: &[&str]) -> Output {
    daemon_cmd_with_runtime(tmpdir, None, args)
}

fn daemon_cmd_with_runtime(tmpdir: &Path, runtime: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_virtstream"));
    command.arg("daemon").args(args).env("TMPDIR", tmpdir);
    match runtime {
        Some(dir) => command.env("XDG_RUNTIME_DIR", dir),
        None => command.env_remove("XDG_RUNTIME_DIR"),
    };
    command.output().expect("run virtstream")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn succeeds(output: &Output) -> String {
    assert!(output.status.success(), "failed: {}", stderr(output));
    stderr(output)
}

fn fails_with(output: &Output, needle: &str) {
    let err = stderr(output);
    assert!(!output.status.success(), "succeeded; stderr: {err}");
    assert!(err.contains(needle), "stderr should say {needle:?}: {err}");
}

/// Runs `program args` as uid/gid 65534 with no groups. A machine where that cannot be done
/// fails the test: the rules it checks are about other users.
fn as_nobody(home: &Path, program: &str, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            program,
        ])
        .args(args)
        // virsh wants a home it can write its cache and config to.
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap_or_else(|err| {
            panic!("these tests play another user with setpriv (util-linux), as root: {err}")
        })
}

/// A directory like `/tmp`: sticky and writable by everyone, with a home for uid 65534 inside.
struct Shared {
    dir: tempfile::TempDir,
    home: PathBuf,
}

fn shared_tmp() -> Shared {
    let dir = tempfile::Builder::new()
        .prefix("virtstream-test-shared-")
        .tempdir_in("/tmp")
        .expect("temp dir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let home = dir.path().join("nobody-home");
    fs::create_dir(&home).unwrap();
    lchown(&home, Some(65534), Some(65534)).unwrap();
    Shared { dir, home }
}

impl Shared {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs a shell script as uid 65534 with `$1` the shared directory and `$2` `arg`.
    fn plant(&self, script: &str, arg: &str) {
        let shared = self.path().to_str().unwrap();
        let output = as_nobody(&self.home, "sh", &["-c", script, "sh", shared, arg]);
        assert!(output.status.success(), "planting: {}", stderr(&output));
    }
}

/// A root-only directory (0700) for state files.
fn private_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir()
        .unwrap()
}

/// Every daemon a command printed a URI for, stopped when the test ends however it ends.
#[derive(Default)]
struct Daemons(Vec<DaemonState>);

impl Daemons {
    /// Notes the daemon `output` started, if any, and returns its state.
    fn note(&mut self, output: &Output) -> Option<DaemonState> {
        let text = stdout(output);
        let uri = text
            .lines()
            .find_map(|line| line.strip_prefix(URI_PREFIX))?;
        let socket = uri.split_once("socket=")?.1;
        let dir = Path::new(socket).parent()?.to_owned();
        let pid = fs::read_to_string(dir.join("libvirtd.pid")).ok()?;
        let state = DaemonState {
            dir,
            pid: pid.trim().parse().ok()?,
            uri: uri.to_owned(),
        };
        self.0.push(state.clone());
        Some(state)
    }
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for state in self.0.drain(..) {
            let _ = state.stop();
        }
    }
}

/// SIGKILL to a libvirtd this test started (through `virtstream daemon start`), then waits
/// until it is gone.
fn kill_9(state: &DaemonState) {
    assert!(state.is_running(), "libvirtd {} is not running", state.pid);
    let pid = libc::pid_t::try_from(state.pid).unwrap();
    // SAFETY: kill(2) with a positive pid checked just above to be our own libvirtd.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed = Instant::now();
    while state.is_running() && killed.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !state.is_running(),
        "libvirtd {} survived SIGKILL",
        state.pid
    );
}

fn state_text(state: &DaemonState) -> String {
    format!(
        "dir={}\npid={}\nuri={}\n",
        state.dir.display(),
        state.pid,
        state.uri
    )
}

/// Another daemon of root's, with a volume: what a planted state names, and what must survive.
struct Victim {
    daemon: LocalDaemon,
    state: DaemonState,
    volume: PathBuf,
}

fn victim() -> Victim {
    let daemon = LocalDaemon::start()
        .unwrap_or_else(|err| panic!("the private libvirtd needs root and libvirt: {err}"));
    let dir = daemon.pool_dir().parent().unwrap().to_owned();
    let volume = daemon.pool_dir().join("victim.raw");
    fs::write(&volume, b"the victim's volume").unwrap();
    let state = DaemonState {
        dir,
        pid: daemon.pid(),
        uri: daemon.uri().to_owned(),
    };
    Victim {
        daemon,
        state,
        volume,
    }
}

impl Victim {
    fn is_intact(&self, after: &str) {
        assert!(
            self.state.is_running(),
            "{after}: the victim's libvirtd {} was stopped",
            self.state.pid
        );
        assert!(
            self.volume.exists(),
            "{after}: the victim's volume {} was deleted",
            self.volume.display()
        );
    }
}

fn refuses_without_leaking(output: &Output, victim: &Victim, needle: &str, what: &str) {
    assert!(
        !stdout(output).contains(&victim.state.uri),
        "{what} handed out the victim's URI: {}",
        stdout(output)
    );
    assert!(
        !stderr(output).contains("already started"),
        "{what} believed the planted state: {}",
        stderr(output)
    );
    fails_with(output, needle);
    victim.is_intact(what);
}

#[test]
fn another_users_state_is_not_believed() {
    let shared = shared_tmp();
    let victim = victim();
    let mut started = Daemons::default();
    // Both the old name and the new default, each naming the victim's daemon.
    shared.plant(
        r#"umask 077; mkdir "$1/virtstream-0" && printf %s "$2" > "$1/virtstream-0/daemon.state" \
           && printf %s "$2" > "$1/virtstream-daemon.state""#,
        &state_text(&victim.state),
    );
    let owned = "is owned by uid 65534, not you (uid 0)";
    for action in ["env", "start", "stop"] {
        let output = daemon_cmd(shared.path(), &[action]);
        started.note(&output);
        refuses_without_leaking(&output, &victim, owned, &format!("daemon {action}"));
    }

    // The same file named with --state: its directory is everyone's.
    let planted = shared.path().join("virtstream-daemon.state");
    let planted = planted.to_str().unwrap();
    for action in ["env", "start", "stop"] {
        let output = daemon_cmd(shared.path(), &[action, "--state", planted]);
        started.note(&output);
        let what = format!("daemon {action} --state {planted}");
        refuses_without_leaking(&output, &victim, "other users may write there", &what);
    }

    // In a directory of root's, a file that is not root's own, or not 0600, is refused too.
    let private = private_dir();
    let file = private.path().join("daemon.state");
    fs::write(&file, state_text(&victim.state)).unwrap();
    let file_arg = file.to_str().unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    lchown(&file, Some(65534), Some(65534)).unwrap();
    for action in ["env", "start", "stop"] {
        let output = daemon_cmd(shared.path(), &[action, "--state", file_arg]);
        started.note(&output);
        let what = format!("daemon {action} of a file owned by 65534");
        refuses_without_leaking(&output, &victim, owned, &what);
    }
    lchown(&file, Some(0), Some(0)).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    for action in ["env", "start", "stop"] {
        let output = daemon_cmd(shared.path(), &[action, "--state", file_arg]);
        started.note(&output);
        let what = format!("daemon {action} of a 0644 file");
        refuses_without_leaking(&output, &victim, "has mode 0644", &what);
    }
    drop(started);
    victim.daemon.stop().expect("stopping the victim");
}

#[test]
fn the_default_state_is_kept_in_a_directory_of_the_callers() {
    let shared = shared_tmp();
    let runtime = private_dir();
    let missing = |output: &Output, dir: &Path| {
        let state = dir.join("daemon.state");
        fails_with(
            output,
            &format!("state file {}: does not exist", state.display()),
        );
        let meta = fs::symlink_metadata(dir).unwrap();
        assert!(meta.is_dir(), "{}", dir.display());
        assert_eq!(
            (meta.uid(), meta.mode() & 0o7777),
            (0, 0o700),
            "{}",
            dir.display()
        );
    };
    let output = daemon_cmd_with_runtime(shared.path(), Some(runtime.path()), &["env"]);
    missing(&output, &runtime.path().join("virtstream"));

    // Another user's runtime directory is not used; $TMPDIR/virtstream-<uid> is.
    lchown(runtime.path(), Some(65534), Some(65534)).unwrap();
    let output = daemon_cmd_with_runtime(shared.path(), Some(runtime.path()), &["env"]);
    missing(&output, &shared.path().join("virtstream-0"));
    let output = daemon_cmd(shared.path(), &["stop"]);
    missing(&output, &shared.path().join("virtstream-0"));
}

#[test]
fn a_link_at_the_state_path_is_not_followed() {
    let shared = shared_tmp();
    let mut started = Daemons::default();
    // Where the links point: root's own directories, which uid 65534 cannot even enter.
    let lured = private_dir();
    let lured_file = lured.path().join("created-through-a-link");
    let lured_dir = private_dir();
    shared.plant(
        r#"ln -s "$2" "$1/virtstream-daemon.state""#,
        lured_file.to_str().unwrap(),
    );
    shared.plant(
        r#"ln -s "$2" "$1/virtstream-0""#,
        lured_dir.path().to_str().unwrap(),
    );
    let output = daemon_cmd(shared.path(), &["start"]);
    started.note(&output);
    assert!(!lured_file.exists(), "daemon start wrote through the link");
    assert_eq!(
        fs::read_dir(lured_dir.path()).unwrap().count(),
        0,
        "daemon start wrote into the linked directory"
    );
    fails_with(&output, "is a symbolic link");

    // A link named with --state, even root's own, is not followed either.
    let private = private_dir();
    let link = private.path().join("daemon.state");
    std::os::unix::fs::symlink(&lured_file, &link).unwrap();
    let output = daemon_cmd(shared.path(), &["start", "--state", link.to_str().unwrap()]);
    started.note(&output);
    assert!(
        !lured_file.exists(),
        "daemon start --state wrote through the link"
    );
    fails_with(&output, "is a symbolic link: refusing to follow it");
}

#[test]
fn the_daemon_is_root_only() {
    let shared = shared_tmp();
    let mut started = Daemons::default();
    let private = private_dir();
    let state_file = private.path().join("daemon.state");
    let state_arg = state_file.to_str().unwrap();
    let output = daemon_cmd(&env::temp_dir(), &["start", "--state", state_arg]);
    succeeds(&output);
    let state = started.note(&output).expect("start printed the URI");
    let ro_socket = state.dir.join("libvirt-sock-ro");

    // First show that uid 65534 can run virsh at all, so its failures below mean something.
    let control = as_nobody(&shared.home, "virsh", &["-c", "test:///default", "list"]);
    assert!(
        control.status.success(),
        "virsh as 65534: {}",
        stderr(&control)
    );

    let ro_uri = format!("storage:///system?socket={}", ro_socket.display());
    let listing = as_nobody(&shared.home, "virsh", &["-r", "-c", &ro_uri, "pool-list"]);
    assert!(
        !listing.status.success(),
        "uid 65534 listed the pools through the read-only socket: {}",
        stdout(&listing)
    );
    let listing = as_nobody(
        &shared.home,
        "virsh",
        &["-c", &state.uri, "vol-list", "default"],
    );
    assert!(
        !listing.status.success(),
        "uid 65534 listed the volumes: {}",
        stdout(&listing)
    );
    let listing = as_nobody(&shared.home, "ls", &["-l", state.dir.to_str().unwrap()]);
    assert!(
        !listing.status.success(),
        "uid 65534 listed the daemon's directory: {}",
        stdout(&listing)
    );
    let mode = |path: &Path| fs::metadata(path).unwrap().mode() & 0o7777;
    assert_eq!(mode(&state.dir), 0o700, "{}", state.dir.display());
    assert_eq!(mode(&ro_socket) & 0o077, 0, "{}", ro_socket.display());

    // Root still has the daemon, on both sockets.
    for uri in [&state.uri, &ro_uri] {
        let pools = Command::new("virsh")
            .args(["-r", "-c", uri, "pool-list", "--name"])
            .output()
            .unwrap();
        assert!(
            stdout(&pools).contains("default"),
            "{uri}: {}",
            stderr(&pools)
        );
    }
    succeeds(&daemon_cmd(
        &env::temp_dir(),
        &["stop", "--state", state_arg],
    ));
}

#[test]
fn a_killed_daemon_is_restarted_with_its_volumes() {
    let mut started = Daemons::default();
    let private = private_dir();
    let state_file = private.path().join("daemon.state");
    let state_arg = state_file.to_str().unwrap();
    let tmp = env::temp_dir();
    let output = daemon_cmd(&tmp, &["start", "--state", state_arg]);
    succeeds(&output);
    let first = started.note(&output).expect("start printed the URI");
    let pool = first.dir.join("pool");
    fs::File::create(pool.join("a.raw"))
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    fs::write(pool.join("b.raw"), vec![7u8; 4096]).unwrap();
    kill_9(&first);
    fails_with(
        &daemon_cmd(&tmp, &["env", "--state", state_arg]),
        "is not running; `start` restarts it on",
    );

    let output = daemon_cmd(&tmp, &["start", "--state", state_arg]);
    let told = succeeds(&output);
    let second = started.note(&output).expect("start printed the URI");
    assert!(
        pool.join("a.raw").exists() && pool.join("b.raw").exists(),
        "daemon start after a crash deleted the volumes; it said: {told}"
    );
    assert_eq!(fs::read(pool.join("b.raw")).unwrap(), vec![7u8; 4096]);
    assert!(told.contains(&format!("libvirtd {} ", first.pid)), "{told}");
    assert!(told.contains("had died; restarted it"), "{told}");
    assert!(
        told.contains("its 2 volumes: a.raw (1048576 bytes), b.raw (4096 bytes)"),
        "{told}"
    );
    assert_eq!(second.dir, first.dir);
    assert_ne!(second.pid, first.pid);
    let volumes = Command::new("virsh")
        .args(["-c", &second.uri, "vol-list", "default"])
        .output()
        .unwrap();
    assert!(stdout(&volumes).contains("a.raw"), "{}", stderr(&volumes));
    let env = daemon_cmd(&tmp, &["env", "--state", state_arg]);
    assert_eq!(stdout(&env).trim(), format!("{URI_PREFIX}{}", second.uri));

    // Stopping a dead daemon's state says which volumes went with its directory.
    kill_9(&second);
    let told = succeeds(&daemon_cmd(&tmp, &["stop", "--state", state_arg]));
    assert!(told.contains("had already died"), "{told}");
    assert!(
        told.contains(&format!(
            "removed {} with its 2 volumes: a.raw (1048576 bytes), b.raw (4096 bytes)",
            first.dir.display()
        )),
        "{told}"
    );
    assert!(!first.dir.exists());
    assert!(!state_file.exists());
}

#[test]
fn a_state_whose_directory_is_gone_is_cleaned() {
    let mut started = Daemons::default();
    let private = private_dir();
    let state_file = private.path().join("daemon.state");
    let state_arg = state_file.to_str().unwrap();
    let tmp = env::temp_dir();
    let crash = |started: &mut Daemons| {
        let output = daemon_cmd(&tmp, &["start", "--state", state_arg]);
        succeeds(&output);
        let state = started.note(&output).expect("start printed the URI");
        kill_9(&state);
        fs::remove_dir_all(&state.dir).unwrap();
        state
    };

    let gone = crash(&mut started);
    fails_with(
        &daemon_cmd(&tmp, &["env", "--state", state_arg]),
        "no longer exists; `start` removes the stale state",
    );
    let told = succeeds(&daemon_cmd(&tmp, &["stop", "--state", state_arg]));
    assert!(
        told.contains(&format!(
            "its directory {} no longer exists",
            gone.dir.display()
        )),
        "{told}"
    );
    assert!(!state_file.exists(), "stop kept the stale state");

    let gone = crash(&mut started);
    let output = daemon_cmd(&tmp, &["start", "--state", state_arg]);
    let told = succeeds(&output);
    assert!(
        told.contains(&format!(
            "its directory {} no longer exists; removed the stale state",
            gone.dir.display()
        )),
        "{told}"
    );
    let fresh = started.note(&output).expect("start printed the URI");
    assert!(fresh.is_running());
    assert_ne!(fresh.dir, gone.dir);
    succeeds(&daemon_cmd(&tmp, &["stop", "--state", state_arg]));
    assert!(!fresh.dir.exists());
}

/// A state of root's own, in a private place, naming a real private-daemon directory but the
/// pid of some other process of root's (here a `sleep`): `stop` must not signal it, because
/// that process is not the libvirtd started on that directory (its command line does not name
/// the directory's libvirtd.conf).
#[test]
fn stop_never_signals_a_process_that_is_not_the_states_libvirtd() {
    let private = private_dir();
    let state_file = private.path().join("daemon.state");
    let dir = tempfile::Builder::new()
        .prefix("vs-")
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir()
        .unwrap();
    fs::write(dir.path().join("libvirtd.conf"), "listen_tcp = 0\n").unwrap();
    let mut bystander = Command::new("sleep").arg("60").spawn().expect("sleep");
    let state = DaemonState {
        dir: dir.path().to_owned(),
        pid: bystander.id(),
        uri: format!(
            "storage:///system?socket={}",
            dir.path().join("libvirt-sock").display()
        ),
    };
    fs::write(&state_file, state_text(&state)).unwrap();
    fs::set_permissions(&state_file, fs::Permissions::from_mode(0o600)).unwrap();
    let output = daemon_cmd(
        &env::temp_dir(),
        &["stop", "--state", state_file.to_str().unwrap()],
    );
    let alive = bystander.try_wait().expect("wait").is_none();
    let _ = bystander.kill();
    let _ = bystander.wait();
    assert!(alive, "stop signalled the bystander: {}", stderr(&output));
    assert!(
        stderr(&output).contains("had already died (stale state)"),
        "stop should treat the state as stale: {}",
        stderr(&output)
    );
}

/// Two `start`s on one state at once: one starts a daemon, the other finds it (without the
/// state's lock both started one, and the second state write orphaned the first daemon).
#[test]
fn two_starts_at_once_start_one_daemon() {
    let mut started = Daemons::default();
    let private = private_dir();
    let state_file = private.path().join("daemon.state");
    let state_arg = state_file.to_str().unwrap().to_owned();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_virtstream"))
            .args(["daemon", "start", "--state", &state_arg])
            .output()
    };
    let (first, second) = thread::scope(|scope| {
        let first = scope.spawn(spawn);
        let second = scope.spawn(spawn);
        (
            first.join().unwrap().expect("run"),
            second.join().unwrap().expect("run"),
        )
    });
    let noted = [&first, &second]
        .iter()
        .filter_map(|output| started.note(output))
        .count();
    assert_eq!(
        noted,
        1,
        "first: {}\nsecond: {}",
        stderr(&first),
        stderr(&second)
    );
    let refused = if first.status.success() {
        &second
    } else {
        &first
    };
    fails_with(refused, "already started");
    succeeds(&daemon_cmd(
        &env::temp_dir(),
        &["stop", "--state", &state_arg],
    ));
}
