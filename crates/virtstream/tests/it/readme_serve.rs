//! The README's `virtstream serve` examples, run as written: the shell session with virsh and
//! the pytest fixture with its test (Debian's python3 with python3-libvirt and python3-pytest,
//! installed by `cargo xtask setup`), against the built `virtstream`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::releases::explain;
use super::scenario_files::within_seconds;

/// The README's fenced blocks whose info string names a file (```` ```python title=conftest.py ````).
fn titled_blocks() -> Vec<(String, String)> {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = std::fs::read_to_string(&readme).expect("README.md");
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(title) = line
            .strip_prefix("```")
            .and_then(|info| info.split_once("title="))
            .map(|(_, title)| title.trim().to_string())
        else {
            continue;
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        blocks.push((title, body.join("\n") + "\n"));
    }
    blocks
}

/// A private directory holding the README's files, and a PATH that finds this `virtstream`.
fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let blocks = titled_blocks();
    for name in ["serve-example.sh", "conftest.py", "test_download.py"] {
        let (_, body) = blocks
            .iter()
            .find(|(title, _)| title == name)
            .unwrap_or_else(|| panic!("README.md has no block titled {name}"));
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let bin: PathBuf = Path::new(env!("CARGO_BIN_EXE_virtstream"))
        .parent()
        .unwrap()
        .into();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

#[test]
fn the_readmes_serve_session_lists_and_downloads_the_volume() {
    let (dir, path) = setup();
    let output = within_seconds(
        Command::new("bash")
            .args(["-e", "serve-example.sh"])
            .current_dir(dir.path())
            .env("PATH", path),
        60,
    );
    assert!(output.status.success(), "{}", explain(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("disk.raw"),
        "vol-list shows the volume: {}",
        explain(&output)
    );
    let copy = std::fs::read(dir.path().join("copy.raw")).expect("copy.raw downloaded");
    assert_eq!(copy.len(), 4096 + (1 << 20) + 10, "{}", explain(&output));
    assert!(copy[4096..4096 + (1 << 20)].iter().all(|&b| b == 0));
}

#[test]
fn the_readmes_pytest_fixture_serves_its_test() {
    let (dir, path) = setup();
    // Debian's python3: cargo xtask setup installs python3-libvirt and python3-pytest for it.
    let output = within_seconds(
        Command::new("/usr/bin/python3")
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .current_dir(dir.path())
            .env("PATH", path),
        60,
    );
    assert!(output.status.success(), "{}", explain(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "{}",
        explain(&output)
    );
}
