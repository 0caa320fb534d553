//! `cargo xtask setup`'s second libvirt: a Debian release of libvirt other than the system's
//! (11.3 from bookworm-backports) fetched with apt-get into a private prefix under `target/`,
//! with an apt configuration and state of its own and `dpkg-deb -x`: nothing is written under
//! `/etc` and nothing is installed system-wide.
//!
//! The prefix is `<target>/libvirt-<label>/` (`usr/sbin/libvirtd`, `usr/lib/<multiarch>/…`), with
//! a `virtstream-release` file saying what was unpacked; `virtstream --libvirt <prefix>` runs
//! against it. Adding a release is one more [`Release`] in [`RELEASES`].

use std::{
    env, fs,
    path::{Path, PathBuf},
    time::Instant,
};

use crate::util::{Cmd, Error, Result, project_root};

/// One libvirt release that the conformance matrix proves beside the system's.
#[derive(Debug, Clone, Copy)]
pub struct Release {
    /// What columns are named after: `test-11.3`, `daemon-11.3`.
    pub label: &'static str,
    /// The upstream version `virGetVersion` reports.
    pub version: &'static str,
    /// The Debian package version fetched.
    pub debian: &'static str,
    /// The Debian suite that carries it.
    pub suite: &'static str,
    /// Binary packages to unpack. Their library dependencies are bookworm's, already on the
    /// machine with the system's libvirt (checked with `ldd` after unpacking).
    pub packages: &'static [&'static str],
}

/// The releases beside the system's libvirt (9.0 on Debian 12).
pub const RELEASES: [Release; 1] = [Release {
    label: "11.3",
    version: "11.3.0",
    debian: "11.3.0-2~bpo12+1",
    suite: "bookworm-backports",
    packages: &[
        // libvirt.so.0 (the client library, with the in-process test driver)
        "libvirt0",
        // /usr/share/libvirt (schemas, the test driver's screenshot) and /etc/libvirt defaults
        "libvirt-common",
        // libvirtd
        "libvirt-daemon",
        // /usr/lib/libvirt helpers (libvirt_iohelper) the daemon may run
        "libvirt-daemon-common",
        // libvirt_driver_storage.so and the dir pool's backend, split out since 9.0
        "libvirt-daemon-driver-storage",
        // virsh, to look at the prefix by hand
        "libvirt-clients",
    ],
}];

/// Debian's archive key, which the private sources list names (the host's keyring, read only).
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// Used when no bookworm mirror can be read from the host's apt sources.
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
/// Written last into an unpacked prefix; a prefix without it (or with another release's) is
/// unpacked again.
const STAMP: &str = "virtstream-release";

/// The target directory cargo builds into (`$CARGO_TARGET_DIR`, else `<root>/target`).
pub fn target_dir() -> Result<PathBuf> {
    let root = project_root()?;
    Ok(env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| root.join("target"), |dir| root.join(PathBuf::from(dir))))
}

/// Where `release` is unpacked.
pub fn prefix(release: &Release) -> Result<PathBuf> {
    Ok(target_dir()?.join(format!("libvirt-{}", release.label)))
}

/// Every release of [`RELEASES`], fetched and unpacked unless already there; their prefixes.
pub fn ensure_all() -> Result<Vec<(Release, PathBuf)>> {
    RELEASES
        .iter()
        .map(|release| Ok((*release, ensure(release)?)))
        .collect()
}

/// The stamp's text for `release`: what was unpacked, so a change of release unpacks again.
fn stamp_text(release: &Release) -> String {
    format!(
        "version={}\ndebian={}\npackages={}\n",
        release.version,
        release.debian,
        release.packages.join(" ")
    )
}

/// Fetches and unpacks `release` into its prefix unless the prefix already holds it; returns it.
pub fn ensure(release: &Release) -> Result<PathBuf> {
    let prefix = prefix(release)?;
    let stamp = fs::read_to_string(prefix.join(STAMP)).unwrap_or_default();
    if stamp == stamp_text(release) && prefix.join("usr/sbin/libvirtd").is_file() {
        println!(
            "found: libvirt {} ({}) in {}",
            release.version,
            release.debian,
            prefix.display()
        );
        return Ok(prefix);
    }
    let started = Instant::now();
    println!(
        "fetching libvirt {} ({}, {}) into {}",
        release.version,
        release.debian,
        release.suite,
        prefix.display()
    );
    let apt = PrivateApt::new(&target_dir()?.join("libvirt-apt"), release.suite)?;
    apt.update()?;
    let debs = apt.download(release)?;
    let fetched = started.elapsed();
    unpack(&debs, &prefix, &stamp_text(release))?;
    check_links(&prefix)?;
    println!(
        "unpacked libvirt {} into {} (download {:.1} s, unpack and checks {:.1} s)",
        release.version,
        prefix.display(),
        fetched.as_secs_f64(),
        (started.elapsed() - fetched).as_secs_f64()
    );
    Ok(prefix)
}

/// apt-get with its own sources list, state and cache under `dir`: the host's `/etc/apt` and
/// `/var/lib/apt` are only read (its apt.conf.d, e.g. a proxy, still applies).
struct PrivateApt {
    dir: PathBuf,
}

impl PrivateApt {
    fn new(dir: &Path, suite: &str) -> Result<PrivateApt> {
        if !Path::new(KEYRING).is_file() {
            return Err(Error::new(format!(
                "{KEYRING} is missing: install Debian's archive keyring \
                 (apt-get install debian-archive-keyring)"
            )));
        }
        for sub in ["lists/partial", "cache/archives/partial"] {
            fs::create_dir_all(dir.join(sub)).map_err(|err| {
                Error::new(format!("creating {}: {err}", dir.join(sub).display()))
            })?;
        }
        let mirror = host_mirror().unwrap_or_else(|| DEFAULT_MIRROR.to_owned());
        let sources = format!("deb [signed-by={KEYRING}] {mirror} {suite} main\n");
        let list = dir.join("sources.list");
        fs::write(&list, sources)
            .map_err(|err| Error::new(format!("writing {}: {err}", list.display())))?;
        Ok(PrivateApt {
            dir: dir.to_owned(),
        })
    }

    fn apt_get(&self) -> Cmd {
        let dir = &self.dir;
        let option =
            |name: &str, value: &Path| ["-o".to_owned(), format!("{name}={}", value.display())];
        let mut cmd = Cmd::new("apt-get")
            .args([
                "-q",
                "-o",
                "Dir::Etc::sourceparts=-",
                "-o",
                "Debug::NoLocking=1",
            ])
            .args(option("Dir::Etc::sourcelist", &dir.join("sources.list")))
            .args(option("Dir::State::Lists", &dir.join("lists")))
            .args(option("Dir::Cache", &dir.join("cache")));
        if is_root() {
            // apt drops to `_apt` to download, who cannot write into target/.
            cmd = cmd.args(["-o", "APT::Sandbox::User=root"]);
        }
        cmd
    }

    fn update(&self) -> Result<()> {
        self.apt_get().arg("update").run()
    }

    /// Downloads the release's packages (exactly its version) into a fresh directory; their paths.
    fn download(&self, release: &Release) -> Result<Vec<PathBuf>> {
        let debs = self.dir.join(format!("debs-{}", release.label));
        if debs.exists() {
            fs::remove_dir_all(&debs)
                .map_err(|err| Error::new(format!("removing {}: {err}", debs.display())))?;
        }
        fs::create_dir_all(&debs)
            .map_err(|err| Error::new(format!("creating {}: {err}", debs.display())))?;
        self.apt_get()
            .arg("download")
            .args(
                release
                    .packages
                    .iter()
                    .map(|name| format!("{name}={}", release.debian)),
            )
            .current_dir(&debs)
            .run()?;
        let mut found: Vec<PathBuf> = fs::read_dir(&debs)
            .map_err(|err| Error::new(format!("listing {}: {err}", debs.display())))?
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "deb"))
            .collect();
        found.sort();
        if found.len() != release.packages.len() {
            return Err(Error::new(format!(
                "apt-get download left {} packages in {}, expected {} ({})",
                found.len(),
                debs.display(),
                release.packages.len(),
                release.packages.join(" ")
            )));
        }
        Ok(found)
    }
}

/// Unpacks `debs` into a fresh directory beside `prefix`, writes the stamp, then puts it in
/// place of `prefix`: an interrupted setup never leaves a half-unpacked prefix that looks whole.
fn unpack(debs: &[PathBuf], prefix: &Path, stamp: &str) -> Result<()> {
    let mut name = prefix.file_name().unwrap_or_default().to_owned();
    name.push(".unpacking");
    let fresh = prefix.with_file_name(name);
    for dir in [&fresh, &prefix.to_path_buf()] {
        if dir.exists() {
            fs::remove_dir_all(dir)
                .map_err(|err| Error::new(format!("removing {}: {err}", dir.display())))?;
        }
    }
    fs::create_dir_all(&fresh)
        .map_err(|err| Error::new(format!("creating {}: {err}", fresh.display())))?;
    for deb in debs {
        Cmd::new("dpkg-deb").arg("-x").arg(deb).arg(&fresh).run()?;
    }
    fs::write(fresh.join(STAMP), stamp)
        .map_err(|err| Error::new(format!("writing the stamp in {}: {err}", fresh.display())))?;
    fs::rename(&fresh, prefix).map_err(|err| {
        Error::new(format!(
            "renaming {} to {}: {err}",
            fresh.display(),
            prefix.display()
        ))
    })
}

/// The directory of `prefix` holding `libvirt.so.0` (Debian's multiarch one).
fn lib_dir(prefix: &Path) -> Result<PathBuf> {
    let lib = prefix.join("usr/lib");
    fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .chain([prefix.join("usr/lib64"), lib.clone()])
        .find(|dir| dir.join("libvirt.so.0").exists())
        .ok_or_else(|| Error::new(format!("no libvirt.so.0 under {}", lib.display())))
}

/// Every binary the columns load resolves all its libraries with the prefix's lib directory
/// first (`ldd` says `not found` otherwise), and libvirt's own from the prefix.
fn check_links(prefix: &Path) -> Result<()> {
    let lib = lib_dir(prefix)?;
    let binaries = [
        prefix.join("usr/sbin/libvirtd"),
        lib.join("libvirt.so.0"),
        lib.join("libvirt/connection-driver/libvirt_driver_storage.so"),
        lib.join("libvirt/storage-backend/libvirt_storage_backend_fs.so"),
    ];
    let lib_text = lib.display().to_string();
    for binary in &binaries {
        let linked = Cmd::new("ldd")
            .env("LD_LIBRARY_PATH", &lib_text)
            .arg(binary)
            .read()?;
        let wrong: Vec<&str> = linked
            .lines()
            .filter(|line| {
                line.contains("not found")
                    || (line.trim_start().starts_with("libvirt") && !line.contains(&lib_text))
            })
            .collect();
        if !wrong.is_empty() {
            return Err(Error::new(format!(
                "{} does not link with {}'s libraries:\n{}",
                binary.display(),
                prefix.display(),
                wrong.join("\n")
            )));
        }
    }
    println!(
        "checked: {} binaries link only {}'s libvirt",
        binaries.len(),
        lib.display()
    );
    Ok(())
}

/// The first mirror the host's apt sources use for Debian 12 itself (`bookworm`), so the
/// backports come from the same host; `None` when none is found.
fn host_mirror() -> Option<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    let mut parts: Vec<PathBuf> = fs::read_dir("/etc/apt/sources.list.d")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    parts.sort();
    files.extend(parts);
    files.iter().find_map(|file| {
        let text = fs::read_to_string(file).ok()?;
        if file.extension().is_some_and(|ext| ext == "sources") {
            deb822_mirror(&text)
        } else {
            one_line_mirror(&text)
        }
    })
}

/// `deb [options] URI bookworm main …` lines.
fn one_line_mirror(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next()?.trim();
        let rest = line.strip_prefix("deb ")?.trim_start();
        let rest = match rest.strip_prefix('[') {
            Some(options) => options.split_once(']')?.1,
            None => rest,
        };
        let mut words = rest.split_whitespace();
        let uri = words.next()?;
        (words.next()? == "bookworm").then(|| uri.trim_end_matches('/').to_owned())
    })
}

/// deb822 stanzas with `Types: deb`, `Suites:` including `bookworm`: their first URI.
fn deb822_mirror(text: &str) -> Option<String> {
    text.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
        };
        let debs = field("Types")?.split_whitespace().any(|kind| kind == "deb");
        let bookworm = field("Suites")?
            .split_whitespace()
            .any(|suite| suite == "bookworm");
        let uri = field("URIs")?.split_whitespace().next()?.to_owned();
        (debs && bookworm).then(|| uri.trim_end_matches('/').to_owned())
    })
}

fn is_root() -> bool {
    Cmd::new("id")
        .arg("-u")
        .read_quietly()
        .as_deref()
        .map(str::trim)
        == Some("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_are_read_from_both_source_formats() {
        let deb822 = "Types: deb\n# http://snapshot.debian.org/archive/debian/20250520T000000Z\n\
                      URIs: http://deb.example.org/debian/\nSuites: bookworm bookworm-updates\n\
                      Components: main\n\nTypes: deb\nURIs: http://security.example.org/\n\
                      Suites: bookworm-security\n";
        assert_eq!(
            deb822_mirror(deb822).as_deref(),
            Some("http://deb.example.org/debian")
        );
        let security_only =
            "Types: deb\nURIs: http://security.example.org/\nSuites: bookworm-security\n";
        assert_eq!(deb822_mirror(security_only), None);
        let one_line = "# comment\ndeb-src http://src.example.org/debian bookworm main\n\
                        deb [arch=amd64 signed-by=/k.gpg] http://m.example.org/debian/ bookworm main\n";
        assert_eq!(
            one_line_mirror(one_line).as_deref(),
            Some("http://m.example.org/debian")
        );
        assert_eq!(
            one_line_mirror("deb https://packages.example.com/apt cloud-sdk-bookworm main"),
            None
        );
    }

    #[test]
    fn the_stamp_names_what_was_unpacked() {
        let text = stamp_text(&RELEASES[0]);
        assert!(text.starts_with("version=11.3.0\ndebian=11.3.0-2~bpo12+1\n"));
        assert!(text.contains("libvirt-daemon-driver-storage"));
    }
}
