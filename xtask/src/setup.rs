//! `cargo xtask setup`: makes sure libvirt's headers, daemon and client, and the other libvirt
//! clients the `virtstream serve` tests drive (libvirt-python with pytest, Sys::Virt), are on this
//! machine, installing them with apt-get when it can.

use std::path::Path;

use crate::util::{Cmd, Error, Result, find_on_path, project_root};

/// Debian's packages for what the checks below look for. On Debian 12 the storage driver ships
/// inside `libvirt-daemon` itself, so no separate driver package is needed. The clients are
/// Debian's own builds against the same libvirt 9.0, as a user of the distribution has them.
const PACKAGES: [&str; 7] = [
    "libvirt-dev",
    "libvirt-daemon",
    "libvirt-clients",
    "pkg-config",
    "python3-libvirt",
    "python3-pytest",
    "libsys-virt-perl",
];

/// Debian's Python, which `python3-libvirt` and `python3-pytest` install into (a `python3`
/// earlier on PATH, e.g. pyenv's, has neither).
pub const SYSTEM_PYTHON: &str = "/usr/bin/python3";

const LIBVIRTD: &str = "/usr/sbin/libvirtd";

/// Where the only crate that links libvirt lives; until it exists nothing needs libvirt.
const LIBVIRT_CRATE_DIR: &str = "crates/stream-libvirt";

/// Checks for libvirt and installs what is missing when running as root; otherwise names the
/// command to run and fails.
pub fn ensure_libvirt() -> Result<()> {
    let missing = check();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root()? {
        println!(
            "not root, so not installing; as root run: {}",
            install_hint()
        );
        return Err(Error::new(format!(
            "libvirt is incomplete, missing: {}",
            missing.join(", ")
        )));
    }
    install()?;
    let missing = check();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "still missing after installing {}: {}",
            PACKAGES.join(" "),
            missing.join(", ")
        )))
    }
}

/// [`ensure_libvirt`] when the workspace has a crate that links libvirt: the simulator side of
/// the project builds and tests on machines without it.
pub fn ensure_libvirt_if_used() -> Result<()> {
    let root = project_root()?;
    if root.join(LIBVIRT_CRATE_DIR).is_dir() {
        ensure_libvirt()
    } else {
        println!("libvirt is not needed yet: {LIBVIRT_CRATE_DIR} does not exist");
        Ok(())
    }
}

/// Prints one line per requirement and returns the names of those missing.
fn check() -> Vec<&'static str> {
    let mut missing = Vec::new();
    let mut report = |name: &'static str, found: Option<String>, why_missing: &str| match found {
        Some(detail) => println!("found: {name} ({detail})"),
        None => {
            println!("missing: {name} ({why_missing})");
            missing.push(name);
        }
    };

    let headers = Cmd::new("pkg-config")
        .args(["--exists", "libvirt"])
        .read_quietly()
        .is_some();
    report(
        "libvirt development files",
        headers.then(|| "pkg-config libvirt".to_owned()),
        "`pkg-config --exists libvirt` failed",
    );

    let daemon = Path::new(LIBVIRTD).is_file();
    report(
        "libvirtd",
        daemon.then(|| LIBVIRTD.to_owned()),
        &format!("no {LIBVIRTD}"),
    );

    let virsh = find_on_path("virsh").map(|path| path.display().to_string());
    report("virsh", virsh, "not on PATH");

    let python = Cmd::new(SYSTEM_PYTHON)
        .args(["-c", "import libvirt, pytest"])
        .read_quietly()
        .is_some();
    report(
        "libvirt-python and pytest",
        python.then(|| format!("{SYSTEM_PYTHON}: import libvirt, pytest")),
        &format!("`{SYSTEM_PYTHON} -c 'import libvirt, pytest'` failed"),
    );

    let perl = Cmd::new("perl")
        .args(["-MSys::Virt", "-e", "1"])
        .read_quietly()
        .is_some();
    report(
        "Sys::Virt",
        perl.then(|| "perl -MSys::Virt".to_owned()),
        "`perl -MSys::Virt -e 1` failed",
    );

    missing
}

fn is_root() -> Result<bool> {
    Ok(Cmd::new("id").arg("-u").read()?.trim() == "0")
}

fn install() -> Result<()> {
    println!("installing: {}", PACKAGES.join(" "));
    Cmd::new("apt-get").arg("update").run()?;
    // Recommends would pull in QEMU and friends; the tests only use the test driver and storage.
    Cmd::new("apt-get")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "--no-install-recommends"])
        .args(PACKAGES)
        .run()
}

fn install_hint() -> String {
    format!(
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {}",
        PACKAGES.join(" ")
    )
}
