//! The recording comparison: a recording matches itself and whatever differs only where the
//! module docs allow (serials, identities, the filesystem's numbers, libvirt's races), and
//! nothing else.

use stream_rpc::MessageType;
use stream_rpc::differential::compare;
use stream_rpc::record::{Direction, Record, parse_recording};

fn recording(name: &str) -> Vec<Record> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/rpc/libvirt-9.0")
        .join(format!("{name}.rec"));
    parse_recording(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Every kept payload with `from` (bytes) replaced by `to` of the same length.
fn replace(records: &mut [Record], from: &[u8], to: &[u8]) -> usize {
    let mut replaced = 0;
    for data in records.iter_mut().filter_map(|r| r.data.as_mut()) {
        let mut at = 0;
        while let Some(found) = data[at..].windows(from.len()).position(|w| w == from) {
            data[at + found..at + found + from.len()].copy_from_slice(to);
            at += found + from.len();
            replaced += 1;
        }
    }
    replaced
}

const UUID: &str = "6a74a31922f54d1bb5ff56bbe4ab455e";

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn a_recording_matches_itself_and_not_a_changed_byte() {
    let expected = recording("vol-info");
    assert_eq!(compare(&expected, &expected), Ok(()));
    let mut changed = expected.clone();
    let reply = changed
        .iter_mut()
        .rfind(|r| r.header.proc_ == 98 && r.header.kind == MessageType::REPLY)
        .unwrap();
    *reply.data.as_mut().unwrap().last_mut().unwrap() ^= 1;
    let error = compare(&expected, &changed).unwrap_err();
    assert!(
        error.contains("differs") && error.contains("proc=98"),
        "{error}"
    );
}

#[test]
fn serials_and_a_consistently_renamed_uuid_or_key_do_not_count() {
    let expected = recording("vol-info");
    let mut renamed = expected.clone();
    for record in &mut renamed {
        record.header.serial += 100;
    }
    assert!(replace(&mut renamed, &bytes(UUID), &[7; 16]) > 3);
    // The key /tmp/vs-9bm7TC/pool/sparse1, renamed keeping its length.
    assert!(replace(&mut renamed, b"vs-9bm7TC", b"vs-OTHER0") >= 3);
    assert_eq!(compare(&expected, &renamed), Ok(()));
}

#[test]
fn an_identity_that_changes_within_a_run_counts() {
    let expected = recording("vol-info");
    let mut changed = expected.clone();
    // The last call (STORAGE_VOL_GET_INFO) names the volume by another key than the lookup
    // returned.
    let last_call = changed
        .iter_mut()
        .rfind(|r| r.header.proc_ == 98 && r.dir == Direction::ToServer)
        .unwrap();
    let data = last_call.data.as_mut().unwrap();
    let at = data.windows(9).position(|w| w == b"vs-9bm7TC").unwrap();
    data[at + 3] = b'X';
    assert!(compare(&expected, &changed).is_err());
}

#[test]
fn a_missing_data_message_counts_unless_its_stream_was_aborted() {
    let expected = recording("vol-download");
    let mut shorter = expected.clone();
    let data = shorter
        .iter()
        .position(|r| r.header.kind == MessageType::STREAM && r.len == 24)
        .unwrap();
    shorter.remove(data);
    let error = compare(&expected, &shorter).unwrap_err();
    assert!(error.contains("differs"), "{error}");

    // python-abort: the daemon had queued three more download messages before the abort.
    let expected = recording("python-abort");
    let mut fewer = expected.clone();
    let queued: Vec<usize> = fewer
        .iter()
        .enumerate()
        .filter(|(_, r)| r.header.proc_ == 209 && r.header.kind == MessageType::STREAM && r.len > 0)
        .map(|(at, _)| at)
        .skip(1)
        .collect();
    assert_eq!(queued.len(), 3);
    for at in queued.into_iter().rev() {
        fewer.remove(at);
    }
    assert_eq!(compare(&expected, &fewer), Ok(()));
}

#[test]
fn keepalives_count_as_answered_pings_not_by_number() {
    let expected = recording("keepalive");
    let is_keepalive = |r: &Record| r.header.prog == stream_rpc::KEEPALIVE_PROGRAM;
    let mut fewer = expected.clone();
    let first_pair = fewer.iter().position(is_keepalive).unwrap();
    fewer.drain(first_pair..first_pair + 2);
    assert_eq!(compare(&expected, &fewer), Ok(()));

    let mut unanswered = expected.clone();
    unanswered.retain(|r| !(is_keepalive(r) && r.dir == Direction::ToClient));
    let error = compare(&expected, &unanswered).unwrap_err();
    assert!(error.contains("do not pair"), "{error}");
}

/// `s` as XDR writes a string: length, bytes, zero padding.
fn xdr_string(s: &str) -> Vec<u8> {
    let mut out = (s.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(s.as_bytes());
    out.resize(4 + s.len().div_ceil(4) * 4, 0);
    out
}

/// What libvirt 11.3's daemon says differently from 9.0's, to the same 9.0 clients (the
/// recordings of `virtstream::it wire`): only the format string of "not found" errors
/// (`remote_error.str1`, positional since 9.x: `%1$s`), and the run that kills it.
#[test]
fn libvirtd_11_3_answered_as_9_0_but_for_a_format_string_and_its_abort() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/rpc");
    let (new, old) = (
        xdr_string("Storage volume not found: %1$s"),
        xdr_string("Storage volume not found: %s"),
    );
    let mut reformatted = Vec::new();
    for entry in std::fs::read_dir(fixtures.join("libvirt-9.0")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rec") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let read = |path: &std::path::Path| {
            parse_recording(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let v9 = read(&path);
        let mut v11 = read(&fixtures.join(format!("libvirt-11.3/{name}.rec")));
        if name == "vol-upload-longer-than-length" {
            // 9.0 answers the overflowing data with a STREAM ERROR; 11.3 aborts before it.
            let error =
                |r: &Record| r.header.kind == MessageType::STREAM && r.dir == Direction::ToClient;
            assert!(v9.iter().any(error) && !v11.iter().any(error), "{name}");
            continue;
        }
        for record in &mut v11 {
            let Some(data) = record.data.as_mut() else {
                continue;
            };
            if let Some(at) = data.windows(new.len()).position(|w| w == new.as_slice()) {
                data.splice(at..at + new.len(), old.iter().copied());
                record.len = data.len();
                reformatted.push(name.clone());
            }
        }
        assert_eq!(compare(&v9, &v11), Ok(()), "{name}");
    }
    reformatted.sort();
    reformatted.dedup();
    assert_eq!(
        reformatted,
        ["virtstream-upload-sparse-create", "vol-info-missing"]
    );
}
