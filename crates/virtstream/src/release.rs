//! `virtstream --libvirt PREFIX …`: run against a libvirt release unpacked under PREFIX (by
//! `cargo xtask setup`) instead of the system's. The client library is linked at process start,
//! so virtstream re-executes itself with `LD_LIBRARY_PATH` and `$VIRTSTREAM_LIBVIRT_PREFIX` set
//! (the private daemon it starts is then the prefix's too), and checks that the library it
//! loaded is that release: a column labelled 11.3 can never silently test 9.0.

use std::{
    env,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::Command,
};

use stream_libvirt::daemon::{Installation, PREFIX_ENV, check_loaded_library};

/// Re-executes this process with `prefix`'s library unless it already runs with it; then checks
/// the loaded library. Returns only if this process is the one to carry on.
pub fn enter(prefix: &Path) -> Result<(), String> {
    let prefix = prefix.canonicalize().map_err(|error| {
        format!(
            "--libvirt {}: {error} (unpack a release there with `cargo xtask setup`)",
            prefix.display()
        )
    })?;
    let installation = Installation::at(&prefix);
    installation
        .expected_version()
        .map_err(|error| format!("--libvirt: {error}"))?;
    if env::var_os(PREFIX_ENV).map(PathBuf::from).as_deref() == Some(prefix.as_path()) {
        return check_loaded_library()
            .map(drop)
            .map_err(|error| format!("--libvirt: {error}"));
    }
    let exe = env::current_exe().map_err(|error| format!("finding virtstream itself: {error}"))?;
    let environment = installation
        .client_env()
        .map_err(|error| format!("--libvirt: {error}"))?;
    let error = Command::new(&exe)
        .args(env::args_os().skip(1))
        .envs(environment)
        .exec();
    Err(format!(
        "re-executing {} for --libvirt: {error}",
        exe.display()
    ))
}

/// Run by every process: one given `$VIRTSTREAM_LIBVIRT_PREFIX` without `--libvirt` (a parent
/// set it up) must have loaded that release too.
pub fn check_environment() -> Result<(), String> {
    if Installation::from_env().prefix().is_none() {
        return Ok(());
    }
    check_loaded_library()
        .map(drop)
        .map_err(|error| format!("${PREFIX_ENV}: {error}"))
}

/// `-11.3` in a process using the 11.3 prefix (`major.minor` of its release), `` for the
/// system's: what real-libvirt columns are suffixed with.
pub fn column_suffix() -> String {
    match Installation::from_env().expected_version() {
        Ok(Some(version)) => {
            let short: Vec<&str> = version.split('.').take(2).collect();
            format!("-{}", short.join("."))
        }
        _ => String::new(),
    }
}
