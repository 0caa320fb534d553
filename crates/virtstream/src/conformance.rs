//! `virtstream conformance`: every contract rule and every recorded scenario group on the
//! simulator's two profiles, the real test driver (in-process, and through a daemon) and a real
//! storage daemon, as one table, plus report.md and report.json. The scenarios are the recorded
//! ones built into the binary, so an installed `virtstream` plays them wherever it runs.
//!
//! The real-libvirt columns of another release (`--with-libvirt target/libvirt-11.3`: columns
//! `test-11.3`, `daemon-11.3`) run in a child process, because the client library is chosen
//! when a process starts; the child hands its cells back and they join this table by row id.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::OnceLock;

use stream_conformance::differential::{check_nonblock, check_steps};
use stream_conformance::faults::{Killable, MakeKillable, SimKillable, check_deaths, fault_rows};
use stream_conformance::scenario::{ScenarioSet, SetError};
use stream_conformance::{Backend, Columns, Outcome, Report, all_rules, run_scenarios, run_suite};
use stream_libvirt::LibvirtBackend;
use stream_libvirt::daemon::{
    Installation, URI_ENV, check_daemon_version, check_loaded_library, loaded_library_version,
};
use stream_sim::{Profile, SimBackend, SimConfig, WouldBlock};
use virtstream::killable::DaemonKillable;
use virtstream::served::ServedSim;

use crate::cli::{BackendName, ConformanceArgs};
use crate::release;

pub fn open(name: BackendName) -> Result<Box<dyn Backend>, String> {
    Ok(match name {
        BackendName::SimRemote => Box::new(SimBackend::new(Profile::Remote)),
        BackendName::SimLocal => Box::new(SimBackend::new(Profile::Local)),
        BackendName::Test => {
            check_release()?;
            Box::new(
                LibvirtBackend::test_driver().map_err(|error| format!("test driver: {error}"))?,
            )
        }
        BackendName::Daemon => {
            check_release()?;
            let uri = stream_libvirt::daemon::shared_uri()
                .map_err(|error| format!("storage daemon: {error}"))?;
            if Installation::from_env().prefix().is_some() {
                check_daemon_version(&uri).map_err(|error| format!("storage daemon: {error}"))?;
            }
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
        BackendName::Served => Box::new(ServedSim::start()?),
        BackendName::ServedTest => Box::new(ServedSim::start_test_driver()?),
    })
}

/// In a process using a prefix's libvirt, that the library loaded is the prefix's release.
fn check_release() -> Result<(), String> {
    if Installation::from_env().prefix().is_none() {
        return Ok(());
    }
    check_loaded_library()
        .map(drop)
        .map_err(|error| error.to_string())
}

/// A column's name: real-libvirt columns carry the release when it is not the system's
/// (`daemon-11.3`).
pub fn label(name: BackendName) -> String {
    static SUFFIX: OnceLock<String> = OnceLock::new();
    let suffix = SUFFIX.get_or_init(release::column_suffix);
    match name {
        BackendName::SimRemote => "sim-remote".to_owned(),
        BackendName::SimLocal => "sim-local".to_owned(),
        BackendName::Test => format!("test{suffix}"),
        BackendName::Daemon => format!("daemon{suffix}"),
        BackendName::TestDaemon => format!("test-daemon{suffix}"),
        BackendName::Served => "served".to_owned(),
        BackendName::ServedTest => "served-test".to_owned(),
    }
}

type Row = (String, String, Vec<Outcome>);

/// The columns the simulator is compared with, message by message of the differentials: the
/// real daemon, and the simulator served over libvirt's wire protocol to real libvirt.
const COMPARED: [BackendName; 2] = [BackendName::Daemon, BackendName::Served];

/// One comparison per compared column that is shown: its verdicts, from `check` when the column
/// is available.
fn compared_verdicts(
    columns: &Columns<'_>,
    count: usize,
    check: impl Fn(BackendName) -> Vec<Outcome>,
) -> Vec<(String, Vec<Outcome>)> {
    let names = columns.names();
    COMPARED
        .into_iter()
        .filter(|name| names.iter().any(|shown| *shown == label(*name)))
        .map(|name| {
            let verdicts = if columns.is_available(&label(name)) {
                check(name)
            } else {
                let why = format!(
                    "compares sim-remote with {}: it is unavailable",
                    label(name)
                );
                vec![Outcome::Skipped(why); count]
            };
            (label(name), verdicts)
        })
        .collect()
}

/// Rows of a differential: each compared column gets its own verdict; sim-remote's cell fails if
/// any comparison failed, and passes if one ran and none failed.
fn compared_rows(
    columns: &Columns<'_>,
    ids: Vec<String>,
    section: &str,
    compared: &[(String, Vec<Outcome>)],
) -> Vec<Row> {
    ids.into_iter()
        .enumerate()
        .map(|(at, id)| {
            let outcomes = columns.each(|name| {
                if name == label(BackendName::SimRemote) {
                    combined(compared.iter().map(|(_, verdicts)| &verdicts[at]))
                } else if let Some((_, verdicts)) = compared.iter().find(|(c, _)| c == name) {
                    verdicts[at].clone()
                } else {
                    Outcome::Skipped(
                        "compares sim-remote with the daemon or the served simulator".into(),
                    )
                }
            });
            (id, section.to_string(), outcomes)
        })
        .collect()
}

fn combined<'a>(verdicts: impl Iterator<Item = &'a Outcome>) -> Outcome {
    let verdicts: Vec<&Outcome> = verdicts.collect();
    let failures: Vec<&str> = verdicts
        .iter()
        .filter_map(|verdict| match verdict {
            Outcome::Fail(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    if !failures.is_empty() {
        Outcome::Fail(failures.join("; "))
    } else if verdicts
        .iter()
        .any(|verdict| matches!(verdict, Outcome::Pass))
    {
        Outcome::Pass
    } else {
        Outcome::Skipped(
            "nothing to compare with: the daemon and the served simulator are unavailable".into(),
        )
    }
}

/// The differential properties (a fresh simulator's remote profile against the daemon, and
/// against the served simulator through real libvirt), when such a column was asked for.
fn differential_rows(columns: &Columns<'_>, cases: u32) -> Vec<Row> {
    let ids = vec![
        format!("differential/steps ({cases} cases)"),
        format!("differential/nonblock ({cases} cases)"),
    ];
    let compared = compared_verdicts(columns, ids.len(), |name| {
        // A connection of its own: the rules' connection has been through every misuse by now.
        match open(name) {
            Err(why) => vec![Outcome::Fail(why); 2],
            Ok(real) => {
                let sim = || SimBackend::new(Profile::Remote);
                let nonblock_sim = || {
                    SimBackend::with_config(
                        SimConfig::new(Profile::Remote).would_block(WouldBlock::Times(1)),
                    )
                };
                [
                    check_steps(real.as_ref(), sim, cases, 4096),
                    check_nonblock(real.as_ref(), nonblock_sim, cases, 4096),
                ]
                .into_iter()
                .map(|result| match result {
                    Ok(()) => Outcome::Pass,
                    Err(why) => Outcome::Fail(why),
                })
                .collect()
            }
        }
    });
    if compared.is_empty() {
        return Vec::new();
    }
    compared_rows(columns, ids, "prop", &compared)
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
    } else if name == label(BackendName::Served) {
        Ok(&ServedSim::make)
    } else if name == label(BackendName::TestDaemon) {
        // Its daemon is the daemon column's, shared by every column: not one to kill.
        Err("the fault rules kill a daemon of their own: the daemon column's".into())
    } else if name == label(BackendName::ServedTest) {
        Err("the fault rules kill a served simulator of their own: the served column's".into())
    } else {
        Err("in-process driver: there is no daemon to kill".into())
    }
}

/// The faults group: the fault rules on every backend with a daemon to kill (a fresh one per
/// rule), then the death differential: the simulator against a killed daemon, and against a
/// served simulator cut off from real libvirt.
fn faults_rows(columns: &Columns<'_>) -> Vec<Row> {
    let mut rows = fault_rows(columns, killable);
    let compared = compared_verdicts(columns, 1, |name| {
        let make = match killable(&label(name)) {
            Ok(make) => make,
            Err(why) => return vec![Outcome::Skipped(why)],
        };
        vec![match check_deaths(make, DEATH_CASES) {
            Ok(()) => Outcome::Pass,
            Err(why) => Outcome::Fail(why),
        }]
    });
    let id = format!("faults/differential ({DEATH_CASES} deaths)");
    rows.extend(compared_rows(columns, vec![id], "F", &compared));
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
            BackendName::Served,
            BackendName::ServedTest,
        ]
    } else {
        args.backends.clone()
    };
    // Each column is opened again after a row fails on it: one broken connection, one failure.
    // A column that cannot be opened at all stays in the table, n/a, its reason shown after it.
    let mut columns = Columns::new();
    for name in names {
        let _ = columns.push_reopening(&label(name), Box::new(move || open(name)));
    }
    println!("scenarios: {}", scenarios.describe());
    say_releases(&columns);
    // Started first: the other releases' columns run beside this process's.
    let others: Vec<ReleaseRun> = args
        .with_libvirt
        .iter()
        .map(|prefix| ReleaseRun::start(prefix, args))
        .collect();
    let mut report = run_suite(&all_rules(), &mut columns);
    report.rows.extend(run_scenarios(&scenarios, &mut columns));
    report.rows.extend(differential_rows(&columns, args.cases));
    report.rows.extend(faults_rows(&columns));
    for other in others {
        let columns = other.finish(&report);
        report.add_columns(columns);
    }
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
    let cells_written = match &args.cells_to {
        None => Ok(()),
        Some(path) => std::fs::write(path, report.to_cells()).map_err(|error| {
            eprintln!(
                "virtstream conformance: cannot write the cells to {}: {error}",
                path.display()
            );
        }),
    };
    if written.is_err() || cells_written.is_err() || report.failed() {
        ExitCode::FAILURE
    } else if report.incomplete() {
        ExitCode::from(INCOMPLETE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Which libvirt the real columns of this process use, said before they run.
fn say_releases(columns: &Columns<'_>) {
    let real: Vec<String> = [BackendName::Test, BackendName::Daemon]
        .into_iter()
        .map(label)
        .filter(|name| columns.names().contains(name))
        .collect();
    if real.is_empty() {
        return;
    }
    let library = loaded_library_version().unwrap_or_else(|error| error.to_string());
    println!(
        "libvirt {library} ({}): {}",
        Installation::from_env(),
        real.join(", ")
    );
}

/// The real-libvirt columns of another release: a child `virtstream --libvirt PREFIX
/// conformance --backend test --backend daemon` writing its cells to a file.
struct ReleaseRun {
    /// The child's columns, as they will be named.
    names: Vec<String>,
    dir: PathBuf,
    child: Result<Child, String>,
}

impl ReleaseRun {
    fn start(prefix: &Path, args: &ConformanceArgs) -> ReleaseRun {
        let installation = Installation::at(prefix);
        let release = match installation.expected_version() {
            Ok(Some(version)) => version.split('.').take(2).collect::<Vec<_>>().join("."),
            _ => prefix.file_name().map_or_else(
                || prefix.display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            ),
        };
        let names = vec![format!("test-{release}"), format!("daemon-{release}")];
        let dir = args.report_dir.join(format!("libvirt-{release}"));
        let child = Self::spawn(prefix, args, &dir);
        match &child {
            Ok(_) => println!(
                "{installation}: {} run in a child process; its output: {}",
                names.join(", "),
                dir.join("run.log").display()
            ),
            Err(why) => eprintln!("virtstream conformance: {installation}: {why}"),
        }
        ReleaseRun { names, dir, child }
    }

    fn spawn(prefix: &Path, args: &ConformanceArgs, dir: &Path) -> Result<Child, String> {
        std::fs::create_dir_all(dir)
            .map_err(|error| format!("creating {}: {error}", dir.display()))?;
        let cells = dir.join("cells.tsv");
        let _ = std::fs::remove_file(&cells);
        let log = std::fs::File::create(dir.join("run.log"))
            .map_err(|error| format!("creating {}: {error}", dir.join("run.log").display()))?;
        let log_too = log
            .try_clone()
            .map_err(|error| format!("duplicating the log's descriptor: {error}"))?;
        let exe =
            std::env::current_exe().map_err(|error| format!("finding virtstream: {error}"))?;
        let mut command = Command::new(exe);
        command
            .arg("--libvirt")
            .arg(prefix)
            .args(["conformance", "--backend", "test", "--backend", "daemon"])
            .arg("--cases")
            .arg(args.cases.to_string())
            .arg("--report-dir")
            .arg(dir)
            .arg("--cells-to")
            .arg(&cells);
        if let Some(scenarios) = &args.scenarios {
            command.arg("--scenarios").arg(scenarios);
        }
        // This process's daemon is the system's release: the child starts its own.
        command
            .env_remove(URI_ENV)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_too);
        command
            .spawn()
            .map_err(|error| format!("starting the child run: {error}"))
    }

    /// Waits for the child; its columns, or, when it produced none, the same columns failing in
    /// every row of `ours` with the reason.
    fn finish(self, ours: &Report) -> Report {
        let failed = |why: String| Report {
            backends: self.names.clone(),
            rows: ours
                .rows
                .iter()
                .map(|(id, section, _)| {
                    let cells = self.names.iter().map(|_| Outcome::Fail(why.clone()));
                    (id.clone(), section.clone(), cells.collect())
                })
                .collect(),
        };
        let status = match self.child {
            Err(why) => return failed(why),
            Ok(mut child) => child.wait(),
        };
        let log = self.dir.join("run.log");
        let tail = || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(5)..].join("\n")
        };
        let status = match status {
            Ok(status) => status,
            Err(error) => return failed(format!("waiting for the child run: {error}")),
        };
        let cells = match std::fs::read_to_string(self.dir.join("cells.tsv")) {
            Ok(cells) => cells,
            Err(_) => {
                return failed(format!(
                    "the child run ended ({status}) without cells; {}: {}",
                    log.display(),
                    tail()
                ));
            }
        };
        match Report::from_cells(&cells) {
            Ok(theirs) if theirs.backends == self.names => theirs,
            Ok(theirs) => failed(format!(
                "the child run's columns are {:?}, not {:?}",
                theirs.backends, self.names
            )),
            Err(why) => failed(format!("the child run's cells: {why}")),
        }
    }
}
