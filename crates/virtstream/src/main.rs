//! `virtstream`: sparse volume transfers and the conformance matrix from the command line.

mod cli;
mod conformance;
mod daemon;
mod interrupt;
mod release;
mod scenarios;
mod serve;
mod soak;
mod transfer;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let entered = match &cli.libvirt {
        Some(prefix) => release::enter(prefix),
        None => release::check_environment(),
    };
    if let Err(why) = entered {
        eprintln!("virtstream: {why}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        cli::Command::Upload(args) => transfer::upload(&args),
        cli::Command::Download(args) => transfer::download(&args),
        cli::Command::Conformance(args) => return conformance::run(&args),
        cli::Command::Daemon(args) => daemon::run(&args),
        cli::Command::Replay(args) => scenarios::replay(&args),
        cli::Command::Record(args) => scenarios::record(&args),
        cli::Command::Serve(args) => serve::run(&args),
        cli::Command::Soak(args) => return soak::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("virtstream: {error}");
            // An interrupted transfer cleaned up and ends as the signal would have ended it.
            match interrupt::received() {
                Some(signal) => ExitCode::from(interrupt::exit_code(signal) as u8),
                None => ExitCode::FAILURE,
            }
        }
    }
}
