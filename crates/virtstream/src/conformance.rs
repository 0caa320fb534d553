//! `virtstream conformance`: every contract rule and every recorded scenario group on the
//! simulator's two profiles, the real test driver (in-process, and through a daemon) and a real
//! storage daemon, as one table, plus report.md and report.json. The scenarios are the recorded
//! ones built into the binary, so an installed `virtstream` plays them wherever it runs.

use std::process::ExitCode;

use std::path::Path;

use stream_conformance::differential::{check_nonblock, check_steps};
use stream_conformance::faults::{Killable, MakeKillable, SimKillable, check_deaths, fault_rows};
use stream_conformance::scenario::{ScenarioSet, SetError};
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
        // The same daemon serves the test driver on its socket (Q22).
        BackendName::TestDaemon => {
            let uri = stream_libvirt::daemon::shared_uri()
                .and_then(|uri| stream_libvirt::daemon::test_driver_uri(&uri))
                .map_err(|error| format!("test driver through the daemon: {error}"))?;
            Box::new(
                LibvirtBackend::connect(&uri)
                    .map_err(|error| format!("test driver through the daemon {uri}: {error}"))?,
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
        BackendName::TestDaemon => "test-daemon",
    }
}

type Row = (String, String, Vec<Outcome>);

/// The differential properties, when both the simulator's remote profile and the daemon were
/// asked for: one row each, reported in those two columns (skipped when either is unavailable).
fn differential_rows(columns: &Columns<'_>, cases: u32) -> Vec<Row> {
    let names = columns.names();
    let asked = |name: BackendName| names.iter().any(|shown| shown == label(name));
    if !(asked(BackendName::Daemon) && asked(BackendName::SimRemote)) {
        return Vec::new();
    }
    let compared =
        |name: &str| name == label(BackendName::Daemon) || name == label(BackendName::SimRemote);
    let ids = [
        format!("differential/steps ({cases} cases)"),
        format!("differential/nonblock ({cases} cases)"),
    ];
    let verdicts: Vec<Outcome> = if !(columns.is_available(label(BackendName::Daemon))
        && columns.is_available(label(BackendName::SimRemote)))
    {
        let why = "compares sim-remote with the daemon: one of them is unavailable";
        vec![Outcome::Skipped(why.into()); ids.len()]
    } else {
        // A connection of its own: the rules' connection has been through every misuse by now.
        match open(BackendName::Daemon) {
            Err(why) => vec![Outcome::Fail(why); ids.len()],
            Ok(daemon) => {
                let sim = || SimBackend::new(Profile::Remote);
                let nonblock_sim = || {
                    SimBackend::with_config(
                        SimConfig::new(Profile::Remote).would_block(WouldBlock::Times(1)),
                    )
                };
                [
                    check_steps(daemon.as_ref(), sim, cases, 4096),
                    check_nonblock(daemon.as_ref(), nonblock_sim, cases, 4096),
                ]
                .into_iter()
                .map(|result| match result {
                    Ok(()) => Outcome::Pass,
                    Err(why) => Outcome::Fail(why),
                })
                .collect()
            }
        }
    };
    ids.into_iter()
        .zip(verdicts)
        .map(|(id, verdict)| {
            let outcomes = columns.each(|name| {
                if compared(name) {
                    verdict.clone()
                } else {
                    Outcome::Skipped("compares sim-remote with the daemon".into())
                }
            });
            (id, "prop".to_string(), outcomes)
        })
        .collect()
}

/// Random transfers whose daemon is killed part-way, per run: each starts a daemon.
const DEATH_CASES: u32 = 24;

fn make_sim() -> Result<Box<dyn Killable>, String> {
    Ok(Box::new(SimKillable::new()))
}

/// The killable backends of a column: the simulator's connection, or a private libvirtd.
fn killable(name: &str) -> Result<MakeKillable<'static>, String> {
    if name == label(BackendName::SimRemote) {
        Ok(&make_sim)
    } else if name == label(BackendName::Daemon) {
        Ok(&DaemonKillable::make)
    } else if name == label(BackendName::TestDaemon) {
        // Its daemon is the daemon column's, shared by every column: not one to kill.
        Err("the fault rules kill a daemon of their own: the daemon column's".into())
    } else {
        Err("in-process driver: there is no daemon to kill".into())
    }
}

/// The faults group: the fault rules on every backend with a daemon to kill (a fresh one per
/// rule), then the death differential in the sim-remote and daemon columns.
fn faults_rows(columns: &Columns<'_>) -> Vec<Row> {
    let mut rows = fault_rows(columns, killable);
    let both = [BackendName::SimRemote, BackendName::Daemon]
        .into_iter()
        .all(|name| columns.is_available(label(name)));
    let verdict = if both {
        match check_deaths(&DaemonKillable::make, DEATH_CASES) {
            Ok(()) => Outcome::Pass,
            Err(why) => Outcome::Fail(why),
        }
    } else {
        Outcome::Skipped("needs both sim-remote and daemon".into())
    };
    let outcomes = columns.each(|name| match killable(name) {
        Ok(_) => verdict.clone(),
        Err(why) => Outcome::Skipped(why),
    });
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

/// The exit status of a run in which nothing failed but some backend could not be opened: not
/// clap's 2 (a usage error), so a script can tell "incomplete" from "mistyped".
const INCOMPLETE: u8 = 3;

/// The scenarios to play: those built into the binary, or, with `--scenarios DIR`, DIR's
/// instead. A set that is missing, empty or partly unreadable is an error.
fn scenario_set(args: &ConformanceArgs) -> Result<ScenarioSet, String> {
    let Some(dir) = &args.scenarios else {
        return ScenarioSet::recorded().map_err(|error| format!("built-in scenarios: {error}"));
    };
    ScenarioSet::from_dir(dir).map_err(|error| match error {
        SetError::Files { .. } | SetError::Listing { .. } => format!("--scenarios {error}"),
        SetError::NoSuchDir(_) | SetError::NotADir(_) | SetError::Empty(_) => format!(
            "--scenarios {error} (give a directory holding *.scn files, or leave --scenarios \
             out to play the recorded scenarios built into virtstream)"
        ),
    })
}

/// The whole matrix; exits 0 when every cell that ran passed, 1 when one failed (or the run
/// could not start or write its report), [`INCOMPLETE`] when nothing failed but a backend could
/// not be opened (its column is `n/a`, with the reason).
pub fn run(args: &ConformanceArgs) -> ExitCode {
    let scenarios = match scenario_set(args) {
        Ok(set) => set,
        Err(why) => {
            eprintln!("virtstream conformance: {why}");
            return ExitCode::FAILURE;
        }
    };
    let names = if args.backends.is_empty() {
        vec![
            BackendName::SimRemote,
            BackendName::SimLocal,
            BackendName::Test,
            BackendName::Daemon,
            BackendName::TestDaemon,
        ]
    } else {
        args.backends.clone()
    };
    // Each column is opened again after a row fails on it: one broken connection, one failure.
    // A column that cannot be opened at all stays in the table, n/a, its reason shown after it.
    let mut columns = Columns::new();
    for name in names {
        let _ = columns.push_reopening(label(name), Box::new(move || open(name)));
    }
    println!("scenarios: {}", scenarios.describe());
    let mut report = run_suite(&all_rules(), &mut columns);
    report.rows.extend(run_scenarios(&scenarios, &mut columns));
    report.rows.extend(differential_rows(&columns, args.cases));
    report.rows.extend(faults_rows(&columns));
    print!("{}", report.to_table());
    let written = write_reports(&report, &args.report_dir);
    match &written {
        Ok(()) => println!(
            "\nreports: {}/report.md and report.json",
            args.report_dir.display()
        ),
        Err(error) => eprintln!(
            "virtstream conformance: cannot write the report into {}: {error}",
            args.report_dir.display()
        ),
    }
    println!("{}", report.summary());
    if written.is_err() || report.failed() {
        ExitCode::FAILURE
    } else if report.incomplete() {
        ExitCode::from(INCOMPLETE)
    } else {
        ExitCode::SUCCESS
    }
}
