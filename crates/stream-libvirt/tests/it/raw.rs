//! Running raw libvirt misuses safely: in a child process (this test binary, one test), with a
//! deadline, so a crash or a hang is observed instead of suffered.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "VIRTSTREAM_RAW_CHILD";

/// What happened to the child.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this code.
    Exited(i32),
    /// A signal killed it.
    Signal(i32),
    /// Still running at the deadline (then killed).
    Hung,
}

/// Whether this process is the child asked to run the raw misuse.
pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Run the test `name` (module path within this binary) in a child and report how it ended.
pub fn run_in_child(name: &str, deadline: Duration) -> Ending {
    run_child(name, "1", Stdio::null(), deadline)
}

/// Run the test `name` in a child told `mode` (see [`child_mode`]) and report how it ended and
/// what it wrote to stderr (where libvirt prints its warnings).
pub fn run_in_child_with_stderr(name: &str, mode: &str, deadline: Duration) -> (Ending, String) {
    let mut file = tempfile::tempfile().expect("a temporary file for the child's stderr");
    let clone = file.try_clone().expect("clone the temporary file");
    let ending = run_child(name, mode, Stdio::from(clone), deadline);
    let mut stderr = String::new();
    file.seek(SeekFrom::Start(0)).expect("rewind");
    file.read_to_string(&mut stderr)
        .expect("read the child's stderr");
    (ending, stderr)
}

/// In a child: the mode it was started with.
pub fn child_mode() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

fn run_child(name: &str, mode: &str, stderr: Stdio, deadline: Duration) -> Ending {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn the test binary");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return match (status.code(), status.signal()) {
                (Some(code), _) => Ending::Exited(code),
                (None, Some(signal)) => Ending::Signal(signal),
                _ => Ending::Exited(-1),
            };
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ending::Hung;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
