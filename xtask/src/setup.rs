//! `cargo xtask setup`: makes sure libvirt's headers, daemon and client are on this machine,
//! installing them with apt-get when it can.

use std::path::Path;

use crate::util::{Cmd, Error, Result, find_on_path, project_root};

/// Debian's packages for what the checks below look for. On Debian 12 the storage driver ships
/// inside `libvirt-daemon` itself, so no separate driver package is needed.
const PACKAGES: [&str; 5] = [
    "libvirt-dev",
    "libvirt-daemon",
    "libvirt-clients",
    "pkg-config",
    // stream-rpc's tests drive the served simulator with python3-libvirt too.
    "python3-libvirt",
];

/// Debian's python3, where python3-libvirt installs (not whatever python3 is first on PATH).
const DEBIAN_PYTHON: &str = "/usr/bin/python3";

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

    let python = Cmd::new(DEBIAN_PYTHON)
        .args(["-c", "import libvirt; print(libvirt.getVersion())"])
        .read_quietly()
        .map(|version| format!("{DEBIAN_PYTHON}: libvirt {}", version.trim()));
    report(
        "python3-libvirt",
        python,
        "`import libvirt` fails in /usr/bin/python3",
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
