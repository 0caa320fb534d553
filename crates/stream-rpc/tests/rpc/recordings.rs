//! The recordings of real libvirtd 9.0 traffic: every line parses, every kept payload is a frame
//! that round-trips, replies and stream messages answer an earlier call, and the procedures
//! libvirtd answered (not refused as unknown) are exactly those listed in `fixtures/rpc/README.md`.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use stream_rpc::record::{Direction, Record, keeps_data, parse_recording};
use stream_rpc::{Frame, KEEPALIVE_PROGRAM, MessageType, REMOTE_PROGRAM, Status, decode_frame};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/rpc")
}

pub fn recordings() -> Vec<(String, Vec<Record>)> {
    let dir = fixtures().join("libvirt-9.0");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rec"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = fs::read_to_string(&path).unwrap();
            let records = parse_recording(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!records.is_empty(), "{name} is empty");
            (name, records)
        })
        .collect()
}

#[test]
fn every_client_run_of_the_readme_was_recorded() {
    let names: BTreeSet<_> = recordings().into_iter().map(|(name, _)| name).collect();
    for run in [
        "pool-list-all",
        "vol-list-empty",
        "vol-create-as",
        "vol-list",
        "vol-info",
        "vol-upload-sparse",
        "vol-download-sparse",
        "vol-download",
        "vol-upload",
        "vol-upload-offset-length",
        "vol-upload-longer-than-length",
        "vol-download-offset-length",
        "vol-info-missing",
        "vol-delete",
        "python-upload-download",
        "python-abort",
        "keepalive",
        "raw-unknown",
        "test-screenshot",
        "sys-virt-upload-download",
        "virtstream-upload-sparse-create",
        "virtstream-download-sparse",
        "virtstream-upload-sparse-existing",
    ] {
        assert!(names.contains(&format!("{run}.rec")), "{run}.rec missing");
    }
}

#[test]
fn every_kept_payload_is_a_frame_that_round_trips() {
    for (name, records) in recordings() {
        for r in &records {
            // raw-* files are hand-made probes with unknown programs and versions on purpose.
            if !name.starts_with("raw-") {
                let known = matches!(r.header.prog, REMOTE_PROGRAM | KEEPALIVE_PROGRAM);
                assert!(known && r.header.vers == 1, "{name}: {r}");
            }
            assert!(
                r.header.kind.name().is_some() && r.header.status.name().is_some(),
                "{name}: {r}"
            );
            assert_eq!(
                r.data.is_some(),
                keeps_data(&r.header, r.len),
                "{name}: {r}"
            );
            let Some(data) = &r.data else { continue };
            assert_eq!(data.len(), r.len, "{name}: {r}");
            let frame = Frame {
                header: r.header,
                payload: data.clone(),
            };
            let wire = frame.encode().unwrap();
            assert_eq!(
                decode_frame(&wire).unwrap(),
                (frame, wire.len()),
                "{name}: {r}"
            );
        }
    }
}

#[test]
fn replies_and_stream_messages_answer_an_earlier_call() {
    for (name, records) in recordings() {
        let mut calls: HashMap<(u32, u32, u32), u32> = HashMap::new();
        for r in &records {
            let h = &r.header;
            let key = (r.conn, h.prog, h.serial);
            match h.kind {
                MessageType::CALL => {
                    assert_eq!(r.dir, Direction::ToServer, "{name}: {r}");
                    calls.insert(key, h.proc_);
                }
                MessageType::REPLY => {
                    assert_eq!(r.dir, Direction::ToClient, "{name}: {r}");
                    assert_eq!(
                        calls.get(&key),
                        Some(&h.proc_),
                        "{name}: reply without call: {r}"
                    );
                }
                MessageType::STREAM | MessageType::STREAM_HOLE => {
                    let call = calls.get(&key);
                    assert!(
                        matches!(call, Some(208 | 209 | 211)),
                        "{name}: stream without call: {r}"
                    );
                    assert_eq!(call, Some(&h.proc_), "{name}: {r}");
                }
                _ => {}
            }
        }
    }
}

/// A reply whose `remote_error` is code 39 (`VIR_ERR_RPC`) from domain 7 (`VIR_FROM_RPC`): the
/// dispatcher's "unknown procedure" and "cannot find program", not a procedure's own error.
fn refused_by_rpc_layer(r: &Record) -> bool {
    let rpc_error = [0, 0, 0, 39, 0, 0, 0, 7];
    r.header.status == Status::ERROR && r.data.as_ref().is_some_and(|d| d.starts_with(&rpc_error))
}

#[test]
fn unknown_procedures_and_programs_are_refused_by_the_rpc_layer() {
    let (_, records) = recordings()
        .into_iter()
        .find(|(n, _)| n == "raw-unknown.rec")
        .unwrap();
    let replies: Vec<_> = records
        .iter()
        .filter(|r| r.header.kind == MessageType::REPLY)
        .collect();
    let refused: Vec<_> = replies.iter().map(|r| refused_by_rpc_layer(r)).collect();
    assert_eq!(refused, [false, true, true, true]);
    let text = String::from_utf8_lossy(replies[1].data.as_deref().unwrap()).into_owned();
    assert!(text.contains("unknown procedure: 9999"), "{text}");
}

#[test]
fn keepalive_pings_from_the_client_are_answered_by_pongs() {
    let (_, records) = recordings()
        .into_iter()
        .find(|(n, _)| n == "keepalive.rec")
        .unwrap();
    let keepalive: Vec<_> = records
        .iter()
        .filter(|r| r.header.prog == KEEPALIVE_PROGRAM)
        .collect();
    assert!(keepalive.len() >= 2, "no keepalive traffic recorded");
    for pair in keepalive.chunks(2) {
        let shape = |r: &Record| (r.dir, r.header.proc_, r.header.kind, r.len);
        assert_eq!(
            shape(pair[0]),
            (Direction::ToServer, 1, MessageType::MESSAGE, 0),
            "{}",
            pair[0]
        );
        let pong = pair.get(1).map(|r| shape(r));
        assert_eq!(
            pong,
            Some((Direction::ToClient, 2, MessageType::MESSAGE, 0)),
            "{}",
            pair[0]
        );
    }
}

#[test]
fn the_readme_lists_exactly_the_procedures_libvirtd_implements() {
    let seen: BTreeSet<u32> = recordings()
        .iter()
        .flat_map(|(_, records)| records)
        .filter(|r| r.header.prog == REMOTE_PROGRAM && r.header.vers == 1)
        .filter(|r| r.header.kind == MessageType::REPLY && !refused_by_rpc_layer(r))
        .map(|r| r.header.proc_)
        .collect();
    let listed = readme_procedures();
    assert_eq!(
        listed, seen,
        "fixtures/rpc/README.md's table against the recordings"
    );
}

/// The procedure numbers of fixtures/rpc/README.md's table.
pub fn readme_procedures() -> BTreeSet<u32> {
    let readme = fs::read_to_string(fixtures().join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|line| line.strip_prefix("| "))
        .filter_map(|rest| rest.split(" |").next()?.trim().parse().ok())
        .collect()
}
