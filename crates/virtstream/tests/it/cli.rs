//! The `virtstream` binary against a real storage daemon: a sparse 1 GiB image round trip, and
//! every error a user meets, each with a clear message and a non-zero exit.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::process::{Command, Output};

use stream_conformance::Fixture;
use stream_core::{Backend, VolumeId};
use stream_libvirt::LibvirtBackend;

pub(super) fn daemon() -> (String, LibvirtBackend) {
    let uri = stream_libvirt::daemon::shared_uri()
        .unwrap_or_else(|error| panic!("no storage daemon: {error}"));
    let backend =
        LibvirtBackend::connect(&uri).unwrap_or_else(|error| panic!("connect {uri}: {error}"));
    (uri, backend)
}

fn volume(backend: &dyn Backend, notation: &str) -> VolumeId {
    Fixture::new(backend)
        .volume(notation)
        .unwrap_or_else(|error| panic!("{error}"))
}

pub(super) fn virtstream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_virtstream"))
        .args(args)
        .output()
        .expect("run virtstream")
}

fn transfer(verb: &str, uri: &str, volume: &VolumeId, file: &Path, extra: &[&str]) -> Output {
    let file = file.to_str().expect("utf-8 path");
    let mut args = vec![
        verb,
        "--uri",
        uri,
        "--pool",
        &volume.pool,
        "--vol",
        &volume.name,
        file,
    ];
    args.extend_from_slice(extra);
    virtstream(&args)
}

pub(super) fn fails_with(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected a failure, got success; stderr: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "stderr should mention {needle:?}: {stderr}"
    );
}

/// 1 GiB, 10 % data: 1 MiB of data every 10 MiB.
fn sparse_image(path: &Path) -> File {
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .expect("image");
    file.set_len(1 << 30).expect("size");
    let data: Vec<u8> = (0..1 << 20).map(|i| (i % 253) as u8 + 1).collect();
    for block in 0..102u64 {
        file.write_all_at(&data, block * (10 << 20)).expect("data");
    }
    file
}

#[test]
fn sparse_gib_image_survives_upload_then_download() {
    let (uri, backend) = daemon();
    sparse_gib_round_trip(&uri, &backend);
}

/// The 1 GiB / 10 % image uploaded with `--sparse` into a volume of `backend` (reached by the
/// CLI at `uri`) and downloaded again: same bytes, size kept, holes kept.
pub(super) fn sparse_gib_round_trip(uri: &str, backend: &dyn Backend) {
    let uri = uri.to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let image = dir.path().join("image.raw");
    let source = sparse_image(&image);
    // The target starts full of other data: the sparse upload must not leave it under holes.
    let target = volume(backend, "D64M H1M");
    let up = transfer("upload", &uri, &target, &image, &["--sparse", "--resize"]);
    assert!(
        up.status.success(),
        "upload: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    let copy = dir.path().join("copy.raw");
    let down = transfer("download", &uri, &target, &copy, &["--sparse"]);
    assert!(
        down.status.success(),
        "download: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    let copied = File::open(&copy).expect("copy");
    assert_eq!(
        copied.metadata().expect("stat").len(),
        1 << 30,
        "size, trailing hole included"
    );
    let allocated = copied.metadata().expect("stat").blocks() * 512;
    assert!(
        allocated <= source.metadata().expect("stat").blocks() * 512 + (1 << 20),
        "holes kept: {allocated}"
    );
    let mut a = vec![0; 1 << 20];
    let mut b = vec![0; 1 << 20];
    for chunk in 0..1024u64 {
        source
            .read_exact_at(&mut a, chunk << 20)
            .expect("read source");
        copied
            .read_exact_at(&mut b, chunk << 20)
            .expect("read copy");
        assert!(a == b, "MiB {chunk} differs");
    }
}

#[test]
fn missing_pool_volume_and_file_are_clear_errors() {
    let (uri, backend) = daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("f.raw");
    std::fs::write(&file, b"data").expect("file");
    let no_pool = VolumeId::new("no-such-pool", "v");
    fails_with(
        &transfer("upload", &uri, &no_pool, &file, &[]),
        "Storage pool not found",
    );
    let no_volume = VolumeId::new("default", "no-such-volume");
    fails_with(
        &transfer("download", &uri, &no_volume, &dir.path().join("out"), &[]),
        "Storage volume not found",
    );
    assert!(
        !dir.path().join("out").exists(),
        "a failed download leaves no file"
    );
    let existing = volume(&backend, "H4K");
    fails_with(
        &transfer("upload", &uri, &existing, &dir.path().join("missing"), &[]),
        "cannot open",
    );
}

#[test]
fn bad_range_and_risky_sparse_upload_are_refused() {
    let (uri, backend) = daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("f.raw");
    std::fs::write(&file, vec![1u8; 10_000]).expect("file");
    let target = volume(&backend, "D64K");
    fails_with(
        &transfer("upload", &uri, &target, &file, &["--length", "100"]),
        "longer than --length",
    );
    let sparse = transfer(
        "upload",
        &uri,
        &target,
        &file,
        &["--sparse", "--offset", "4096", "--length", "10000"],
    );
    fails_with(&sparse, "has data in the target range");
    // A hole truncates the file at its end: data after the range would be lost (measured: a
    // 16 KiB volume came out 8 KiB long, exit 0, before this was refused).
    let longer = volume(&backend, "H8K D8K");
    let before = backend.volume_layout(&longer).expect("layout").to_string();
    let holey = dir.path().join("holey.raw");
    let source = File::create(&holey).expect("file");
    source.write_at(&[0x11; 4096], 0).expect("data");
    source.set_len(8192).expect("hole");
    let sparse = transfer(
        "upload",
        &uri,
        &longer,
        &holey,
        &["--sparse", "--offset", "0", "--length", "8192"],
    );
    fails_with(&sparse, "losing the bytes after it");
    let after = backend.volume_layout(&longer).expect("layout").to_string();
    assert_eq!(after, before, "the refused upload changed the volume");
}

#[test]
fn dead_daemon_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("no-daemon-sock");
    let uri = format!("storage:///system?socket={}", socket.display());
    let volume = VolumeId::new("default", "v");
    let output = transfer("download", &uri, &volume, &dir.path().join("out"), &[]);
    fails_with(&output, "no-daemon-sock");
}

#[test]
fn conformance_runs_on_the_simulator() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().to_str().expect("utf-8");
    let args = [
        "conformance",
        "--backend",
        "sim-remote",
        "--backend",
        "sim-local",
        "--report-dir",
        reports,
    ];
    let output = virtstream(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .is_some_and(|line| line.contains(" 0 failed,")),
        "the summary comes last: {stdout}"
    );
    let json = std::fs::read_to_string(dir.path().join("report.json")).expect("report.json");
    assert!(
        json.contains("\"id\":\"scenarios/remote/holes (12 files)\""),
        "{json}"
    );
    assert!(dir.path().join("report.md").exists());
}

#[test]
fn daemon_start_env_stop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("daemon.state");
    let state = state.to_str().expect("utf-8 path");
    let started = virtstream(&["daemon", "start", "--state", state]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let uri = String::from_utf8_lossy(&started.stdout).trim().to_string();
    assert!(
        uri.starts_with("VIRTSTREAM_DAEMON_URI=storage:///system?socket="),
        "{uri}"
    );
    fails_with(
        &virtstream(&["daemon", "start", "--state", state]),
        "already started",
    );
    let env = virtstream(&["daemon", "env", "--state", state]);
    assert_eq!(String::from_utf8_lossy(&env.stdout).trim(), uri);
    assert!(
        virtstream(&["daemon", "stop", "--state", state])
            .status
            .success()
    );
    fails_with(
        &virtstream(&["daemon", "env", "--state", state]),
        "no daemon was started",
    );
}

#[test]
fn sim_uri_serves_demos_without_libvirt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out.raw");
    let output = virtstream(&[
        "download",
        "--uri",
        "sim://?layout=D4K+H1M+D10",
        "--pool",
        "p",
        "--vol",
        "v",
        out.to_str().expect("utf-8"),
        "--sparse",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let file = File::open(&out).expect("downloaded");
    assert_eq!(file.metadata().expect("stat").len(), 4096 + (1 << 20) + 10);
    assert_eq!(
        file.metadata().expect("stat").mode() & 0o777,
        0o644,
        "a normal file mode, not the temp file's 0600"
    );
    fails_with(
        &virtstream(&[
            "download",
            "--uri",
            "sim://?x=1",
            "--pool",
            "p",
            "--vol",
            "v",
            "/tmp/never",
        ]),
        "sim:// takes only",
    );
}

#[test]
fn unwritable_destination_is_a_clear_error() {
    let output = virtstream(&[
        "download",
        "--uri",
        "sim://?layout=D4K",
        "--pool",
        "p",
        "--vol",
        "v",
        "/proc/virtstream-out.raw",
    ]);
    fails_with(&output, "cannot create a file in /proc");
}

#[test]
fn replay_reports_matches_and_mismatches() {
    let scenarios =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scenarios/remote/holes");
    let files: Vec<String> = std::fs::read_dir(&scenarios)
        .expect("scenario dir")
        .map(|entry| entry.expect("entry").path().display().to_string())
        .collect();
    let mut args = vec!["replay", "--backend", "sim-remote"];
    args.extend(files.iter().map(String::as_str));
    let output = virtstream(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let wrong = dir.path().join("wrong.scn");
    std::fs::write(
        &wrong,
        "kind remote\nvolume D8K\nopen download\n\nrecv 65536\n=> 4096\n",
    )
    .expect("scenario");
    let output = virtstream(&[
        "replay",
        "--backend",
        "sim-remote",
        wrong.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(
        stdout.contains("- expected: 4096") && stdout.contains("+ actual:   8192"),
        "{stdout}"
    );
}

#[test]
fn record_writes_real_libvirts_results_into_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("screenshot.scn");
    std::fs::write(
        &scenario,
        "# one recv\nkind local\nopen screenshot\n\nrecv 4096\n\nfinish\n\nfinish\n",
    )
    .expect("scenario");
    let path = scenario.to_str().expect("utf-8");
    let output = virtstream(&["record", "--backend", "test", path]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let recorded = std::fs::read_to_string(&scenario).expect("recorded");
    assert!(recorded.contains("recv 4096\n=> 4096\n"), "{recorded}");
    assert!(
        recorded.contains("=> error closed 9/7 operation failed: stream is closed"),
        "{recorded}"
    );
    assert!(
        virtstream(&["replay", "--backend", "sim-local", path])
            .status
            .success(),
        "the simulator agrees"
    );
}

#[test]
fn progress_shows_on_a_terminal_and_not_when_piped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = dir.path().join("image.raw");
    sparse_image(&image);
    let exe = env!("CARGO_BIN_EXE_virtstream");
    let upload = format!(
        "{exe} upload --uri sim:// --pool p --vol v {} --sparse --create",
        image.display()
    );
    // util-linux `script` gives the command a pseudo-terminal, as a person's shell would.
    let on_terminal = Command::new("script")
        .args(["-qec", &upload, "/dev/null"])
        .output()
        .expect("script (util-linux)");
    assert!(
        on_terminal.status.success(),
        "{}",
        String::from_utf8_lossy(&on_terminal.stdout)
    );
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(
        shown.contains("upload") && shown.contains("MiB"),
        "no progress bar on a terminal: {shown:?}"
    );
    let piped = Command::new(exe)
        .args([
            "upload",
            "--uri",
            "sim://",
            "--pool",
            "p",
            "--vol",
            "v",
            image.to_str().expect("utf-8"),
            "--sparse",
            "--create",
        ])
        .output()
        .expect("virtstream");
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        piped.status.success() && !stderr.contains("MiB/s"),
        "a bar drawn into a pipe: {stderr:?}"
    );
}

/// Runs virtstream with libvirt's client RPC log on stderr and returns the procedures it sent
/// (`proc=N` of each queued call), in order.
fn procedures_sent(args: &[&str]) -> (Output, Vec<u32>) {
    let output = Command::new(env!("CARGO_BIN_EXE_virtstream"))
        .args(args)
        .env("LIBVIRT_LOG_FILTERS", "1:rpc.netclient")
        .env("LIBVIRT_LOG_OUTPUTS", "1:stderr")
        .output()
        .expect("run virtstream");
    let log = String::from_utf8_lossy(&output.stderr);
    let sent = log
        .lines()
        .filter(|line| line.contains("RPC_CLIENT_MSG_TX_QUEUE") && line.contains(" type=0 "))
        .filter_map(|line| line.split(" proc=").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    (output, sent)
}

/// `REMOTE_PROC_CONNECT_CLOSE` (remote_protocol.x): what virsh and libvirt-python send last.
const CONNECT_CLOSE: u32 = 2;

#[test]
fn transfers_close_their_connection_on_success_and_on_error() {
    let (uri, backend) = daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    let source = volume(&backend, "D8K");
    let out = dir.path().join("out.raw");
    let out = out.to_str().expect("utf-8");
    let (output, sent) = procedures_sent(&[
        "download",
        "--uri",
        &uri,
        "--pool",
        &source.pool,
        "--vol",
        &source.name,
        out,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !sent.is_empty(),
        "no RPC log: is LIBVIRT_LOG_OUTPUTS honoured?"
    );
    assert_eq!(sent.last(), Some(&CONNECT_CLOSE), "calls sent: {sent:?}");
    let (output, sent) = procedures_sent(&[
        "download",
        "--uri",
        &uri,
        "--pool",
        "default",
        "--vol",
        "no-such-volume",
        out,
    ]);
    assert!(!output.status.success());
    assert_eq!(sent.last(), Some(&CONNECT_CLOSE), "calls sent: {sent:?}");
    // Uploads too: one that lands, and one refused after connecting.
    let target = volume(&backend, "D8K");
    for extra in [&[][..], &["--offset", "4K"][..]] {
        let mut args = vec![
            "upload",
            "--uri",
            &uri,
            "--pool",
            &target.pool,
            "--vol",
            &target.name,
            out,
        ];
        args.extend_from_slice(extra);
        let (output, sent) = procedures_sent(&args);
        assert_eq!(
            output.status.success(),
            extra.is_empty(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            sent.last(),
            Some(&CONNECT_CLOSE),
            "{extra:?}: calls sent: {sent:?}"
        );
    }
}
