//! `virtstream conformance`: every contract rule and every recorded scenario group on the
//! simulator's two profiles, the real test driver and a real storage daemon, as one table, plus
//! report.md and report.json.

use std::process::ExitCode;

use std::path::Path;

use stream_conformance::differential::{check_nonblock, check_steps};
use stream_conformance::faults::{Killable, MakeKillable, SimKillable, check_deaths, fault_rows};
use stream_conformance::{Backend, Columns, Outcome, Report, all_rules, run_scenarios, run_suite};
use stream_libvirt::LibvirtBackend;
use stream_sim::{Profile, SimBackend, SimConfig, WouldBlock};
use virtstream::killable::DaemonKillable;

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

/// The differential properties, when both the simulator's remote profile and the daemon run:
/// one row each, reported in those two columns.
fn differential_rows(backends: &[String], cases: u32) -> Vec<(String, String, Vec<Outcome>)> {
    let selected = |name: BackendName| backends.iter().any(|shown| shown == label(name));
    let compared =
        |name: &str| name == label(BackendName::Daemon) || name == label(BackendName::SimRemote);
    if !(selected(BackendName::Daemon) && selected(BackendName::SimRemote)) {
        return Vec::new();
    }
    // A connection of its own: the rules' connection has been through every misuse by now.
    let daemon = match open(BackendName::Daemon) {
        Ok(daemon) => daemon,
        Err(why) => {
            let outcome = |name: &str| {
                if compared(name) {
                    Outcome::Fail(why.clone())
                } else {
                    Outcome::Skipped(why.clone())
                }
            };
            let row = |id: &str| {
                (
                    id.to_string(),
                    "prop".to_string(),
                    backends.iter().map(|n| outcome(n)).collect(),
                )
            };
            return vec![row("differential/steps"), row("differential/nonblock")];
        }
    };
    let sim = || SimBackend::new(Profile::Remote);
    let nonblock_sim = || {
        SimBackend::with_config(SimConfig::new(Profile::Remote).would_block(WouldBlock::Times(1)))
    };
    let checks = [
        (
            format!("differential/steps ({cases} cases)"),
            check_steps(daemon.as_ref(), sim, cases, 4096),
        ),
        (
            format!("differential/nonblock ({cases} cases)"),
            check_nonblock(daemon.as_ref(), nonblock_sim, cases, 4096),
        ),
    ];
    checks
        .into_iter()
        .map(|(id, result)| {
            let outcomes = backends
                .iter()
                .map(|name| match (&result, compared(name)) {
                    (_, false) => Outcome::Skipped("compares sim-remote with the daemon".into()),
                    (Ok(()), true) => Outcome::Pass,
                    (Err(why), true) => Outcome::Fail(why.clone()),
                })
                .collect();
            (id, "prop".to_string(), outcomes)
        })
        .collect()
}

/// Random transfers whose daemon is killed part-way, per run: each starts a daemon.
const DEATH_CASES: u32 = 24;

fn make_sim() -> Result<Box<dyn Killable>, String> {
    Ok(Box::new(SimKillable::new()))
}

/// The faults group: the fault rules on every backend with a daemon to kill (a fresh one per
/// rule), then the death differential in the sim-remote and daemon columns.
fn faults_rows(backends: &[String]) -> Vec<(String, String, Vec<Outcome>)> {
    let killable = |name: &str| -> Result<MakeKillable<'static>, String> {
        if name == label(BackendName::SimRemote) {
            Ok(&make_sim)
        } else if name == label(BackendName::Daemon) {
            Ok(&DaemonKillable::make)
        } else {
            Err("in-process driver: there is no daemon to kill".into())
        }
    };
    let targets: Vec<_> = backends.iter().map(|name| killable(name)).collect();
    let mut rows = fault_rows(&targets);
    let both = targets.iter().filter(|target| target.is_ok()).count() == 2;
    let verdict = if both {
        match check_deaths(&DaemonKillable::make, DEATH_CASES) {
            Ok(()) => Outcome::Pass,
            Err(why) => Outcome::Fail(why),
        }
    } else {
        Outcome::Skipped("needs both sim-remote and daemon".into())
    };
    let outcomes = targets
        .iter()
        .map(|target| match target {
            Ok(_) => verdict.clone(),
            Err(why) => Outcome::Skipped(why.clone()),
        })
        .collect();
    rows.push((
        format!("faults/differential ({DEATH_CASES} deaths)"),
        "F".to_string(),
        outcomes,
    ));
    rows
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
    // Each column is opened again after a row fails on it: one broken connection, one failure.
    let mut columns = Columns::new();
    for name in names {
        if let Err(why) = columns.push_reopening(label(name), Box::new(move || open(name))) {
            eprintln!("virtstream conformance: cannot open {}: {why}", label(name));
            return ExitCode::FAILURE;
        }
    }
    let mut report = run_suite(&all_rules(), &mut columns);
    let scenarios = args
        .scenarios
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/scenarios"));
    report.rows.extend(run_scenarios(&scenarios, &mut columns));
    let names = columns.names();
    report.rows.extend(differential_rows(&names, args.cases));
    report.rows.extend(faults_rows(&names));
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
