//! `stream-rpc-proxy --listen PATH --upstream PATH --record FILE`: forwards libvirt RPC between
//! clients and a daemon's unix socket, appending one line per message (see `stream_rpc::record`).

use std::fs::{self, OpenOptions};
use std::process::ExitCode;

use stream_rpc::proxy::Proxy;

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

/// Runs until killed: the proxy's threads do the work.
fn serve(options: &Options) -> std::io::Result<()> {
    let _ = fs::remove_file(&options.listen);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.record)?;
    let _proxy = Proxy::start(options.listen.as_ref(), options.upstream.as_ref(), log)?;
    loop {
        std::thread::park();
    }
}
