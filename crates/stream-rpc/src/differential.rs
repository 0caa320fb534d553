//! Two recordings of the same client run compared message by message: libvirtd's (the expected
//! result, fixtures/rpc) and another server's, or libvirtd's again.
//!
//! What may differ, and nothing else:
//! - **Serials**: not compared (libvirt numbers calls per connection; the order is compared).
//! - **Identities**: a pool's UUID and a volume's key are the server's choice. Each recording's
//!   own values are learnt from the replies that carry them (`STORAGE_POOL_LOOKUP_BY_NAME`,
//!   `CONNECT_LIST_ALL_STORAGE_POOLS`, `STORAGE_VOL_LOOKUP_BY_NAME`, `STORAGE_VOL_CREATE_XML`,
//!   `STORAGE_POOL_LIST_ALL_VOLUMES`) and replaced, wherever they appear (as XDR opaque or
//!   string), by their order of first appearance: `<uuid 1>`, `<key 1>`, …
//! - **The pool's filesystem**: `STORAGE_POOL_GET_INFO`'s capacity, allocation and available
//!   bytes describe the disk under the pool, not the protocol.
//! - **libvirt's races**, where libvirtd itself answers differently from run to run (measured:
//!   replaying the runs against a fresh libvirtd 9.0):
//!   - keepalive `PING`/`PONG` pairs come whenever a timer fires, between any two messages, as
//!     often as the run lasts: they compare as the kinds seen and whether each PING was answered;
//!   - on a stream that ends in an abort or an error (a `STREAM ERROR` from either side), how
//!     many data messages pass before it takes effect depends on timing: a daemon had queued
//!     more before it read the client's abort, a client was still sending when the daemon's
//!     error arrived. Only each side's first data message on such a stream is compared;
//!   - a stream's first message may overtake the REPLY of the call that opened it (1 of 3
//!     replays of `virtstream-download-sparse`): the REPLY compares as if it came first.
//!
//! Everything else (direction, program, version, procedure, type, status, payload bytes (their
//! length for stream data, which is not recorded) and the order) must be the same.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::header::{KEEPALIVE_PROGRAM, MessageType, Status};
use crate::record::{Direction, Record};
use crate::xdr::Decoder;

/// `REMOTE_PROC_*` numbers whose replies carry an identity or a filesystem's numbers.
mod proc {
    pub const POOL_LOOKUP_BY_NAME: u32 = 84;
    pub const POOL_LOOKUP_BY_VOLUME: u32 = 86;
    pub const POOL_GET_INFO: u32 = 87;
    pub const VOL_CREATE_XML: u32 = 93;
    pub const VOL_LOOKUP_BY_NAME: u32 = 95;
    pub const LIST_ALL_POOLS: u32 = 281;
    pub const POOL_LIST_ALL_VOLUMES: u32 = 282;
}

/// `Ok` when `actual` passes the same messages as `expected` up to what may differ; otherwise
/// the first difference, with its place in both recordings.
pub fn compare(expected: &[Record], actual: &[Record]) -> Result<(), String> {
    let (want, got) = (comparable(expected), comparable(actual));
    for (index, pair) in want.iter().zip(&got).enumerate() {
        if pair.0 != pair.1 {
            return Err(format!(
                "message {} differs:\n  libvirtd: {}\n  now:      {}",
                index + 1,
                pair.0,
                pair.1
            ));
        }
    }
    if want.len() != got.len() {
        let (longer, who) = if want.len() > got.len() {
            (&want, "libvirtd sent more")
        } else {
            (&got, "now sends more")
        };
        let extra = &longer[want.len().min(got.len())];
        return Err(format!(
            "{} messages from libvirtd, {} now ({who}); the first extra one: {extra}",
            want.len(),
            got.len()
        ));
    }
    Ok(())
}

/// The recording as the lines that must match: races dropped, identities named, serials gone.
pub fn comparable(records: &[Record]) -> Vec<String> {
    let names = Identities::learn(records);
    let (keepalive, remote): (Vec<&Record>, Vec<&Record>) = without_races(records)
        .into_iter()
        .partition(|record| record.header.prog == KEEPALIVE_PROGRAM);
    let mut lines: Vec<String> = remote.iter().map(|record| names.line(record)).collect();
    if !keepalive.is_empty() {
        lines.push(keepalive_summary(&keepalive, &names));
    }
    lines
}

/// Keepalive messages come whenever a timer fires, between any two others and as often as the
/// run lasts: they compare as the kinds of message seen and whether each PING was answered.
fn keepalive_summary(keepalive: &[&Record], names: &Identities) -> String {
    let mut kinds: Vec<String> = keepalive.iter().map(|record| names.line(record)).collect();
    kinds.sort();
    kinds.dedup();
    let count = |dir: Direction| keepalive.iter().filter(|r| r.dir == dir).count();
    let (pings, pongs) = (count(Direction::ToServer), count(Direction::ToClient));
    // The last PING may meet the connection's end before its PONG.
    let answered = pongs <= pings && pings <= pongs + 1;
    format!(
        "keepalive ({}): {}",
        if answered {
            "each PING answered"
        } else {
            "PINGs and PONGs do not pair"
        },
        kinds.join(" | ")
    )
}

/// The records without the messages libvirt's races add or leave out (see the module docs): on
/// a stream that ends in an abort or an error (a `STREAM ERROR` from either side), only each
/// side's first data message is kept.
fn without_races(records: &[Record]) -> Vec<&Record> {
    let stream_of = |record: &Record| (record.conn, record.header.proc_, record.header.serial);
    let is_stream = |record: &Record, status: Status| {
        record.header.kind == MessageType::STREAM && record.header.status == status
    };
    let ended_badly: Vec<_> = records
        .iter()
        .filter(|record| is_stream(record, Status::ERROR))
        .map(stream_of)
        .collect();
    let mut seen_data = Vec::new();
    replies_first(records)
        .into_iter()
        .filter(|record| {
            if !is_stream(record, Status::CONTINUE) || !ended_badly.contains(&stream_of(record)) {
                return true;
            }
            let key = (stream_of(record), record.dir);
            let first = !seen_data.contains(&key);
            seen_data.push(key);
            first
        })
        .collect()
}

/// The records with each REPLY moved before the stream messages of its call that overtook it.
fn replies_first(records: &[Record]) -> Vec<&Record> {
    let mut ordered: Vec<&Record> = Vec::with_capacity(records.len());
    for record in records {
        let overtaken = if record.header.kind == MessageType::REPLY {
            ordered.iter().position(|earlier| {
                earlier.header.kind == MessageType::STREAM
                    && earlier.dir == record.dir
                    && earlier.conn == record.conn
                    && earlier.header.serial == record.header.serial
                    && earlier.header.proc_ == record.header.proc_
            })
        } else {
            None
        };
        match overtaken {
            Some(at) => ordered.insert(at, record),
            None => ordered.push(record),
        }
    }
    ordered
}

/// A recording's pool UUIDs and volume keys, numbered in order of first appearance.
#[derive(Debug, Default)]
struct Identities {
    /// Encoded value (as it appears in payloads) → its name.
    names: BTreeMap<Vec<u8>, String>,
    uuids: usize,
    keys: usize,
}

impl Identities {
    fn learn(records: &[Record]) -> Identities {
        let mut identities = Identities::default();
        for record in records {
            let reply = record.header.kind == MessageType::REPLY
                && record.header.status == Status::OK
                && record.dir == Direction::ToClient;
            let Some(data) = record.data.as_deref().filter(|_| reply) else {
                continue;
            };
            let mut xdr = Decoder::new(data);
            match record.header.proc_ {
                proc::POOL_LOOKUP_BY_NAME | proc::POOL_LOOKUP_BY_VOLUME => {
                    identities.pool(&mut xdr);
                }
                proc::LIST_ALL_POOLS => {
                    let count = xdr.u32().unwrap_or(0);
                    for _ in 0..count {
                        if identities.pool(&mut xdr).is_none() {
                            break;
                        }
                    }
                }
                proc::VOL_LOOKUP_BY_NAME | proc::VOL_CREATE_XML => {
                    identities.volume(&mut xdr);
                }
                proc::POOL_LIST_ALL_VOLUMES => {
                    let count = xdr.u32().unwrap_or(0);
                    for _ in 0..count {
                        if identities.volume(&mut xdr).is_none() {
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        identities
    }

    /// `remote_nonnull_storage_pool`: a name, then the 16-byte UUID.
    fn pool(&mut self, xdr: &mut Decoder<'_>) -> Option<()> {
        xdr.opaque(u32::MAX).ok()?;
        let uuid = xdr.fixed_opaque(16).ok()?;
        if !self.names.contains_key(uuid) {
            self.uuids += 1;
            self.names
                .insert(uuid.to_vec(), format!("<uuid {}>", self.uuids));
        }
        Some(())
    }

    /// `remote_nonnull_storage_vol`: pool, name and key strings.
    fn volume(&mut self, xdr: &mut Decoder<'_>) -> Option<()> {
        xdr.opaque(u32::MAX).ok()?;
        xdr.opaque(u32::MAX).ok()?;
        let key = xdr.opaque(u32::MAX).ok()?;
        if !self.names.contains_key(key) {
            self.keys += 1;
            self.names
                .insert(key.to_vec(), format!("<key {}>", self.keys));
        }
        Some(())
    }

    /// The record as one comparable line: its recorded form without the serial, the payload
    /// with identities named.
    fn line(&self, record: &Record) -> String {
        let header = &record.header;
        let bare = Record {
            header: crate::Header {
                serial: 0,
                ..*header
            },
            data: None,
            ..record.clone()
        };
        let mut line = bare.to_string().replacen(" serial=0", "", 1);
        if let Some(data) = &record.data {
            // The payload, identities named, says its length: a key of another length must
            // not count twice.
            if let Some(at) = line.rfind(" len=") {
                line.truncate(at);
            }
            let filesystem = header.proc_ == proc::POOL_GET_INFO
                && header.kind == MessageType::REPLY
                && header.status == Status::OK;
            let _ = write!(line, " data={}", self.named(data, filesystem));
        }
        line
    }

    /// The payload in hex, each identity (as an XDR string or opaque) replaced by its name.
    fn named(&self, data: &[u8], filesystem: bool) -> String {
        if filesystem && data.len() == 28 {
            // remote_storage_pool_get_info_ret: state, then capacity, allocation, available.
            return format!("{}<filesystem>", hex(&data[..4]));
        }
        let mut out = String::new();
        let mut at = 0;
        'scan: while at < data.len() {
            for (value, name) in &self.names {
                if let Some(len) = encoded_at(data, at, value) {
                    out.push_str(name);
                    at += len;
                    continue 'scan;
                }
            }
            out.push_str(&hex(&data[at..at + 1]));
            at += 1;
        }
        out
    }
}

/// The length of `value` at `data[at..]` as XDR writes it: a UUID as 16 bare bytes, a key as a
/// length-prefixed, zero-padded string.
fn encoded_at(data: &[u8], at: usize, value: &[u8]) -> Option<usize> {
    let rest = &data[at..];
    if value.len() == 16 && rest.starts_with(value) {
        return Some(16);
    }
    let padded = value.len().div_ceil(4) * 4;
    let prefix = u32::try_from(value.len()).ok()?.to_be_bytes();
    (rest.len() >= 4 + padded
        && rest[..4] == prefix
        && rest[4..4 + value.len()] == *value
        && rest[4 + value.len()..4 + padded].iter().all(|&b| b == 0))
    .then_some(4 + padded)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
