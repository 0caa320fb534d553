//! The host side of starting libvirtd: what it needs, its directory, config, signals and logs.

use super::*;

/// Makes the kernel send the spawned process SIGTERM when the spawning thread ends; the flag
/// survives the execs of setsid, unshare, sh and libvirtd (none is set-user-ID).
pub(super) fn die_with_parent(command: &mut Command) {
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

pub(super) fn signal(pid: u32, signal: libc::c_int) {
    // A pid that does not fit pid_t cannot be ours; never let it become -1 ("every process").
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 0 {
            // SAFETY: kill(2) takes plain integers; the pid is a single positive process id.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

/// The modules a storage-only daemon loads: the storage driver and the dir pool's backend.
#[derive(Debug)]
pub(super) struct Modules {
    pub(super) driver: PathBuf,
    pub(super) backend: PathBuf,
}

/// Checks what a daemon of `installation` needs and returns its modules.
pub(super) fn preflight(installation: &Installation) -> Result<Modules, DaemonError> {
    let libvirtd = installation.libvirtd();
    if !libvirtd.is_file() {
        return Err(DaemonError::Missing {
            what: format!("{} ({installation})", libvirtd.display()),
        });
    }
    for tool in ["setsid", "unshare", "mount"] {
        if find_on_path(tool).is_none() {
            return Err(DaemonError::Missing {
                what: format!("`{tool}` (util-linux; with libvirt)"),
            });
        }
    }
    let missing = |name: &str| DaemonError::Missing {
        what: format!("{installation}'s {name}"),
    };
    let driver = installation
        .storage_driver()
        .ok_or_else(|| missing(&format!("storage driver ({STORAGE_DRIVER})")))?;
    let backend = installation
        .fs_backend()
        .ok_or_else(|| missing(&format!("dir pool backend ({FS_BACKEND})")))?;
    if installation.prefix().is_some() && installation.lib_dir().is_none() {
        return Err(missing("libvirt.so.0"));
    }
    let euid = super::private::euid();
    if euid != 0 {
        return Err(DaemonError::NotRoot { euid });
    }
    Ok(Modules { driver, backend })
}

pub(super) fn find_on_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The directory must stay visible through the overlays and fit in socket paths, URIs and XML.
pub(super) fn check_dir(dir: &Path) -> Result<(), DaemonError> {
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

/// Fills a new daemon directory, or brings an adopted one up to date: the driver directory with
/// only the storage driver, the backend directory with only the dir pool's backend, a `libvirtd`
/// link naming the program it runs (so a later stop or restart knows which installation's it
/// is), the pool directory (kept with its volumes if it exists) and this version's config.
pub(super) fn prepare_dir(
    dir: &Path,
    installation: &Installation,
    modules: &Modules,
) -> Result<(), DaemonError> {
    let create = |name: &str| match fs::create_dir(dir.join(name)) {
        Err(err) if err.kind() != io::ErrorKind::AlreadyExists => {
            Err(io_error(format_args!("creating {name}/"))(err))
        }
        _ => Ok(()),
    };
    create("drivers")?;
    create("backends")?;
    create("pool")?;
    let link = |target: &Path, at: PathBuf, what: &str| {
        remove_if_there(&at)?;
        std::os::unix::fs::symlink(target, &at).map_err(io_error(format_args!("linking {what}")))
    };
    link(
        &modules.driver,
        dir.join("drivers").join(STORAGE_DRIVER),
        "the storage driver",
    )?;
    link(
        &modules.backend,
        dir.join("backends").join(FS_BACKEND),
        "the dir pool backend",
    )?;
    link(&installation.libvirtd(), dir.join("libvirtd"), "libvirtd")?;
    let conf = dir.join("libvirtd.conf");
    remove_if_there(&conf)?;
    fs::write(&conf, config(dir)).map_err(io_error("writing libvirtd.conf"))
}

fn remove_if_there(path: &Path) -> Result<(), DaemonError> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(io_error(format_args!("removing {}", path.display()))(err))
        }
        _ => Ok(()),
    }
}

/// Both sockets are root's only (the directory is 0700 as well): through the read-only one,
/// anyone could list the pools and volumes, with their paths and sizes.
pub(super) fn config(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        "unix_sock_dir = \"{dir}\"\n\
         unix_sock_ro_perms = \"0700\"\n\
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
pub(super) fn fresh_run_files(dir: &Path) -> Result<(), DaemonError> {
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
pub(super) fn log_tails(dir: &Path) -> String {
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
