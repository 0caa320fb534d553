//! A daemon that outlives the process that started it, recorded in a state file.

use super::*;

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
