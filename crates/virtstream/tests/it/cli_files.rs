//! What `virtstream upload` / `download` do to the files and volumes they are given: a
//! destination that is not a regular file is written through (never replaced), a replaced file
//! keeps its owner, group and mode, a link another user owns is not followed, an interrupted
//! download leaves nothing, a FIFO source does not hang, whole-volume uploads follow one rule,
//! and sizes take suffixes.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use stream_conformance::Fixture;
use stream_core::{Backend, Layout, VolumeId};
use stream_libvirt::LibvirtBackend;

use super::cli::{daemon, fails_with, virtstream};

const EXE: &str = env!("CARGO_BIN_EXE_virtstream");
/// The simulator's volume of `sim://?layout=…` below: 4 KiB data, a 1 MiB hole, 10 bytes data.
const SIM: &str = "sim://?layout=D4K+H1M+D10";
const SIM_SIZE: u64 = 4096 + (1 << 20) + 10;

fn sim_download(to: &str, extra: &[&str]) -> Output {
    let mut args = vec!["download", "--uri", SIM, "--pool", "p", "--vol", "v", to];
    args.extend_from_slice(extra);
    virtstream(&args)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn succeeds(output: &Output) {
    assert!(output.status.success(), "failed: {}", stderr(output));
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils)");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// The simulator volume's bytes, as the layout notation defines them.
fn sim_bytes() -> Vec<u8> {
    Layout::parse("D4K H1M D10").expect("layout").to_bytes()
}

/// No `.virtstream-download-*` left in `dir`.
fn no_partial_files(dir: &Path) {
    let left: Vec<PathBuf> = fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.to_string_lossy().contains(".virtstream-download-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn download_writes_through_a_device_node_instead_of_replacing_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A private null device (1:3), so a regression cannot break the machine's /dev/null.
    let null = dir.path().join("null");
    let status = Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
        .expect("mknod (coreutils; needs root)");
    assert!(status.success(), "mknod needs root");
    succeeds(&sim_download(null.to_str().expect("utf-8"), &["--sparse"]));
    let meta = fs::symlink_metadata(&null).expect("stat");
    assert!(
        meta.file_type().is_char_device() && meta.rdev() == libc::makedev(1, 3),
        "the device node was replaced: {meta:?}"
    );
    no_partial_files(dir.path());
}

#[test]
fn download_to_dash_and_dev_stdout_writes_the_volume_to_stdout() {
    for (name, extra) in [
        ("-", &[][..]),
        ("-", &["--sparse"][..]),
        ("/dev/stdout", &[][..]),
    ] {
        let output = sim_download(name, extra);
        succeeds(&output);
        assert!(
            output.stdout == sim_bytes(),
            "{name} {extra:?}: {} bytes on stdout, want {SIM_SIZE}",
            output.stdout.len()
        );
    }
}

#[test]
fn download_into_a_fifo_streams_to_its_reader() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            File::open(fifo)
                .expect("open fifo")
                .read_to_end(&mut bytes)
                .expect("read");
            bytes
        })
    };
    succeeds(&sim_download(fifo.to_str().expect("utf-8"), &["--sparse"]));
    assert!(
        reader.join().expect("reader") == sim_bytes(),
        "bytes differ"
    );
    assert!(
        fs::symlink_metadata(&fifo)
            .expect("stat")
            .file_type()
            .is_fifo(),
        "the FIFO was replaced"
    );
}

#[test]
fn replacing_a_file_keeps_its_owner_group_and_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.raw");
    fs::write(&out, b"old").expect("file");
    std::os::unix::fs::chown(&out, Some(65534), Some(65534)).expect("chown (needs root)");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o640)).expect("chmod");
    succeeds(&sim_download(out.to_str().expect("utf-8"), &["--sparse"]));
    let meta = fs::metadata(&out).expect("stat");
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (65534, 65534, 0o640)
    );
    assert!(fs::read(&out).expect("read") == sim_bytes());
    no_partial_files(dir.path());
}

/// A symbolic link at `link` to `target`, owned by `uid`.
fn link_owned_by(target: &Path, link: &Path, uid: u32) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
    std::os::unix::fs::lchown(link, Some(uid), Some(uid)).expect("lchown (needs root)");
}

#[test]
fn another_users_symlink_is_not_followed_anywhere_in_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let victim = dir.path().join("victim");
    fs::write(&victim, b"precious").expect("file");
    // Directly; behind a root-owned link (a chain); and as a directory on the way.
    link_owned_by(&victim, &dir.path().join("out.raw"), 65534);
    link_owned_by(
        &dir.path().join("out.raw"),
        &dir.path().join("chain.raw"),
        0,
    );
    link_owned_by(dir.path(), &dir.path().join("sub"), 65534);
    for name in ["out.raw", "chain.raw", "sub/victim"] {
        let path = dir.path().join(name);
        fails_with(
            &sim_download(path.to_str().expect("utf-8"), &[]),
            "symbolic link owned by uid 65534",
        );
        assert_eq!(fs::read(&victim).expect("read"), b"precious", "{name}");
    }
    for name in ["out.raw", "chain.raw", "sub"] {
        assert!(
            fs::symlink_metadata(dir.path().join(name))
                .expect("stat")
                .file_type()
                .is_symlink()
        );
    }
    no_partial_files(dir.path());
    // An upload does not read through another user's link either.
    let output = virtstream(
        &[
            "upload",
            "--uri",
            "sim://?layout=D8",
            "--pool",
            "p",
            "--vol",
            "v",
        ]
        .into_iter()
        .chain([dir.path().join("chain.raw").to_str().expect("utf-8")])
        .collect::<Vec<_>>(),
    );
    fails_with(&output, "symbolic link owned by uid 65534");
}

#[test]
fn a_root_owned_or_own_link_is_followed_and_its_target_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("target.raw");
    fs::write(&target, b"old").expect("file");
    let link = dir.path().join("link.raw");
    link_owned_by(&target, &link, 0);
    succeeds(&sim_download(link.to_str().expect("utf-8"), &["--sparse"]));
    assert!(fs::read(&target).expect("read") == sim_bytes());
    assert!(
        fs::symlink_metadata(&link)
            .expect("stat")
            .file_type()
            .is_symlink()
    );
}

#[test]
fn dev_stdout_redirected_to_a_file_keeps_the_shells_offset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    for (redirect, before) in [(">", &b""[..]), (">>", &b"log\n"[..])] {
        fs::write(&out, b"log\n").expect("file");
        let script = format!(
            "{{ echo header; {EXE} download --uri '{SIM}' --pool p --vol v /dev/stdout; }} {redirect} {}",
            out.display()
        );
        let status = Command::new("sh")
            .args(["-c", &script])
            .status()
            .expect("sh");
        assert!(status.success());
        let mut want = before.to_vec();
        want.extend_from_slice(b"header\n");
        want.extend(sim_bytes());
        assert!(
            fs::read(&out).expect("read") == want,
            "{redirect}: bytes differ"
        );
        assert!(fs::symlink_metadata(&out).expect("stat").is_file());
    }
}

#[test]
fn set_id_bits_are_not_carried_over_and_a_planted_file_is_not_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("program");
    fs::write(&program, b"#!/bin/sh\n").expect("file");
    fs::set_permissions(&program, fs::Permissions::from_mode(0o4755)).expect("chmod");
    succeeds(&sim_download(program.to_str().expect("utf-8"), &[]));
    assert_eq!(fs::metadata(&program).expect("stat").mode() & 0o7777, 0o755);
    // Another user's file in a directory everyone can write (as in /tmp) is left alone.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).expect("chmod");
    let planted = dir.path().join("planted.raw");
    fs::write(&planted, b"mine").expect("file");
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).expect("chown (needs root)");
    fails_with(
        &sim_download(planted.to_str().expect("utf-8"), &[]),
        "belongs to uid 65534",
    );
    assert_eq!(fs::read(&planted).expect("read"), b"mine");
    no_partial_files(dir.path());
}

/// Starts a download of a volume too large to finish soon, into `dir/out.raw`, and waits until
/// its temporary file has data.
// The caller waits for the returned child; clippy cannot see past the return.
#[allow(clippy::zombie_processes)]
fn start_long_download(dir: &Path) -> Child {
    let out = dir.join("out.raw");
    let mut child = Command::new(EXE)
        .args(["download", "--uri", "sim://?layout=D64G", "--pool", "p"])
        .args(["--vol", "v", out.to_str().expect("utf-8")])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virtstream");
    let started = Instant::now();
    loop {
        let growing = fs::read_dir(dir).expect("dir").any(|entry| {
            entry.is_ok_and(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".virtstream-download-")
                    && entry.metadata().is_ok_and(|meta| meta.len() > 0)
            })
        });
        if growing {
            return child;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let output = child.wait_with_output().expect("wait");
            panic!("the download never started writing: {}", stderr(&output));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, signal: i32) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

#[test]
fn an_interrupted_download_removes_its_temporary_file_and_exits_128_plus_the_signal() {
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let child = start_long_download(dir.path());
        signal(&child, sig);
        let output = child.wait_with_output().expect("wait");
        assert_eq!(output.status.code(), Some(code), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("interrupted by"),
            "{}",
            stderr(&output)
        );
        no_partial_files(dir.path());
        assert!(!dir.path().join("out.raw").exists());
    }
}

#[test]
fn an_interrupted_upload_says_what_the_volume_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = dir.path().join("image.raw");
    // 8 GiB of zeros, sent byte for byte without --sparse: far longer than the signal's delay.
    File::create(&image)
        .expect("image")
        .set_len(8 << 30)
        .expect("size");
    let child = Command::new(EXE)
        .args([
            "upload",
            "--uri",
            "sim://?layout=H8G",
            "--pool",
            "p",
            "--vol",
            "v",
        ])
        .arg(&image)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virtstream");
    thread::sleep(Duration::from_millis(500));
    signal(&child, libc::SIGINT);
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("volume p/v is incomplete: at most ")
            && stderr(&output).contains(" of 8589934592 bytes written"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_fifo_source_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let mut child = Command::new(EXE)
        .args([
            "upload",
            "--uri",
            "sim://?layout=D4K",
            "--pool",
            "p",
            "--vol",
            "v",
        ])
        .arg(&fifo)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virtstream");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("upload from a FIFO hangs");
        }
        thread::sleep(Duration::from_millis(20));
    }
    fails_with(
        &child.wait_with_output().expect("output"),
        "is not a regular file",
    );
}

#[test]
fn sizes_take_suffixes_and_negative_ones_name_the_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.raw");
    let out = out.to_str().expect("utf-8");
    succeeds(&sim_download(out, &["--offset", "4K", "--length", "1M"]));
    assert!(fs::read(out).expect("read") == sim_bytes()[4096..4096 + (1 << 20)]);
    for bad in [
        &["--offset=-1"][..],
        &["--offset", "-1"],
        &["--length", "1X"],
    ] {
        fails_with(&sim_download(out, bad), "sizes are whole numbers of bytes");
    }
}

#[test]
fn the_progress_bar_counts_towards_the_volumes_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.raw");
    let command = format!(
        "{EXE} download --uri 'sim://?layout=D1G' --pool p --vol v {}",
        out.display()
    );
    // util-linux `script` gives the command a pseudo-terminal, so the bar is drawn.
    let on_terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(on_terminal.status.success(), "{shown}");
    // A frame drawn part-way shows less than the total; a total that only follows the bytes
    // received so far would always read "N/N".
    let frames: Vec<&str> = shown.split("/1.00 GiB").collect();
    // Each piece but the last ends with the position a frame showed against the total.
    let part_way = frames[..frames.len() - 1]
        .iter()
        .any(|before| !before.ends_with("1.00 GiB") && !before.ends_with("1024.00 MiB"));
    assert!(part_way, "no frame shows part of 1.00 GiB done: {shown:?}");
}

fn upload(uri: &str, volume: &VolumeId, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "upload",
        "--uri",
        uri,
        "--pool",
        &volume.pool,
        "--vol",
        &volume.name,
    ];
    args.push(file.to_str().expect("utf-8"));
    args.extend_from_slice(extra);
    virtstream(&args)
}

fn volume_bytes(backend: &LibvirtBackend, volume: &VolumeId) -> Vec<u8> {
    let size = backend.volume_size(volume).expect("size");
    let mut bytes = vec![0; usize::try_from(size).expect("small")];
    let read = backend.read_volume(volume, 0, &mut bytes).expect("read");
    bytes.truncate(read);
    bytes
}

#[test]
fn a_whole_volume_upload_leaves_exactly_the_file_or_is_refused() {
    let (uri, backend) = daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    // 4 KiB of data, then a 4 KiB hole: old data under the hole must not survive either.
    let small = dir.path().join("small.raw");
    fs::write(&small, vec![7u8; 4096]).expect("file");
    File::options()
        .write(true)
        .open(&small)
        .expect("file")
        .set_len(8192)
        .expect("hole");
    let mut expected = vec![7u8; 4096];
    expected.resize(8192, 0);
    for sparse in [&[][..], &["--sparse"][..]] {
        let target = Fixture::new(&backend).volume("D8M").expect("volume");
        let before = volume_bytes(&backend, &target);
        fails_with(&upload(&uri, &target, &small, sparse), "pass --resize");
        assert!(
            volume_bytes(&backend, &target) == before,
            "a refusal changed the volume"
        );
        let mut resized = sparse.to_vec();
        resized.push("--resize");
        succeeds(&upload(&uri, &target, &small, &resized));
        assert!(
            volume_bytes(&backend, &target) == expected,
            "{sparse:?}: the volume is not exactly the file"
        );
    }
    // Growing: a file larger than the volume, or a range past its end.
    let target = Fixture::new(&backend).volume("D4K").expect("volume");
    let large = dir.path().join("large.raw");
    fs::write(&large, vec![9u8; 16384]).expect("file");
    fails_with(&upload(&uri, &target, &large, &[]), "grow the volume");
    fails_with(
        &upload(&uri, &target, &small, &["--offset", "4K"]),
        "would grow the volume",
    );
    assert_eq!(backend.volume_size(&target).expect("size"), 4096);
    succeeds(&upload(
        &uri,
        &target,
        &small,
        &["--offset", "4K", "--resize"],
    ));
    assert_eq!(backend.volume_size(&target).expect("size"), 4096 + 8192);
}

/// A whole-volume sparse upload empties the volume first, and no old byte survives under the
/// image's holes: into a fully allocated volume of another size (the stream cut, which leaves
/// byte 0 for the upload to overwrite) and into a sparse volume of the same size (emptied in
/// place), with an image that starts and ends with a hole.
#[test]
fn a_sparse_upload_of_an_image_starting_with_a_hole_leaves_no_old_byte() {
    let (uri, backend) = daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    let image = dir.path().join("holed.raw");
    let file = File::create(&image).expect("file");
    file.set_len(12288).expect("size");
    file.write_all_at(&[3u8; 4096], 4096).expect("data");
    let mut expected = vec![0u8; 4096];
    expected.extend_from_slice(&[3u8; 4096]);
    expected.resize(12288, 0);
    for notation in ["D16K", "D4K H4K D4K"] {
        let old = Layout::parse(notation).expect("notation");
        let mut first = [0u8; 1];
        old.read_at(0, &mut first);
        assert_ne!(first[0], 0, "the old volume must hold data at byte 0");
        let target = Fixture::new(&backend)
            .volume(&old.to_string())
            .expect("volume");
        succeeds(&upload(&uri, &target, &image, &["--sparse", "--resize"]));
        let bytes = volume_bytes(&backend, &target);
        backend.delete_volume(&target).expect("delete");
        assert!(
            bytes == expected,
            "{notation}: the volume is not exactly the file: {} bytes, first {:?}, at 8K {:?}",
            bytes.len(),
            &bytes[..bytes.len().min(4)],
            bytes.get(8192..8196)
        );
    }
}

#[test]
fn upload_create_makes_the_missing_volume() {
    let (uri, backend) = daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("f.raw");
    fs::write(&file, vec![5u8; 10_000]).expect("file");
    let name = format!("created-{}.raw", std::process::id());
    let volume = VolumeId::new("default", &name);
    fails_with(&upload(&uri, &volume, &file, &[]), "pass --create");
    // A --capacity that contradicts the whole-volume rule is refused before anything is made.
    fails_with(
        &upload(&uri, &volume, &file, &["--create", "--capacity", "1M"]),
        "--capacity 1048576 differs from the file's 10000 bytes",
    );
    fails_with(&upload(&uri, &volume, &file, &[]), "pass --create");
    succeeds(&upload(&uri, &volume, &file, &["--create", "--sparse"]));
    let bytes = volume_bytes(&backend, &volume);
    backend.delete_volume(&volume).expect("delete");
    assert_eq!(bytes, vec![5u8; 10_000]);
    // Into a range of a new volume of a given capacity: the capacity stays.
    let extra = ["--create", "--capacity", "1M", "--offset", "4K"];
    succeeds(&upload(&uri, &volume, &file, &extra));
    let bytes = volume_bytes(&backend, &volume);
    backend.delete_volume(&volume).expect("delete");
    assert_eq!(bytes.len(), 1 << 20);
    assert!(bytes[4096..14096] == [5u8; 10_000][..] && bytes[..4096] == [0; 4096][..]);
}

#[test]
fn a_sparse_range_upload_that_would_cut_the_volume_short_is_refused() {
    let (uri, backend) = daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    // 12 KiB: data, a hole, data. libvirt's hole is a seek and a truncate, so the volume would
    // end at 12 KiB, whatever the range's length (measured by the review: 8 MiB became 12 KiB).
    let file = dir.path().join("holey.raw");
    let holey = File::create(&file).expect("file");
    std::os::unix::fs::FileExt::write_all_at(&holey, &[1; 4096], 0).expect("data");
    std::os::unix::fs::FileExt::write_all_at(&holey, &[2; 4096], 8192).expect("data");
    let target = Fixture::new(&backend).volume("H8M").expect("volume");
    fails_with(
        &upload(
            &uri,
            &target,
            &file,
            &["--sparse", "--offset", "0", "--length", "8M"],
        ),
        "longer than where the upload ends (12288)",
    );
    assert_eq!(backend.volume_size(&target).expect("size"), 8 << 20);
}

#[test]
fn transfer_help_names_the_simulator_the_pool_and_the_rules() {
    let help = virtstream(&["upload", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "sim://",
        "`default`",
        "--create",
        "--resize",
        "holding exactly the",
    ] {
        assert!(
            text.contains(needle),
            "upload --help lacks {needle:?}:\n{text}"
        );
    }
}
