//! Fault plans over the wire: the served simulator fails where its plan says, and real clients
//! see it as they would see a failing libvirtd: the project's libvirt backend (libvirt.so as the
//! client) through `SimServer`, and virsh through `virtstream serve --faults FILE`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stream_core::{Backend, ErrorKind, Layout, Recv, RecvFlags, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;
use stream_rpc::server::SimServer;
use stream_sim::{FaultPlan, InjectedError, volume_path};

use super::scenario_files::within_seconds;

const MIB: u64 = 1 << 20;

fn served(notation: &str) -> (SimServer, LibvirtBackend, VolumeId) {
    let server = SimServer::start().expect("serve the simulator");
    server
        .add_volume("v", &Layout::parse(notation).unwrap())
        .unwrap();
    let backend = LibvirtBackend::connect(&server.uri()).expect("libvirt connects");
    (server, backend, VolumeId::new("default", "v"))
}

/// Every byte of a blocking download until it fails: how many arrived, and the error.
fn download_until_error(backend: &LibvirtBackend, volume: &VolumeId) -> (u64, stream_core::Error) {
    let mut stream = backend
        .open(
            StreamFlags::empty(),
            &Transfer::download(volume.clone(), false),
        )
        .expect("download");
    let mut buf = vec![0; 256 * 1024];
    let mut received = 0;
    loop {
        match stream.recv(&mut buf, RecvFlags::empty()) {
            Ok(Recv::Data(n)) => received += n as u64,
            Ok(other) => panic!("{other:?} before the fault"),
            Err(error) => return (received, error),
        }
    }
}

#[test]
fn an_error_at_byte_n_reaches_libvirt_with_its_code_domain_and_message() {
    let (server, backend, volume) = served("D4M");
    let error = InjectedError::new(
        ErrorKind::System,
        38,
        38,
        "cannot read from stream: Input/output error",
    );
    server.inject(FaultPlan::new().error_at(MIB + 100, error));
    let (received, error) = download_until_error(&backend, &volume);
    assert_eq!(received, MIB + 100, "every byte before the fault arrives");
    let code = error.libvirt_code().expect("libvirt's error");
    assert_eq!((code.code, code.domain), (38, 38), "{error}");
    assert_eq!(
        error.message(),
        "cannot read from stream: Input/output error"
    );
    // The connection is fine: the far side failed one stream, not the daemon.
    assert_eq!(backend.volume_size(&volume).unwrap(), 4 * MIB);
}

#[test]
fn a_death_at_byte_n_cuts_the_connection_as_a_killed_libvirtd() {
    let (server, backend, volume) = served("D4M");
    server.inject(FaultPlan::new().die_at(2 * MIB));
    let (received, error) = download_until_error(&backend, &volume);
    assert_eq!(received, 2 * MIB);
    assert_eq!(error.kind(), ErrorKind::Disconnected, "{error}");
    let after = backend.volume_size(&volume).unwrap_err();
    assert_eq!(after.kind(), ErrorKind::Disconnected, "{after}");
}

#[test]
fn a_stall_goes_quiet_while_the_connection_still_answers_and_abort_ends_it() {
    let (server, backend, volume) = served("D4M");
    server.inject(FaultPlan::new().stall_at(MIB));
    let mut stream = backend
        .open(
            StreamFlags::NONBLOCK,
            &Transfer::download(volume.clone(), false),
        )
        .expect("download");
    let mut buf = vec![0; 256 * 1024];
    let mut received = 0u64;
    let quiet_since = Instant::now();
    let mut quiet = Duration::ZERO;
    while quiet < Duration::from_secs(1) {
        match stream
            .recv(&mut buf, RecvFlags::empty())
            .expect("no error, only silence")
        {
            Recv::Data(n) => {
                received += n as u64;
                quiet = Duration::ZERO;
            }
            Recv::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
                quiet = quiet_since.elapsed().min(quiet + Duration::from_millis(10));
            }
            other => panic!("{other:?} from a stalled download"),
        }
    }
    assert_eq!(received, MIB, "bytes before the stall arrive, none after");
    // Other calls on the same connection are answered while the transfer is quiet.
    assert_eq!(backend.volume_size(&volume).unwrap(), 4 * MIB);
    stream
        .abort()
        .expect("the client gives up; the daemon confirms the abort");
}

#[test]
fn a_full_filesystem_fails_an_upload_there_naming_the_volume() {
    let (server, backend, volume) = served("H1M");
    server.inject(FaultPlan::new().disk_full_at(64 * 1024));
    let mut stream = backend
        .open(
            StreamFlags::empty(),
            &Transfer::upload(volume.clone(), false),
        )
        .expect("upload");
    let chunk = vec![7u8; 32 * 1024];
    let error = (0..64)
        .find_map(|_| stream.send(&chunk).err())
        .or_else(|| stream.finish().err())
        .expect("the upload fails");
    let code = error.libvirt_code().expect("libvirt's error");
    assert_eq!((code.code, code.domain), (38, 38), "{error}");
    assert_eq!(
        error.message(),
        format!(
            "Unable to write {}: No space left on device",
            volume_path(&volume)
        )
    );
    let layout = server.sim().volume_layout(&volume).unwrap();
    assert_eq!(
        layout.to_string(),
        Layout::parse("D64K H960K").unwrap().to_string()
    );
}

#[test]
fn a_plan_for_a_downloads_full_filesystem_or_client_calls_is_refused_naming_the_rule() {
    let (server, backend, volume) = served("D1M");
    server.inject(FaultPlan::new().disk_full_at(10));
    let error = backend
        .open(
            StreamFlags::empty(),
            &Transfer::download(volume.clone(), false),
        )
        .map(drop)
        .unwrap_err();
    assert!(error.message().contains("this stream downloads"), "{error}");
    server.inject(FaultPlan::new().short_at(1, 10));
    let error = backend
        .open(StreamFlags::empty(), &Transfer::download(volume, false))
        .map(drop)
        .unwrap_err();
    assert!(
        error.message().contains("counts the client's calls"),
        "{error}"
    );
}

/// `virtstream serve --volume v=D2M --faults FILE`, and the URI it printed.
fn serve_with_faults(plan: &str) -> (Child, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.faults");
    std::fs::write(&file, plan).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_virtstream"))
        .args(["serve", "--volume", "v=D2M", "--faults"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("virtstream serve");
    let mut uri = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut uri)
        .expect("the URI");
    (child, uri.trim().to_string(), dir)
}

fn stop(mut child: Child) {
    // Our own child, by its pid: SIGTERM, as a user's Ctrl-C or kill would.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "serve ends cleanly on SIGTERM: {status}");
}

#[test]
fn virsh_meets_a_fault_plan_file_as_it_would_a_failing_libvirtd() {
    let (child, uri, dir) = serve_with_faults(
        "# every stream fails at 1 MiB\nerror at=1M code=38 domain=38 message=\"cannot read from stream: Input/output error\"\n",
    );
    let out = dir.path().join("out.raw");
    let output = within_seconds(
        Command::new("virsh")
            .args(["-c", &uri, "vol-download", "v"])
            .arg(&out)
            .args(["--pool", "default"]),
        30,
    );
    stop(child);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read from stream: Input/output error"),
        "virsh prints the injected error: {stderr}"
    );
}

#[test]
fn a_stalled_virsh_download_waits_while_the_server_answers_others() {
    let (child, uri, dir) = serve_with_faults("stall at=1M\n");
    let out = dir.path().join("out.raw");
    let mut download = Command::new("virsh")
        .args(["-c", &uri, "vol-download", "v"])
        .arg(&out)
        .args(["--pool", "default"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let still_waiting = download.try_wait().unwrap().is_none();
    let list = within_seconds(
        Command::new("virsh").args(["-c", &uri, "vol-list", "default"]),
        30,
    );
    let _ = download.kill();
    let _ = download.wait();
    stop(child);
    assert!(
        still_waiting,
        "virsh is still waiting for the stalled transfer after 2 s"
    );
    assert!(
        String::from_utf8_lossy(&list.stdout).contains(" v "),
        "{list:?}"
    );
    let got = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    assert!(got <= MIB, "nothing past the stall was written: {got}");
}

#[test]
fn a_fault_plan_file_that_cannot_be_followed_is_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    for (plan, rule) in [
        (
            "die at=1M\nexplode at=2M\n",
            "line 2: unknown fault `explode`",
        ),
        ("would-block call=2\n", "counts the client's calls"),
    ] {
        let file = dir.path().join("plan.faults");
        std::fs::write(&file, plan).unwrap();
        let output = within_seconds(
            Command::new(env!("CARGO_BIN_EXE_virtstream"))
                .args(["serve", "--faults"])
                .arg(&file),
            10,
        );
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(rule) && stderr.contains("--faults"),
            "{plan}: {stderr}"
        );
    }
}
