//! How the report reads (issue 10, item 12): the table, then the skips grouped by backend and
//! reason with a count, then every failure in full, then the columns that could not be opened,
//! and the summary last; report.md and report.json say the same. Snapshots of one report that
//! holds every kind of cell.

use stream_conformance::{Grouped, Outcome, Report};

fn report() -> Report {
    let skip = |why: &str| Outcome::Skipped(why.into());
    let root = || Outcome::Unavailable("the private libvirtd needs root".into());
    Report {
        backends: vec!["sim-remote".into(), "sim-local".into(), "daemon".into()],
        rows: vec![
            (
                "remote_recv_returns_one_packet_at_a_time".into(),
                "1".into(),
                vec![Outcome::Pass, skip("rule is about Remote streams"), root()],
            ),
            (
                "hole_sentinel_is_minus_three".into(),
                "2".into(),
                vec![Outcome::Pass, skip("backend has no sparse streams"), root()],
            ),
            (
                "scenarios/remote/holes (11 files)".into(),
                "scn".into(),
                vec![
                    Outcome::Fail(
                        "fixtures/scenarios/remote/holes/a.scn\nline 5: recv 4096\n- 4096\n+ 512"
                            .into(),
                    ),
                    skip("recorded on Remote streams, backend serves Local"),
                    root(),
                ],
            ),
            (
                "scenarios/remote/uploads (11 files)".into(),
                "scn".into(),
                vec![
                    Outcome::Pass,
                    skip("recorded on Remote streams, backend serves Local"),
                    root(),
                ],
            ),
        ],
    }
}

#[test]
fn the_summary_counts_every_cell_that_ran() {
    let report = report();
    assert_eq!(
        report.summary(),
        "3 passed, 1 failed, 4 skipped; 1 backend unavailable: daemon"
    );
    assert!(report.failed() && report.incomplete());
    assert_eq!(
        report.grouped("skipped")[2],
        Grouped {
            backend: "sim-local",
            reason: "recorded on Remote streams, backend serves Local",
            count: 2
        }
    );
}

#[test]
fn a_complete_run_has_no_unavailable_tail() {
    let mut report = report();
    report.backends.pop();
    for row in &mut report.rows {
        row.2.pop();
    }
    assert_eq!(report.summary(), "3 passed, 1 failed, 4 skipped");
    assert!(!report.incomplete());
}

#[test]
fn table() {
    insta::assert_snapshot!(report().to_table());
}

#[test]
fn markdown() {
    insta::assert_snapshot!(report().to_markdown());
}

#[test]
fn json() {
    insta::assert_snapshot!(report().to_json());
}
