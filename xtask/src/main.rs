//! The `cargo xtask` command line: parses the subcommand and hands it to the module that does the work.

mod bench;
mod ci;
mod conformance;
mod daemon;
mod fuzz;
mod lint;
mod private_libvirt;
mod setup;
mod soak;
mod test;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::util::Error;

/// Project automation for virtstream.
#[derive(Debug, Parser)]
#[command(bin_name = "cargo xtask", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check for libvirt's build and runtime packages, installing them with apt-get when run as
    /// root; then fetch the other libvirt releases the matrix proves (11.3) into private
    /// prefixes under target/ (apt-get download and dpkg-deb -x: nothing system-wide).
    Setup,
    /// Run every test: nextest (profile `ci`), then doctests. Arguments after `--` go to nextest.
    Test {
        /// Passed to `cargo nextest run`, e.g. a filter expression.
        #[arg(last = true)]
        nextest_args: Vec<String>,
    },
    /// Run the conformance suite in release mode. Arguments after `--` go to the runner.
    Conformance {
        /// Passed to the conformance runner.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Run one benchmark target. Arguments after `--` go to the benchmark.
    Bench {
        target: bench::Target,
        /// Passed to the benchmark, e.g. `--runs 9` (libvirt, cli) or `--save-baseline main` (sim).
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Start, stop or show the private libvirtd that `test` and `conformance` otherwise start themselves.
    Daemon { action: daemon::Action },
    /// Many random transfers through a private libvirtd (aborts and daemon restarts among them),
    /// each checked against its source, in release mode. Arguments after `--` go to `virtstream soak`.
    Soak {
        /// Threads running transfers at once (`virtstream soak --threads`; 1: one at a time).
        #[arg(long)]
        threads: Option<u32>,
        /// Connections the threads share (`virtstream soak --connections`).
        #[arg(long)]
        connections: Option<u32>,
        /// Passed to `virtstream soak`, e.g. `--transfers 100 --seed 7`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The fuzz targets (scenario parser, layout notation, simulator sequences) in release mode with
    /// many cases each; prints cases, failures and time per target. Targets to run go after `--`.
    Fuzz {
        /// Random cases per target (each target also replays its corpus under `fixtures/fuzz/`).
        #[arg(long, default_value_t = fuzz::DEFAULT_CASES)]
        cases: u32,
        /// Targets to run (default: all): scenario_parser, layout_notation, sim_sequences.
        #[arg(last = true)]
        targets: Vec<String>,
    },
    /// Formatting, clippy and rustdoc, each with warnings as errors.
    Lint,
    /// Everything CI checks: `lint`, `test`, then `conformance`.
    Ci,
}

fn main() -> Result<ExitCode, Error> {
    match Cli::parse().command {
        Command::Setup => {
            setup::ensure_libvirt()?;
            private_libvirt::ensure_all()?;
        }
        Command::Test { nextest_args } => test::run(&nextest_args)?,
        // The runner's own exit status is the verdict, so it is passed through unchanged.
        Command::Conformance { args } => return conformance::command(&args)?.exit_code(),
        Command::Bench { target, args } => bench::run(target, &args)?,
        Command::Daemon { action } => daemon::run(action)?,
        Command::Lint => lint::run()?,
        Command::Ci => ci::run()?,
        Command::Fuzz { cases, targets } => fuzz::run(cases, &targets)?,
        // The soak's exit status is its verdict, passed through unchanged.
        Command::Soak {
            threads,
            connections,
            args,
        } => return soak::run(threads, connections, &args),
    }
    Ok(ExitCode::SUCCESS)
}
