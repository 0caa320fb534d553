//! `virtstream conformance`: every contract rule and every recorded scenario group on the
//! simulator's two profiles, the real test driver and a real storage daemon, as one table, plus
//! report.md and report.json.

use std::process::ExitCode;

use std::path::Path;

use stream_conformance::{Backend, Report, all_rules, run_scenarios, run_suite};
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

fn write_reports(report: &Report, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("report.md"), report.to_markdown())?;
    std::fs::write(dir.join("report.json"), report.to_json())
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
    let mut report = run_suite(&all_rules(), &named);
    let scenarios = args
        .scenarios
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scenarios"));
    report.rows.extend(run_scenarios(&scenarios, &named));
    print!("{}", report.to_table());
    if let Err(error) = write_reports(&report, &args.report_dir) {
        eprintln!(
            "virtstream conformance: cannot write the report into {}: {error}",
            args.report_dir.display()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "reports: {}/report.md and report.json",
        args.report_dir.display()
    );
    if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
