//! The one daemon a test process shares: named by `$VIRTSTREAM_DAEMON_URI`, or started once.

use super::*;

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
    let started = LocalDaemon::start_with(true, None, Installation::from_env()).map(|daemon| {
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

pub(super) static SHARED_DAEMON: Mutex<Option<LocalDaemon>> = Mutex::new(None);

extern "C" fn stop_shared_daemon() {
    // `try_lock`: at exit another thread may be anywhere; never block the process's exit on it.
    let daemon = match SHARED_DAEMON.try_lock() {
        Ok(mut guard) => guard.take(),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
        Err(std::sync::TryLockError::WouldBlock) => None,
    };
    drop(daemon);
}
