//! Running raw libvirt misuses safely: in a child process (this test binary, one test), with a
//! deadline, so a crash or a hang is observed instead of suffered.

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
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
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
