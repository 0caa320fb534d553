//! The rules for state files and directories only their owner controls, one case each (as
//! root, which may hand files to uid 65534 to play another user).

use std::os::unix::fs::{PermissionsExt, symlink};

use super::private::*;
use super::*;

const NOBODY: u32 = 65534;

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
}

fn state_text(dir: &Path) -> String {
    format!("dir={}\npid=1\nuri={}\n", dir.display(), uri_for(dir))
}

fn read_error(path: &Path) -> String {
    DaemonState::read(path).unwrap_err().to_string()
}

#[test]
fn a_state_is_believed_only_from_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.state");
    let text = state_text(Path::new("/tmp/vs-x"));

    fs::write(&file, &text).unwrap();
    chmod(&file, 0o644);
    assert!(
        read_error(&file).contains("has mode 0644"),
        "{}",
        read_error(&file)
    );

    chmod(&file, 0o600);
    assert_eq!(
        DaemonState::read(&file).unwrap().dir,
        Path::new("/tmp/vs-x")
    );

    chown(&file, NOBODY);
    let err = read_error(&file);
    assert!(
        err.contains("is owned by uid 65534, not you (uid 0)"),
        "{err}"
    );
    chown(&file, 0);

    let link = dir.path().join("link.state");
    symlink(&file, &link).unwrap();
    assert!(
        read_error(&link).contains("is a symbolic link"),
        "{}",
        read_error(&link)
    );

    let hard = dir.path().join("hard.state");
    fs::hard_link(&file, &hard).unwrap();
    assert!(
        read_error(&hard).contains("2 hard links"),
        "{}",
        read_error(&hard)
    );
    fs::remove_file(&hard).unwrap();

    fs::write(&file, "x".repeat(5000)).unwrap();
    assert!(
        read_error(&file).contains("longer than 4096 bytes"),
        "{}",
        read_error(&file)
    );

    let fifo = dir.path().join("fifo.state");
    let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo(3) with a NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    assert!(
        read_error(&fifo).contains("not a regular file"),
        "{}",
        read_error(&fifo)
    );
}

#[test]
fn a_state_is_refused_from_a_directory_others_can_write() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("daemon.state");
    fs::write(&file, state_text(Path::new("/tmp/vs-x"))).unwrap();
    chmod(&file, 0o600);
    // Sticky like /tmp: others cannot rename this file, but they can plant the name first.
    chmod(dir.path(), 0o1777);
    let err = read_error(&file);
    assert!(
        err.contains("has mode 1777: other users may write there"),
        "{err}"
    );
    let state = DaemonState {
        dir: "/tmp/vs-x".into(),
        pid: 1,
        uri: uri_for(Path::new("/tmp/vs-x")),
    };
    assert!(state.write(&file).is_err());

    chmod(dir.path(), 0o755);
    chown(dir.path(), NOBODY);
    let err = read_error(&file);
    assert!(
        err.contains("is owned by uid 65534, not you (uid 0) or root"),
        "{err}"
    );
    chown(dir.path(), 0);

    // A link on the way that another user owns could be pointed anywhere.
    let outer = tempfile::tempdir().unwrap();
    let link = outer.path().join("via");
    symlink(dir.path(), &link).unwrap();
    chown(&link, NOBODY);
    let err = read_error(&link.join("daemon.state"));
    assert!(err.contains("symbolic link owned by uid 65534"), "{err}");
}

#[test]
fn a_state_is_written_as_a_new_private_file_over_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    let file = dir.path().join("daemon.state");
    symlink(&target, &file).unwrap();
    let state = DaemonState {
        dir: "/tmp/vs-x".into(),
        pid: 1,
        uri: uri_for(Path::new("/tmp/vs-x")),
    };
    state.write(&file).unwrap();
    assert!(!target.exists(), "the link was followed");
    let meta = fs::symlink_metadata(&file).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(DaemonState::read(&file).unwrap(), state);
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "a temporary file was left: {names:?}");
}

#[test]
fn a_private_dir_is_made_0700_and_someone_elses_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    chmod(parent.path(), 0o1777);
    let mine = parent.path().join("mine");
    ensure_private_dir(&mine).unwrap();
    assert_eq!(
        fs::metadata(&mine).unwrap().permissions().mode() & 0o7777,
        0o700
    );
    ensure_private_dir(&mine).expect("an existing private dir is fine");

    let theirs = parent.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    chown(&theirs, NOBODY);
    let err = ensure_private_dir(&theirs).unwrap_err().to_string();
    assert!(
        err.contains("is owned by uid 65534, not you (uid 0): refusing a directory another user"),
        "{err}"
    );

    let link = parent.path().join("link");
    symlink(&mine, &link).unwrap();
    let err = ensure_private_dir(&link).unwrap_err().to_string();
    assert!(err.contains("is a symbolic link"), "{err}");

    let open = parent.path().join("open");
    fs::create_dir(&open).unwrap();
    chmod(&open, 0o755);
    let err = ensure_private_dir(&open).unwrap_err().to_string();
    assert!(err.contains("has mode 0755"), "{err}");
}
