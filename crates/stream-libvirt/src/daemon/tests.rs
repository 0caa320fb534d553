//! The private daemon against real libvirtd: start, answer, pool, kill, restart, persist, leaks.

use virt::{storage_pool::StoragePool, storage_vol::StorageVol};

use super::shared::SHARED_DAEMON;
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
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.state");
    state.write(&file).unwrap();
    let read = DaemonState::read(&file).unwrap();
    assert_eq!(read, state);
    assert!(default_pool_at(&read.uri).is_ok());

    let stopped = read.stop().unwrap();
    assert!(stopped.was_running);
    assert_eq!(stopped.removed, Some(Vec::new()));
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
        println!("shared {} {}", daemon.pid(), daemon.dir.display());
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
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.state");
    fs::write(&file, "dir=/tmp/vs-x\npid=12\n").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let err = DaemonState::read(&file).unwrap_err().to_string();
    assert!(err.ends_with("no `uri=` line"), "{err}");
    fs::write(
        &file,
        "dir=/tmp/vs-x\npid=12\nuri=storage:///system?socket=/tmp/vs-y/libvirt-sock\n",
    )
    .unwrap();
    let err = DaemonState::read(&file).unwrap_err().to_string();
    assert!(err.ends_with("is not the socket of dir /tmp/vs-x"), "{err}");
    // pid 1 is never a libvirtd with this directory's config.
    let stranger = DaemonState {
        dir: "/tmp/vs-x".into(),
        pid: 1,
        uri: String::new(),
    };
    assert!(!stranger.is_running());
}
