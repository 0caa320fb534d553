//! A private daemon of another release (the 11.3 that `cargo xtask setup` unpacks under
//! `target/`): it runs that release's libvirtd, libraries and modules only, and is stopped and
//! recognised as ours like the system's.

use super::*;

/// The 11.3 prefix of this build's target directory (this test binary is
/// `<target>/<profile>/deps/…`); missing, the test fails saying what to run.
fn prefix_11_3() -> PathBuf {
    let exe = env::current_exe().expect("the test binary's path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test binary is <target>/<profile>/deps/<name>");
    let prefix = target.join("libvirt-11.3");
    assert!(
        prefix.join("virtstream-release").is_file(),
        "{} has no libvirt 11.3: run `cargo xtask setup`",
        prefix.display()
    );
    prefix
}

/// The libvirt libraries and modules a process has mapped.
fn mapped_libvirt(pid: u32) -> Vec<String> {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).expect("reading the daemon's maps");
    let mut paths: Vec<String> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.contains("libvirt"))
        .map(str::to_owned)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[test]
fn a_prefix_daemon_runs_that_release_only_and_stops_as_ours() {
    let host_run_libvirt = Path::new("/run/libvirt").exists();
    let host_etc_storage = Path::new("/etc/libvirt/storage").exists();
    let installation = Installation::at(prefix_11_3());
    assert_eq!(
        installation.expected_version().unwrap().as_deref(),
        Some("11.3.0")
    );
    let daemon = LocalDaemon::start_of(installation.clone())
        .unwrap_or_else(|err| panic!("an 11.3 daemon needs root: {err}"));
    assert_eq!(daemon.installation(), &installation);

    // The daemon's own version, over this process's (system) client library.
    let conn = Connect::open(Some(daemon.uri())).unwrap();
    assert_eq!(version_text(conn.lib_version().unwrap()), "11.3.0");
    let pool = conn.lookup_storage_pool_by_name(POOL).unwrap();
    assert!(pool.is_active().unwrap(), "the dir backend is loaded");
    drop((pool, conn));

    let prefix = installation.prefix().unwrap().display().to_string();
    let mapped = mapped_libvirt(daemon.pid());
    assert!(
        mapped.iter().any(|path| path.ends_with(FS_BACKEND)),
        "{mapped:?}"
    );
    let foreign: Vec<&String> = mapped
        .iter()
        .filter(|path| !path.starts_with(&prefix))
        .collect();
    assert!(
        foreign.is_empty(),
        "an 11.3 daemon mapped libvirt files from outside {prefix}: {foreign:?}"
    );

    // A daemon handed over is later recognised by its directory's libvirtd link, and stopped.
    let state = daemon.persist();
    assert!(ours::is_our_libvirtd(state.pid, &state.dir));
    let stopped = state.clone().stop().expect("stopping the 11.3 daemon");
    assert!(stopped.was_running);
    assert!(!state.dir.exists());
    assert_eq!(Path::new("/run/libvirt").exists(), host_run_libvirt);
    assert_eq!(Path::new("/etc/libvirt/storage").exists(), host_etc_storage);
}

#[test]
fn the_system_daemon_maps_the_system_libvirt() {
    let daemon = LocalDaemon::start_of(Installation::system()).expect("a daemon needs root");
    let conn = Connect::open(Some(daemon.uri())).unwrap();
    assert_eq!(
        version_text(conn.lib_version().unwrap()),
        loaded_library_version().unwrap(),
        "the system's daemon and client library are one release"
    );
    drop(conn);
    let mapped = mapped_libvirt(daemon.pid());
    assert!(
        mapped.iter().all(|path| path.starts_with("/usr/")),
        "{mapped:?}"
    );
    assert!(
        mapped.iter().any(|path| path.ends_with(FS_BACKEND)),
        "{mapped:?}"
    );
    daemon.stop().unwrap();
}

#[test]
fn a_directory_names_its_installation() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(Installation::of_dir(dir.path()), Installation::system());
    let link = dir.path().join("libvirtd");
    std::os::unix::fs::symlink("/opt/lv/usr/sbin/libvirtd", &link).unwrap();
    assert_eq!(
        Installation::of_dir(dir.path()),
        Installation::at("/opt/lv")
    );
    fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(LIBVIRTD, &link).unwrap();
    assert_eq!(Installation::of_dir(dir.path()), Installation::system());
    assert_eq!(
        Installation::at("/opt/lv").libvirtd(),
        Path::new("/opt/lv/usr/sbin/libvirtd")
    );
}

#[test]
fn versions_read_as_libvirt_writes_them() {
    assert_eq!(version_text(11_003_000), "11.3.0");
    assert_eq!(version_text(9_000_000), "9.0.0");
    assert_eq!(version_text(10_010_002), "10.10.2");
}

#[test]
fn a_prefix_without_a_release_file_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let err = Installation::at(dir.path())
        .expected_version()
        .unwrap_err()
        .to_string();
    assert!(err.contains("cargo xtask setup"), "{err}");
}
