//! `virtstream serve`: `stream_rpc::serve_command` behind the CLI's arguments.

use stream_core::Result;
use stream_rpc::serve_command::{Options, run as serve};

use crate::cli::ServeArgs;

pub fn run(args: &ServeArgs) -> Result<()> {
    serve(&Options {
        name: "virtstream serve".into(),
        socket: args.socket.clone(),
        volumes: args.volumes.clone(),
        faults: args.faults.clone(),
    })
}
