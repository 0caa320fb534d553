//! Uploads onto a pool whose filesystem fills up (a 4 MiB tmpfs in a private daemon's
//! namespace), measured in fixtures/libvirt-9.0/q16-disk-full: the daemon's "No space left on
//! device" is an error at a byte, as the simulator's fault plans inject one, and the send that
//! no longer fits, when it is the last, is lost by raw libvirt without a word.

use stream_core::{Backend, Error, ErrorKind, Layout, Stream, StreamFlags, Transfer, VolumeId};
use stream_libvirt::LibvirtBackend;
use stream_libvirt::daemon::{LocalDaemon, POOL};
use stream_sim::{FaultPlan, InjectedError, Profile, SimBackend};
use virt::sys;

const LIMIT: u64 = 4 << 20;
const CHUNK: usize = 256 << 10;

fn full_pool_daemon() -> LocalDaemon {
    LocalDaemon::start_with_pool_limit(LIMIT)
        .unwrap_or_else(|error| panic!("cannot start a daemon with a 4 MiB pool: {error}"))
}

/// Chunk `index` of the upload: bytes no other chunk has, none of them zero.
fn chunk(index: usize) -> Vec<u8> {
    (0..CHUNK)
        .map(|i| (((i + index * 7) % 251) + 1) as u8)
        .collect()
}

fn empty_volume(backend: &dyn Backend, name: &str) -> VolumeId {
    let volume = VolumeId::new(POOL, name);
    backend
        .create_volume(&volume, &Layout::parse("-").expect("empty layout"))
        .expect("create the volume");
    volume
}

/// How an upload failed: the 1-based index of the send that failed, its error, and what a send,
/// `finish` and `abort` returned after it.
#[derive(Debug)]
struct Failure {
    at: usize,
    error: Error,
    later: Vec<Result<(), Error>>,
}

/// Up to `chunks` sends until one fails, then a send, `finish` and `abort`.
fn upload_until_it_fails(stream: &mut dyn Stream, chunks: usize) -> Option<Failure> {
    for index in 0..chunks {
        if let Err(error) = stream.send(&chunk(index)) {
            let later = vec![
                stream.send(&chunk(0)).map(drop),
                stream.finish(),
                stream.abort(),
            ];
            return Some(Failure {
                at: index + 1,
                error,
                later,
            });
        }
    }
    None
}

#[test]
fn a_full_filesystem_is_an_error_at_its_limit_as_the_simulator_injects_it() {
    let daemon = full_pool_daemon();
    let libvirt = LibvirtBackend::connect(daemon.uri()).expect("connect");
    let volume = empty_volume(&libvirt, "full.raw");
    let mut stream = libvirt
        .open(
            StreamFlags::empty(),
            &Transfer::upload(volume.clone(), false),
        )
        .expect("upload");
    // 64 sends: measured, the error reaches the client 2 to 13 sends after the limit (16).
    let real = upload_until_it_fails(stream.as_mut(), 64)
        .expect("16 MiB onto a 4 MiB filesystem never failed");
    let real_error = real.error.clone();
    assert_eq!(
        (
            real_error.kind(),
            real_error.libvirt_code().map(|c| (c.code, c.domain))
        ),
        (ErrorKind::System, Some((38, 38))),
        "{real_error}"
    );
    assert!(
        real_error.message().starts_with("Unable to write ")
            && real_error.message().ends_with(": No space left on device"),
        "{real_error}"
    );
    let written = std::fs::read(daemon.pool_dir().join(&volume.name)).expect("the volume's file");
    let sent: Vec<u8> = (0..16).flat_map(chunk).collect();
    assert!(
        written == sent,
        "the file is not the first 4 MiB sent ({} bytes)",
        written.len()
    );

    // The simulator, told the same error at the same byte.
    let sim = SimBackend::new(Profile::Remote);
    let sim_volume = empty_volume(&sim, "full.raw");
    let code = real_error.libvirt_code().expect("a libvirt code");
    let injected = InjectedError::new(
        ErrorKind::System,
        code.code,
        code.domain,
        real_error.message(),
    );
    sim.inject(FaultPlan::new().error_at(LIMIT, injected));
    let mut stream = sim
        .open(
            StreamFlags::empty(),
            &Transfer::upload(sim_volume.clone(), false),
        )
        .expect("upload");
    let simulated =
        upload_until_it_fails(stream.as_mut(), 64).expect("the injected error never came");
    assert_eq!(simulated.error, real_error);
    assert_eq!(simulated.later, real.later, "calls after the error");
    // Real libvirt learns of it later than the byte (its writer thread runs behind): timing.
    assert_eq!(
        simulated.at, 17,
        "the simulator fails the first send past the limit"
    );
    assert!(
        real.at >= simulated.at,
        "real libvirt failed send {}, before the limit",
        real.at
    );
    let mut kept = vec![0; sent.len() + CHUNK];
    let read = sim
        .read_volume(&sim_volume, 0, &mut kept)
        .expect("read the volume");
    assert!(
        kept[..read] == sent[..],
        "the simulator kept {read} bytes, not the first 4 MiB"
    );
}

/// Raw: the last send does not fit, `finish` returns 0 and the bytes are gone (libvirt's
/// `virFDStreamCloseInt` overwrites its writer's error, Q16). Through the crate, `finish` says so.
#[test]
fn a_last_send_that_no_longer_fits_is_reported_not_lost() {
    let daemon = full_pool_daemon();
    let backend = LibvirtBackend::connect(daemon.uri()).expect("connect");
    let raw_volume = empty_volume(&backend, "raw.raw");
    let connection = virt::connect::Connect::open(Some(daemon.uri())).expect("connect raw");
    let vol = connection
        .lookup_storage_pool_by_name(POOL)
        .and_then(|pool| pool.lookup_storage_vol_by_name(&raw_volume.name))
        .expect("the raw volume");
    // SAFETY: plain libvirt calls on live objects; the stream is freed at the end.
    let raw_finish = unsafe {
        let stream = sys::virStreamNew(connection.as_ptr(), 0);
        assert_eq!(sys::virStorageVolUpload(vol.as_ptr(), stream, 0, 0, 0), 0);
        for index in 0..17 {
            let data = chunk(index);
            let sent = sys::virStreamSend(stream, data.as_ptr().cast(), data.len());
            assert_eq!(sent, CHUNK as i32, "raw send {}", index + 1);
        }
        let finished = sys::virStreamFinish(stream);
        sys::virStreamFree(stream);
        finished
    };
    let raw_size = std::fs::metadata(daemon.pool_dir().join(&raw_volume.name))
        .expect("the raw volume's file")
        .len();
    assert_eq!(
        (raw_finish, raw_size),
        (0, LIMIT),
        "raw libvirt 9.0 reports success and keeps 4 MiB of 4.25"
    );
    backend.delete_volume(&raw_volume).expect("free the space");

    let volume = empty_volume(&backend, "guarded.raw");
    let mut stream = backend
        .open(StreamFlags::empty(), &Transfer::upload(volume, false))
        .expect("upload");
    for index in 0..17 {
        stream.send(&chunk(index)).expect("send");
    }
    let error = stream.finish().expect_err("finish must not report success");
    assert_eq!(error.kind(), ErrorKind::System, "{error}");
    assert!(
        error.message().contains("upload lost 262144 bytes"),
        "{error}"
    );
}

/// `<target>/libvirt-11.3` beside this build; missing, the test fails saying what to run.
fn prefix_11_3() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    stream_libvirt::daemon::unpacked_beside_test(&exe, "11.3").unwrap_or_else(|why| panic!("{why}"))
}

/// libvirt 11.3's daemon aborts ("double free or corruption") when an upload's write fails for
/// a full filesystem, where 9.0 reports the error (fixtures/libvirt-11.3/FINDINGS.md): the
/// client sees the connection die, never a hang, and the simulator's 11.3 profile turns the same
/// injected error into the same death.
#[test]
fn an_11_3_daemon_aborts_when_an_upload_fills_its_filesystem() {
    use stream_libvirt::daemon::Installation;
    use stream_sim::{Release, SimConfig};

    let installation = Installation::at(prefix_11_3());
    let daemon = LocalDaemon::start_of_with_pool_limit(installation, LIMIT)
        .unwrap_or_else(|error| panic!("cannot start an 11.3 daemon with a 4 MiB pool: {error}"));
    let pid = daemon.pid();
    let libvirt = LibvirtBackend::connect(daemon.uri()).expect("connect");
    let volume = empty_volume(&libvirt, "full.raw");
    let mut stream = libvirt
        .open(StreamFlags::empty(), &Transfer::upload(volume, false))
        .expect("upload");
    let real = upload_until_it_fails(stream.as_mut(), 64)
        .expect("16 MiB onto a 4 MiB filesystem never failed");
    // Which dead-connection error comes first depends on when the client notices the abort
    // (a reset socket, or the event loop's "stream is closed"): timing, as after a kill (Q11).
    let connection_died = |error: &Error| {
        matches!(error.kind(), ErrorKind::Disconnected | ErrorKind::Closed)
            && error.libvirt_code().map(|code| code.domain) == Some(7)
    };
    assert!(connection_died(&real.error), "{}", real.error);
    assert!(
        real.at >= 17,
        "failed at send {}, before the limit",
        real.at
    );
    for later in &real.later {
        let error = later
            .as_ref()
            .expect_err("a call on a dead daemon succeeded");
        assert!(connection_died(error), "{error}");
    }
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, s)| s.starts_with('Z'))
        })
    };
    let waited = std::time::Instant::now();
    while !gone() && waited.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(gone(), "libvirtd {pid} is still running");
    let stderr = std::fs::read_to_string(daemon.dir().join("stderr.log")).unwrap_or_default();
    assert!(stderr.contains("double free or corruption"), "{stderr}");

    let sim = SimBackend::with_config(SimConfig::new(Profile::Remote).release(Release::V11_3));
    let sim_volume = empty_volume(&sim, "full.raw");
    let full = InjectedError::new(
        ErrorKind::System,
        38,
        38,
        "Unable to write full.raw: No space left on device",
    );
    sim.inject(FaultPlan::new().error_at(LIMIT, full));
    let mut stream = sim
        .open(StreamFlags::empty(), &Transfer::upload(sim_volume, false))
        .expect("upload");
    let simulated =
        upload_until_it_fails(stream.as_mut(), 64).expect("the injected error never came");
    assert!(connection_died(&simulated.error), "{}", simulated.error);
    for later in &simulated.later {
        assert!(later.as_ref().is_err_and(connection_died), "{later:?}");
    }
    assert_eq!(simulated.at, 17);
    assert!(!sim.is_alive());
}
