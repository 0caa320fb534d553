//! Bad input to every virtstream function and subcommand argument that takes a length, an
//! offset, a URI or a path: a clear error naming the rule, no panic, nothing left behind.
//!
//! Covered, one line per function:
//! - `upload_from_file(stream, file, sparse)`: a stream accepting 0 or more bytes than offered
//! - `download_to_file(stream, file, sparse)`: a stream reporting more bytes than its buffer,
//!   holes past i64::MAX
//! - `Copied::total()`: data + holes past u64::MAX
//! - `StreamReader::read` / `StreamWriter::write`: counts past the buffer (`read_to_end`,
//!   `write_all` would panic on them)
//! - `virtstream upload --uri --pool --vol FILE --offset --length`: empty / scheme-less URI, bad
//!   `sim://` query and layout, empty path, a directory, a non-regular file, offset + length past
//!   i64::MAX, u64 overflow, a negative number
//! - `virtstream download ... FILE --offset`: empty path, a directory, a missing directory, an
//!   offset past i64::MAX; no temporary file left behind

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};

use stream_core::{
    EventCallback, EventSet, Recv, RecvFlags, Result, Sent, Stream, StreamFlags, StreamState,
};
use virtstream::{Copied, StreamReader, StreamWriter, download_to_file, upload_from_file};

/// A stream that breaks the `Stream` contract in one chosen way.
#[derive(Debug)]
struct Broken {
    sent: fn(usize) -> Sent,
    received: fn(usize) -> Recv,
    hole: i64,
}

impl Stream for Broken {
    fn send(&mut self, data: &[u8]) -> Result<Sent> {
        Ok((self.sent)(data.len()))
    }
    fn recv(&mut self, buf: &mut [u8], _: RecvFlags) -> Result<Recv> {
        Ok((self.received)(buf.len()))
    }
    fn send_hole(&mut self, _: i64, _: u32) -> Result<()> {
        Ok(())
    }
    fn recv_hole(&mut self, _: u32) -> Result<i64> {
        Ok(self.hole)
    }
    fn add_callback(&mut self, _: EventSet, _: EventCallback) -> Result<()> {
        Ok(())
    }
    fn update_callback(&mut self, _: EventSet) -> Result<()> {
        Ok(())
    }
    fn remove_callback(&mut self) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    fn abort(&mut self) -> Result<()> {
        Ok(())
    }
    fn state(&self) -> StreamState {
        StreamState::New
    }
    fn flags(&self) -> StreamFlags {
        StreamFlags::empty()
    }
}

fn broken(sent: fn(usize) -> Sent, received: fn(usize) -> Recv, hole: i64) -> Broken {
    Broken {
        sent,
        received,
        hole,
    }
}

#[test]
fn streams_breaking_their_counts_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, b"0123456789").unwrap();
    let file = File::open(&path).unwrap();
    for (sent, rule) in [
        (
            (|len| Sent::Bytes(len + 1)) as fn(usize) -> Sent,
            "send accepted 11 of 10 bytes",
        ),
        (|_| Sent::Bytes(0), "send accepted 0 of 10 bytes"),
    ] {
        let mut stream = broken(sent, |_| Recv::Eof, 0);
        let error = upload_from_file(&mut stream, &file, false, |_| Ok(())).unwrap_err();
        assert!(error.message().contains(rule), "{error}");
    }

    let out = File::create(dir.path().join("out")).unwrap();
    let mut too_much = broken(|_| Sent::WouldBlock, |len| Recv::Data(len + 1), 0);
    let error = download_to_file(&mut too_much, &out, false, |_| Ok(())).unwrap_err();
    assert!(
        error
            .message()
            .contains("a stream cannot fill more than its buffer"),
        "{error}"
    );

    let mut huge_holes = broken(|_| Sent::WouldBlock, |_| Recv::Hole, i64::MAX);
    let error = download_to_file(&mut huge_holes, &out, true, |_| Ok(())).unwrap_err();
    assert!(
        error
            .message()
            .contains("download offset must stay at most i64::MAX"),
        "{error}"
    );
    assert_eq!(out.metadata().unwrap().len(), 0, "nothing written");

    let copied = Copied {
        data: u64::MAX,
        holes: 1,
    };
    assert_eq!(copied.total(), u64::MAX);
}

#[test]
fn io_adapters_refuse_counts_past_the_buffer() {
    let reader = broken(|_| Sent::WouldBlock, |len| Recv::Data(len + 1), 0);
    let mut all = Vec::new();
    let error = StreamReader::new(reader).read_to_end(&mut all).unwrap_err();
    assert!(
        error.to_string().contains("bytes for a buffer of"),
        "{error}"
    );

    let writer = broken(|len| Sent::Bytes(len * 2), |_| Recv::Eof, 0);
    let error = StreamWriter::new(writer).write_all(b"abc").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("send accepted 6 bytes of 3 offered"),
        "{error}"
    );
}

fn virtstream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_virtstream"))
        .args(args)
        .output()
        .expect("run virtstream")
}

fn fails_with(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected a failure; stderr: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "stderr should mention {needle:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn transfer(verb: &str, uri: &str, file: &str, extra: &[&str]) -> Output {
    let mut args = vec![verb, "--uri", uri, "--pool", "p", "--vol", "v", file];
    args.extend_from_slice(extra);
    virtstream(&args)
}

/// Names in `dir`: a failed download must not leave its temporary file.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn bad_uris_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let file = file.to_str().unwrap();
    fails_with(
        &transfer("upload", "", file, &[]),
        "libvirt URI must not be empty",
    );
    fails_with(
        &transfer("upload", "::nonsense", file, &[]),
        "must start with a driver scheme",
    );
    fails_with(
        &transfer("upload", "sim://?size=4", file, &[]),
        "sim:// takes only ?layout=<notation>, got `size=4`",
    );
    fails_with(
        &transfer("upload", "sim://?layout=D4K+Q1", file, &[]),
        "token 2 `Q1` must start with D (data), H (hole) or Z (zeros)",
    );
    fails_with(
        &transfer("download", "sim://?layout=", file, &[]),
        "empty; write `-`",
    );
}

#[test]
fn bad_paths_are_named_before_anything_moves() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let sub = sub.to_str().unwrap();
    for verb in ["upload", "download"] {
        // clap refuses an empty FILE before virtstream sees it (which would refuse it too).
        fails_with(
            &transfer(verb, "sim://?layout=D4K", "", &[]),
            "a value is required for '<FILE>'",
        );
        fails_with(
            &transfer(verb, "sim://?layout=D4K", sub, &[]),
            &format!("{sub} is a directory: name a file"),
        );
    }
    fails_with(
        &transfer("upload", "sim://?layout=D4K", "/dev/null", &["--sparse"]),
        "/dev/null is not a regular file",
    );
    let missing = dir.path().join("no-such-dir").join("out");
    fails_with(
        &transfer(
            "download",
            "sim://?layout=D4K",
            missing.to_str().unwrap(),
            &[],
        ),
        "no-such-dir does not exist: there is no directory to hold",
    );
    assert_eq!(entries(dir.path()), ["sub"], "nothing created");
}

#[test]
fn bad_ranges_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, vec![1u8; 100]).unwrap();
    let file = file.to_str().unwrap();
    let past = (i64::MAX as u64 + 1).to_string();
    let max = u64::MAX.to_string();
    for extra in [
        ["--offset", past.as_str()],
        ["--offset", max.as_str()],
        ["--length", max.as_str()],
    ] {
        fails_with(
            &transfer("upload", "sim://?layout=D4K", file, &extra),
            "must end at most at 9223372036854775807",
        );
    }
    fails_with(
        &transfer("upload", "sim://?layout=D4K", file, &["--offset=-1"]),
        "invalid value '-1' for '--offset <OFFSET>'",
    );
    fails_with(
        &transfer(
            "upload",
            "sim://?layout=D4K",
            file,
            &["--length", "99999999999999999999"],
        ),
        "invalid value '99999999999999999999' for '--length <LENGTH>'",
    );
    let out = dir.path().join("out");
    fails_with(
        &transfer(
            "download",
            "sim://?layout=D4K",
            out.to_str().unwrap(),
            &["--offset", &max],
        ),
        "must end at most at 9223372036854775807",
    );
    // A range past the end of the volume is fine: the download stops at the end.
    let ok = transfer(
        "download",
        "sim://?layout=D4K",
        out.to_str().unwrap(),
        &["--offset", "8192", "--length", &max],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 0);
    assert_eq!(entries(dir.path()), ["f", "out"], "no temporary file left");
}
