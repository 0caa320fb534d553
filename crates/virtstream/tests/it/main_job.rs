//! `virtstream conformance`, the main job, as a user meets it: a binary installed away from the
//! checkout still plays every recorded scenario, a bad `--scenarios` is an error instead of an
//! all-pass, a run without root shows the daemon column as unavailable and says the run was
//! incomplete, and the output ends with its result (issue 10, items 10 to 12).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The exit code of a run where nothing failed but some backend could not be opened.
const INCOMPLETE: i32 = 3;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// A directory anyone may enter, so uid 65534 can run what is copied into it.
fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// The built binary copied into `dir`, as an install would put it.
fn installed(dir: &Path) -> PathBuf {
    let binary = dir.join("virtstream");
    std::fs::copy(env!("CARGO_BIN_EXE_virtstream"), &binary).expect("copy the binary");
    binary
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn explain(output: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The rule × backend table: its column names, and per row the id and one label per column.
struct Table {
    columns: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
}

fn table(out: &str) -> Table {
    let mut lines = out.lines().skip_while(|line| !line.starts_with('§'));
    let header = lines.next().expect("a table header starting with §");
    let columns: Vec<String> = header
        .split_whitespace()
        .skip(2)
        .map(str::to_string)
        .collect();
    let rows = lines
        .take_while(|line| !line.trim().is_empty())
        .map(|line| {
            // Ids may hold spaces ("faults/differential (24 deaths)"); labels never do.
            let words: Vec<&str> = line.split_whitespace().collect();
            let (row, cells) = words.split_at(words.len() - columns.len());
            let id = row[1..].join(" ");
            (id, cells.iter().map(|cell| cell.to_string()).collect())
        })
        .collect();
    Table { columns, rows }
}

impl Table {
    fn count(&self, label: &str) -> usize {
        self.rows
            .iter()
            .flat_map(|(_, cells)| cells)
            .filter(|cell| *cell == label)
            .count()
    }

    fn column(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|column| column == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.columns))
    }

    /// The scenario rows: `scenarios/<group> (<n> files)`, as (group, n, cells).
    fn scenario_rows(&self) -> Vec<(String, usize, &[String])> {
        self.rows
            .iter()
            .filter_map(|(id, cells)| {
                let rest = id.strip_prefix("scenarios/")?;
                let (group, count) = rest.split_once(" (")?;
                let count = count
                    .strip_suffix(" files)")
                    .or(count.strip_suffix(" file)"))?;
                Some((group.to_string(), count.parse().ok()?, cells.as_slice()))
            })
            .collect()
    }
}

/// Every `*.scn` under the checkout's fixtures/scenarios, counted by the test itself.
fn recorded_scenario_files() -> usize {
    let mut count = 0;
    let mut pending = vec![fixtures().join("scenarios")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures/scenarios") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "scn") {
                count += 1;
            }
        }
    }
    count
}

/// `binary conformance args…` in a mount namespace where the checkout's fixtures directory is an
/// empty tmpfs, from `cwd`: what a binary installed on another machine sees.
fn without_the_checkout(binary: &Path, cwd: &Path, args: &[&str]) -> Output {
    let hidden = fixtures().canonicalize().expect("fixtures");
    // As root a mount namespace is enough; otherwise a user namespace grants the mount.
    let unshare: &[&str] = if is_root() {
        &["--mount", "--propagation", "private"]
    } else {
        &[
            "--user",
            "--map-root-user",
            "--mount",
            "--propagation",
            "private",
        ]
    };
    let script = r#"mount -t tmpfs none "$1" || exit 97
test -e "$1/scenarios" && exit 98
cd "$2" || exit 99
shift 2
exec "$@""#;
    let output = Command::new("unshare")
        .args(unshare)
        .args(["--", "sh", "-c", script, "sh"])
        .arg(&hidden)
        .arg(cwd)
        .arg(binary)
        .arg("conformance")
        .args(args)
        .output()
        .expect("run unshare");
    assert!(
        !matches!(output.status.code(), Some(97..=99)),
        "could not hide {} in a mount namespace: {}",
        hidden.display(),
        explain(&output)
    );
    output
}

#[test]
fn an_installed_binary_plays_every_recorded_scenario_without_the_checkout() {
    let dir = open_dir();
    let binary = installed(dir.path());
    let report = dir.path().join("report");
    let output = without_the_checkout(
        &binary,
        dir.path(),
        &[
            "--backend",
            "sim-remote",
            "--backend",
            "sim-local",
            "--report-dir",
            report.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let out = stdout(&output);
    let table = table(&out);
    let rows = table.scenario_rows();
    let played: usize = rows.iter().map(|(_, count, _)| count).sum();
    assert_eq!(
        played,
        recorded_scenario_files(),
        "scenario rows should cover every recorded file:\n{out}"
    );
    let (remote, local) = (table.column("sim-remote"), table.column("sim-local"));
    for (group, _, cells) in &rows {
        let column = if group.starts_with("local") {
            local
        } else {
            remote
        };
        assert_eq!(cells[column], "pass", "{group} on its own kind:\n{out}");
    }
    assert!(
        out.contains(&format!(
            "scenarios: {played} files in {} groups, built into this binary",
            rows.len()
        )),
        "the run should say where its scenarios came from:\n{out}"
    );
}

fn conformance_with_scenarios(dir: &Path) -> Output {
    let report = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_virtstream"))
        .args(["conformance", "--backend", "sim-remote", "--scenarios"])
        .arg(dir)
        .arg("--report-dir")
        .arg(report.path())
        .output()
        .expect("run virtstream")
}

/// The run refuses the set before running anything: exit 1, nothing on stdout, and stderr names
/// the path and the rule.
fn refused(output: &Output, needles: &[&str]) {
    assert_eq!(output.status.code(), Some(1), "{}", explain(output));
    assert_eq!(
        stdout(output),
        "",
        "nothing should run: {}",
        explain(output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "stderr should say {needle:?}: {stderr}"
        );
    }
}

#[test]
fn a_missing_scenarios_directory_is_an_error() {
    let output = conformance_with_scenarios(Path::new("/nonexistent/scenarios"));
    refused(
        &output,
        &["--scenarios /nonexistent/scenarios", "no such directory"],
    );
}

#[test]
fn a_scenarios_path_that_is_a_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("one.scn");
    std::fs::write(&file, "kind remote\nnew\n\nabort\n=> ok\n").expect("scenario");
    let output = conformance_with_scenarios(&file);
    refused(&output, &[&file.display().to_string(), "not a directory"]);
}

#[test]
fn an_empty_scenarios_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("sub")).expect("subdirectory");
    std::fs::write(dir.path().join("README"), "not a scenario").expect("file");
    let output = conformance_with_scenarios(dir.path());
    refused(
        &output,
        &[&dir.path().display().to_string(), "no .scn file"],
    );
}

#[test]
fn a_fifo_in_the_scenarios_directory_is_refused_without_hanging() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("stuck.scn");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let output = crate::scenario_files::within_seconds(
        Command::new(env!("CARGO_BIN_EXE_virtstream"))
            .args(["conformance", "--backend", "sim-remote", "--scenarios"])
            .arg(dir.path())
            .arg("--report-dir")
            .arg(dir.path().join("report")),
        10,
    );
    refused(&output, &["stuck.scn", "not a regular file"]);
}

#[test]
fn scenarios_dir_replaces_the_built_in_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("mine")).expect("group");
    std::fs::write(
        dir.path().join("mine/abort.scn"),
        "kind remote\nnew\n\nabort\n=> ok\n",
    )
    .expect("scenario");
    let output = conformance_with_scenarios(dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let out = stdout(&output);
    let table = table(&out);
    let rows = table.scenario_rows();
    assert_eq!(
        rows.iter()
            .map(|(group, count, cells)| (group.as_str(), *count, cells[0].as_str()))
            .collect::<Vec<_>>(),
        [("mine", 1, "pass")],
        "{out}"
    );
}

/// The sim columns and the test driver: a full run needing no daemon.
fn run_without_daemon() -> Output {
    let report = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_virtstream"))
        .args([
            "conformance",
            "--backend",
            "sim-remote",
            "--backend",
            "sim-local",
            "--backend",
            "test",
            "--report-dir",
        ])
        .arg(report.path())
        .output()
        .expect("run virtstream")
}

/// `N passed, M failed, K skipped` (and what follows it), parsed.
fn summary(line: &str) -> Option<(usize, usize, usize, &str)> {
    let (passed, rest) = line.split_once(" passed, ")?;
    let (failed, rest) = rest.split_once(" failed, ")?;
    let (skipped, rest) = rest.split_once(" skipped")?;
    Some((
        passed.parse().ok()?,
        failed.parse().ok()?,
        skipped.parse().ok()?,
        rest,
    ))
}

#[test]
fn the_output_ends_with_its_result_and_groups_the_skips() {
    let output = run_without_daemon();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let out = stdout(&output);
    let table = table(&out);
    let last = out.lines().last().expect("output");
    assert_eq!(
        summary(last),
        Some((
            table.count("pass"),
            table.count("FAIL"),
            table.count("skipped"),
            ""
        )),
        "the last line should be the summary of the table:\n{out}"
    );
    assert!(
        !out.lines().any(|line| line.starts_with("skipped ")),
        "no line per skipped cell:\n{out}"
    );
    // Each column's skips, grouped by reason: `<backend>: <n> skipped: <reason>`, whose counts
    // add up to that column's skipped cells.
    for (index, column) in table.columns.iter().enumerate() {
        let in_table = table
            .rows
            .iter()
            .filter(|(_, cells)| cells[index] == "skipped")
            .count();
        let grouped: Vec<(usize, &str)> = out
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix(&format!("{column}: ")))
            .filter_map(|rest| {
                let (count, reason) = rest.split_once(" skipped: ")?;
                Some((count.parse().ok()?, reason))
            })
            .collect();
        assert_eq!(
            grouped.iter().map(|(count, _)| count).sum::<usize>(),
            in_table,
            "{column}'s grouped skips:\n{out}"
        );
        let mut reasons: Vec<&str> = grouped.iter().map(|(_, reason)| *reason).collect();
        let all = reasons.len();
        reasons.dedup();
        assert_eq!(
            reasons.len(),
            all,
            "one line per reason on {column}:\n{out}"
        );
    }
}

/// `virtstream conformance` (every backend) as uid 65534 when this test runs as root, as the
/// caller otherwise; never with a shared daemon's URI.
fn run_as_nobody() -> Output {
    let dir = open_dir();
    let binary = installed(dir.path());
    let report = dir.path().join("report");
    std::fs::create_dir(&report).expect("report dir");
    let mut command = if is_root() {
        std::os::unix::fs::chown(&report, Some(65534), Some(65534)).expect("chown");
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary);
        command
    } else {
        Command::new(&binary)
    };
    command
        .arg("conformance")
        .arg("--report-dir")
        .arg(&report)
        .current_dir(&report)
        .env_remove("VIRTSTREAM_DAEMON_URI")
        .env("HOME", &report)
        .output()
        .expect("run virtstream")
}

#[test]
fn without_root_every_other_backend_runs_and_the_daemon_columns_are_unavailable() {
    let output = run_as_nobody();
    let out = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(INCOMPLETE),
        "an incomplete run: {}",
        explain(&output)
    );
    let table = table(&out);
    assert_eq!(
        table.columns,
        [
            "sim-remote",
            "sim-local",
            "test",
            "daemon",
            "test-daemon",
            "served",
            "served-test"
        ]
    );
    // The served simulator needs no root: its columns run as anyone.
    for column in ["served", "served-test"] {
        let at = table.column(column);
        assert!(
            table.rows.iter().any(|(_, cells)| cells[at] == "pass"),
            "{column} runs without root:\n{out}"
        );
    }
    let on_a_daemon = ["daemon", "test-daemon"];
    for (id, cells) in &table.rows {
        for (column, cell) in table.columns.iter().zip(cells) {
            if on_a_daemon.contains(&column.as_str()) {
                assert_eq!(cell, "n/a", "{id} on {column}:\n{out}");
            } else {
                assert!(
                    cell == "pass" || cell == "skipped",
                    "{id} on {column} is {cell}:\n{out}"
                );
            }
        }
    }
    // The test driver needs no root: it keeps every rule the simulator's local profile keeps.
    let (test, local) = (table.column("test"), table.column("sim-local"));
    for (id, cells) in &table.rows {
        assert_eq!(
            cells[test], cells[local],
            "{id} on test and sim-local:\n{out}"
        );
    }
    assert!(table.count("pass") > 0, "{out}");
    for column in on_a_daemon {
        assert!(
            out.lines()
                .any(|line| line.starts_with(&format!("{column}: unavailable: "))
                    && line.contains("needs root")),
            "the reason is shown for {column}:\n{out}"
        );
    }
    let last = out.lines().last().expect("output");
    let (_, failed, _, rest) = summary(last).unwrap_or_else(|| panic!("summary last:\n{out}"));
    assert_eq!(
        (failed, rest),
        (0, "; 2 backends unavailable: daemon, test-daemon"),
        "{out}"
    );
}
