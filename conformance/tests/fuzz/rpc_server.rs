//! Fuzz target `rpc_server`: any bytes a client sends to `virtstream serve` (the message decoder
//! and the server's dispatch, its streams included) get error replies or the connection closed,
//! never a panic or a hang, and never an effect on another connection.
//!
//! A case is one client's whole send: messages taken from the recorded libvirt clients
//! (`fixtures/rpc/libvirt-9.0`, the calls that open, look up, upload and download), mutated
//! (header fields, payload bytes, truncation, a length word past 32 MiB) and mixed with random
//! bytes. The server runs on one end of a socket pair; the client writes everything, closes its
//! side and reads every reply until the server closes. Then a second client on the same
//! simulator must still be served.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use proptest::prelude::*;
use stream_core::{Backend, Layout, VolumeId};
use stream_rpc::record::{Direction, parse_recording};
use stream_rpc::server::serve_connection;
use stream_rpc::{Frame, FrameError, FrameReader, MessageType, Status};
use stream_sim::{Profile, SimBackend};

use super::corpus;

/// Every client message of every recording, as a frame (payloads the recording kept; stream
/// data, which it did not keep, as that many zero bytes).
fn recorded_calls() -> Vec<Frame> {
    let dir = corpus::dir().join("../rpc/libvirt-9.0");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/rpc/libvirt-9.0")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rec"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|path| parse_recording(&std::fs::read_to_string(path).unwrap()).unwrap())
        .filter(|record| record.dir == Direction::ToServer)
        .map(|record| Frame {
            header: record.header,
            payload: record
                .data
                .unwrap_or_else(|| vec![0; record.len.min(1 << 16)]),
        })
        .collect()
}

/// A simulator with volumes the recorded calls name (`sparse1`, `vs1`, …) and a small one.
fn sim() -> SimBackend {
    let sim = SimBackend::new(Profile::Remote);
    for (name, layout) in [
        ("sparse1", "D64K H448K D64K H448K"),
        ("vs1", "D1M"),
        ("v", "D4K"),
    ] {
        let volume = VolumeId::new("default", name);
        sim.create_volume(&volume, &Layout::parse(layout).unwrap())
            .unwrap();
    }
    sim
}

/// One piece of a client's send.
#[derive(Debug, Clone)]
enum Piece {
    /// A recorded message, with its header and payload changed as said.
    Recorded {
        index: usize,
        proc_: Option<u32>,
        kind: Option<u32>,
        status: Option<u32>,
        serial: Option<u32>,
        flips: Vec<(usize, u8)>,
        cut: Option<usize>,
    },
    /// Bytes, whatever they are.
    Raw(Vec<u8>),
    /// A length word past the 32 MiB limit, then a few bytes.
    Oversize(u32),
}

fn piece(calls: usize) -> impl Strategy<Value = Piece> {
    let recorded = (
        0..calls,
        prop::option::weighted(0.2, prop_oneof![0u32..450, any::<u32>()]),
        prop::option::weighted(0.15, 0u32..8),
        prop::option::weighted(0.15, 0u32..4),
        prop::option::weighted(0.2, prop_oneof![0u32..16, any::<u32>()]),
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        prop::option::weighted(0.1, any::<usize>()),
    )
        .prop_map(
            |(index, proc_, kind, status, serial, flips, cut)| Piece::Recorded {
                index,
                proc_,
                kind,
                status,
                serial,
                flips,
                cut,
            },
        );
    prop_oneof![
        8 => recorded,
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Piece::Raw),
        1 => ((32u32 << 20) + 1..u32::MAX).prop_map(Piece::Oversize),
    ]
}

fn bytes_of(piece: &Piece, calls: &[Frame]) -> Vec<u8> {
    match piece {
        Piece::Raw(bytes) => bytes.clone(),
        Piece::Oversize(len) => {
            let mut bytes = len.to_be_bytes().to_vec();
            bytes.extend_from_slice(&[0; 24]);
            bytes
        }
        Piece::Recorded {
            index,
            proc_,
            kind,
            status,
            serial,
            flips,
            cut,
        } => {
            let mut frame = calls[*index].clone();
            let header = &mut frame.header;
            header.proc_ = proc_.unwrap_or(header.proc_);
            header.serial = serial.unwrap_or(header.serial);
            if let Some(kind) = kind {
                header.kind = MessageType(*kind);
            }
            if let Some(status) = status {
                header.status = Status(*status);
            }
            for (at, xor) in flips {
                if !frame.payload.is_empty() {
                    let at = at % frame.payload.len();
                    frame.payload[at] ^= xor;
                }
            }
            let mut bytes = frame.encode().expect("a recorded frame encodes");
            if let Some(cut) = cut {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            bytes
        }
    }
}

/// One client's send against a fresh server; `Err` says what went wrong.
fn check(send: &[u8], sim: &SimBackend) -> Result<(), String> {
    let (client, server_end) = UnixStream::pair().map_err(|e| e.to_string())?;
    let served = {
        let sim = sim.clone();
        std::thread::spawn(move || serve_connection(server_end, sim))
    };
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    // Written from a thread of its own: the server may answer (or stream a download) while the
    // client is still sending, and both sides' buffers are finite.
    let writer = {
        let mut client = client.try_clone().map_err(|e| e.to_string())?;
        let send = send.to_vec();
        std::thread::spawn(move || {
            let _ = client.write_all(&send);
            let _ = client.shutdown(Shutdown::Write);
        })
    };
    let mut replies = FrameReader::new(&client);
    loop {
        match replies.next_frame() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            // The server closed on a bad message while the client's bytes were still unread
            // (the kernel resets such a connection), or cut a download mid-message as it did.
            Err(FrameError::Io(error)) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                break;
            }
            Err(FrameError::Truncated { .. }) => break,
            Err(FrameError::Io(error)) if error.kind() == std::io::ErrorKind::WouldBlock => {
                return Err("the server neither answered nor closed within 10 s".into());
            }
            Err(error) => {
                return Err(format!("the server sent what is not a message: {error}"));
            }
        }
    }
    let _ = writer.join();
    served
        .join()
        .map_err(|_| "the server's connection thread panicked".to_string())?;
    // Another client of the same simulator is served as if nothing happened.
    let (mut other, other_end) = UnixStream::pair().map_err(|e| e.to_string())?;
    let sim = sim.clone();
    let second = std::thread::spawn(move || serve_connection(other_end, sim));
    let auth_list = Frame::remote_call(66, 0, Vec::new());
    other
        .write_all(&auth_list.encode().unwrap())
        .map_err(|e| e.to_string())?;
    other.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut head = [0; 4];
    other
        .read_exact(&mut head)
        .map_err(|e| format!("a second client is not answered: {e}"))?;
    drop(other);
    second
        .join()
        .map_err(|_| "the second connection panicked".to_string())
}

/// Replays each recording's client side whole, then `corpus::cases()` random sends.
pub fn run() {
    let started = std::time::Instant::now();
    let calls = recorded_calls();
    assert!(
        calls.len() > 100,
        "the recordings hold {} client messages",
        calls.len()
    );
    let sim = sim();
    let whole: Vec<u8> = calls.iter().flat_map(|f| f.encode().unwrap()).collect();
    if let Err(why) = check(&whole, &sim) {
        panic!("every recorded client message in a row: {why}");
    }
    let mut runner = corpus::runner();
    let sends = prop::collection::vec(piece(calls.len()), 1..12);
    if let Err(error) = runner.run(&sends, |pieces| {
        let bytes: Vec<u8> = pieces.iter().flat_map(|p| bytes_of(p, &calls)).collect();
        check(&bytes, &sim).map_err(TestCaseError::fail)
    }) {
        panic!("{error}");
    }
    corpus::report("rpc_server", 1, started);
}
