//! `stream-rpc-proxy` end to end: a call and its reply pass through unchanged and are recorded,
//! and a malformed frame is recorded as a comment and ends the connection.

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use stream_rpc::record::parse_recording;
use stream_rpc::{Frame, FrameReader, Header, MessageType, REMOTE_PROGRAM, Status};

/// Kills the proxy when the test ends, however it ends.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn frame(kind: MessageType, payload: Vec<u8>) -> Frame {
    let header = Header {
        prog: REMOTE_PROGRAM,
        vers: 1,
        proc_: 66,
        kind,
        serial: 7,
        status: Status::OK,
    };
    Frame { header, payload }
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// A daemon stand-in: answers the first call with a REPLY, then waits for the end.
fn fake_daemon(listener: UnixListener) -> thread::JoinHandle<bool> {
    thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut writer = conn.try_clone().unwrap();
        let mut reader = FrameReader::new(conn);
        let call = reader.next_frame().unwrap().unwrap();
        let reply = Frame {
            header: Header {
                kind: MessageType::REPLY,
                ..call.header
            },
            payload: vec![0, 0, 0, 1],
        };
        writer.write_all(&reply.encode().unwrap()).unwrap();
        matches!(reader.next_frame(), Ok(None))
    })
}

#[test]
fn a_call_and_its_reply_pass_through_and_a_bad_frame_ends_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (upstream, listen, record) = (
        dir.path().join("up"),
        dir.path().join("proxy"),
        dir.path().join("rec"),
    );
    let daemon = fake_daemon(UnixListener::bind(&upstream).unwrap());
    let _proxy = Proxy(
        Command::new(env!("CARGO_BIN_EXE_stream-rpc-proxy"))
            .arg("--listen")
            .arg(&listen)
            .arg("--upstream")
            .arg(&upstream)
            .arg("--record")
            .arg(&record)
            .spawn()
            .unwrap(),
    );
    wait_for(&listen);
    let mut client = UnixStream::connect(&listen).unwrap();
    let call = frame(MessageType::CALL, vec![]);
    client.write_all(&call.encode().unwrap()).unwrap();
    let mut replies = FrameReader::new(client.try_clone().unwrap());
    let reply = replies.next_frame().unwrap().unwrap();
    assert_eq!(reply, frame(MessageType::REPLY, vec![0, 0, 0, 1]));

    client.write_all(&3u32.to_be_bytes()).unwrap();
    assert!(
        daemon.join().unwrap(),
        "the daemon should see the connection end, not a frame"
    );
    assert_eq!(replies.next_frame().unwrap(), None);

    let text = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(
        lines[0],
        "1 c>s prog=REMOTE vers=1 proc=66 type=CALL serial=7 status=OK len=0 data="
    );
    assert_eq!(
        lines[1],
        "1 s>c prog=REMOTE vers=1 proc=66 type=REPLY serial=7 status=OK len=4 data=00000001"
    );
    assert_eq!(
        lines[2],
        "# 1 c>s: packet 3 bytes too small, want at least 28"
    );
    assert_eq!(parse_recording(&text).unwrap().len(), 2);
}
