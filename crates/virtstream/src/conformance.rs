//! `virtstream conformance`: every contract rule on the simulator's two profiles, the real test
//! driver and a real storage daemon, as one table.

use std::process::ExitCode;

use stream_conformance::{Backend, all_rules, run_suite};
use stream_libvirt::LibvirtBackend;
use stream_sim::{Profile, SimBackend};

use crate::cli::{BackendName, ConformanceArgs};

pub fn open(name: BackendName) -> Result<Box<dyn Backend>, String> {
    Ok(match name {
        BackendName::SimRemote => Box::new(SimBackend::new(Profile::Remote)),
        BackendName::SimLocal => Box::new(SimBackend::new(Profile::Local)),
        BackendName::Test => Box::new(
            LibvirtBackend::test_driver().map_err(|error| format!("test driver: {error}"))?,
        ),
        BackendName::Daemon => {
            let uri = stream_libvirt::daemon::shared_uri()
                .map_err(|error| format!("storage daemon: {error}"))?;
            Box::new(
                LibvirtBackend::connect(&uri)
                    .map_err(|error| format!("storage daemon {uri}: {error}"))?,
            )
        }
    })
}

pub fn label(name: BackendName) -> &'static str {
    match name {
        BackendName::SimRemote => "sim-remote",
        BackendName::SimLocal => "sim-local",
        BackendName::Test => "test",
        BackendName::Daemon => "daemon",
    }
}

pub fn run(args: &ConformanceArgs) -> ExitCode {
    let names = if args.backends.is_empty() {
        vec![
            BackendName::SimRemote,
            BackendName::SimLocal,
            BackendName::Test,
            BackendName::Daemon,
        ]
    } else {
        args.backends.clone()
    };
    let mut backends = Vec::new();
    for name in names {
        match open(name) {
            Ok(backend) => backends.push((label(name), backend)),
            Err(why) => {
                eprintln!("virtstream conformance: cannot open {}: {why}", label(name));
                return ExitCode::FAILURE;
            }
        }
    }
    let named: Vec<(&str, &dyn Backend)> = backends
        .iter()
        .map(|(name, backend)| (*name, backend.as_ref()))
        .collect();
    let report = run_suite(&all_rules(), &named);
    print!("{}", report.to_table());
    if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
