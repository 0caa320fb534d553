//! `virtstream-serve [--socket PATH] [--volume NAME=LAYOUT]… [--faults FILE]`: `virtstream serve`
//! without libvirt linked, so it starts in about a millisecond where `virtstream` first loads
//! libvirt.so and its libraries (for a test fixture that starts one per test).

use std::process::ExitCode;

use stream_rpc::serve_command::{Options, run};

const USAGE: &str = "usage: virtstream-serve [--socket PATH] [--volume NAME=LAYOUT]... [--faults FILE]\n\
    \x20 --socket PATH        the socket to listen on; its directory must be yours and 0700\n\
    \x20                      (default: a new private directory, removed at exit)\n\
    \x20 --volume NAME=LAYOUT a volume of the pool `default` (`disk.raw=D4K+H1M+D10`); repeatable\n\
    \x20 --faults FILE        a fault plan every stream follows (see `virtstream serve --help`)\n\
    Prints the URI to connect to, serves until SIGINT or SIGTERM, removes its socket.";

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        name: "virtstream-serve".into(),
        ..Options::default()
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--socket" => options.socket = Some(value()?.into()),
            "--volume" => options.volumes.push(value()?),
            "--faults" => options.faults = Some(value()?.into()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse(args.into_iter()) {
        Ok(options) => options,
        Err(why) => {
            eprintln!("virtstream-serve: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("virtstream-serve: {error}");
            ExitCode::FAILURE
        }
    }
}
