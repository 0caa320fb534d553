//! The recordings of real libvirtd 9.0 traffic: every line parses, every kept payload is a frame
//! that round-trips, replies and stream messages answer an earlier call, and the procedures
//! called are exactly those listed in `fixtures/rpc/README.md`.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use stream_rpc::record::{Direction, Record, keeps_data, parse_recording};
use stream_rpc::{Frame, KEEPALIVE_PROGRAM, MessageType, REMOTE_PROGRAM, decode_frame};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/rpc")
}

fn recordings() -> Vec<(String, Vec<Record>)> {
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
    ] {
        assert!(names.contains(&format!("{run}.rec")), "{run}.rec missing");
    }
}

#[test]
fn every_kept_payload_is_a_frame_that_round_trips() {
    for (name, records) in recordings() {
        for r in &records {
            assert!(
                matches!(r.header.prog, REMOTE_PROGRAM | KEEPALIVE_PROGRAM),
                "{name}: {r}"
            );
            assert_eq!(r.header.vers, 1, "{name}: {r}");
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
                        matches!(call, Some(208 | 209)),
                        "{name}: stream without call: {r}"
                    );
                    assert_eq!(call, Some(&h.proc_), "{name}: {r}");
                }
                _ => {}
            }
        }
    }
}

#[test]
fn the_readme_lists_exactly_the_procedures_called() {
    let seen: BTreeSet<u32> = recordings()
        .iter()
        .flat_map(|(_, records)| records)
        .filter(|r| r.header.prog == REMOTE_PROGRAM && r.header.kind == MessageType::CALL)
        .map(|r| r.header.proc_)
        .collect();
    let readme = fs::read_to_string(fixtures().join("README.md")).unwrap();
    let listed: BTreeSet<u32> = readme
        .lines()
        .filter_map(|line| line.strip_prefix("| "))
        .filter_map(|rest| rest.split(" |").next()?.trim().parse().ok())
        .collect();
    assert_eq!(
        listed, seen,
        "fixtures/rpc/README.md's table against the recordings"
    );
}
