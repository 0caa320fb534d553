//! `stream-rpc-proxy --listen PATH --upstream PATH --record FILE`: forwards libvirt RPC between
//! clients and a daemon's unix socket, appending one line per message (see `stream_rpc::record`).

use std::fs::{self, File, OpenOptions};
use std::io::{Write, stderr};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread;

use stream_rpc::FrameReader;
use stream_rpc::record::{Direction, Record};

const USAGE: &str = "usage: stream-rpc-proxy --listen PATH --upstream PATH --record FILE\n\
    \x20 --listen PATH    unix socket to create for clients (removed first if it exists)\n\
    \x20 --upstream PATH  libvirtd's unix socket\n\
    \x20 --record FILE    recording to append to, one line per message";

struct Options {
    listen: String,
    upstream: String,
    record: String,
}

fn parse(mut args: impl Iterator<Item = String>) -> Option<Options> {
    let (mut listen, mut upstream, mut record) = (None, None, None);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--listen" => &mut listen,
            "--upstream" => &mut upstream,
            "--record" => &mut record,
            _ => return None,
        };
        *slot = Some(args.next()?);
    }
    Some(Options {
        listen: listen?,
        upstream: upstream?,
        record: record?,
    })
}

fn main() -> ExitCode {
    let Some(options) = parse(std::env::args().skip(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match serve(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stream-rpc-proxy: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(options: &Options) -> std::io::Result<()> {
    let _ = fs::remove_file(&options.listen);
    let listener = UnixListener::bind(&options.listen)?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.record)?;
    let log = Arc::new(Mutex::new(log));
    for (conn, client) in (1..).zip(listener.incoming()) {
        let client = client?;
        let upstream = UnixStream::connect(&options.upstream)?;
        let log = Arc::clone(&log);
        thread::spawn(move || relay_connection(conn, client, upstream, &log));
    }
    Ok(())
}

/// Runs both directions of one connection until each side has closed.
fn relay_connection(conn: u32, client: UnixStream, upstream: UnixStream, log: &Mutex<File>) {
    let pair = client
        .try_clone()
        .and_then(|c| Ok((c, upstream.try_clone()?)));
    let Ok((client2, upstream2)) = pair else {
        return;
    };
    thread::scope(|scope| {
        scope.spawn(|| relay(conn, Direction::ToServer, client, upstream2, log));
        relay(conn, Direction::ToClient, upstream, client2, log);
    });
}

/// Forwards frames from `from` to `to`, recording each; on the end or a bad frame, closes `to`'s
/// write side so the peer sees the same end.
fn relay(conn: u32, dir: Direction, from: UnixStream, mut to: UnixStream, log: &Mutex<File>) {
    let mut reader = FrameReader::new(from);
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                write_line(log, &format!("# {conn} {}: {e}", dir.token()));
                break;
            }
        };
        write_line(log, &Record::of_frame(conn, dir, &frame).to_string());
        let sent = frame
            .encode()
            .map_err(std::io::Error::other)
            .and_then(|b| to.write_all(&b));
        if sent.is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

fn write_line(log: &Mutex<File>, line: &str) {
    let mut file = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if writeln!(file, "{line}").is_err() {
        let _ = writeln!(stderr(), "stream-rpc-proxy: cannot write the recording");
    }
}
