//! Every scenario recorded from real libvirt replays identically on the simulator profile of
//! the same stream kind; the recordings built into the crate are exactly the files on disk; and
//! a scenario set that is missing, empty or unreadable is refused, never replayed as nothing.

use std::path::{Path, PathBuf};

use stream_conformance::scenario::{
    MAX_SCENARIO_BYTES, ReadError, ScenarioSet, SetError, read_scenario_file, replay_all,
};
use stream_core::StreamKind;
use stream_sim::{Profile, SimBackend};

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/scenarios")
}

#[test]
fn remote_recordings_replay_on_sim_remote() {
    let ran = replay_all(
        &scenarios(),
        StreamKind::Remote,
        &SimBackend::new(Profile::Remote),
    )
    .unwrap_or_else(|diff| panic!("{diff}"));
    assert!(ran >= 40, "only {ran} remote scenarios found");
}

#[test]
fn local_recordings_replay_on_sim_local() {
    let ran = replay_all(
        &scenarios(),
        StreamKind::Local,
        &SimBackend::new(Profile::Local),
    )
    .unwrap_or_else(|diff| panic!("{diff}"));
    assert!(ran >= 8, "only {ran} local scenarios found");
}

#[test]
fn the_built_in_recordings_are_the_files_on_disk() {
    let built_in = ScenarioSet::recorded().unwrap_or_else(|error| panic!("{error}"));
    let on_disk = ScenarioSet::from_dir(&scenarios()).unwrap_or_else(|error| panic!("{error}"));
    let files = |set: &ScenarioSet| -> Vec<(String, String)> {
        set.files()
            .iter()
            .map(|file| (file.path.clone(), file.text.clone()))
            .collect()
    };
    assert_eq!(files(&built_in), files(&on_disk));
    assert_eq!(
        built_in.groups().keys().collect::<Vec<_>>(),
        on_disk.groups().keys().collect::<Vec<_>>()
    );
    assert!(
        built_in
            .describe()
            .ends_with(" groups, built into this binary"),
        "{}",
        built_in.describe()
    );
}

#[test]
fn a_missing_directory_is_an_error_not_zero_scenarios() {
    let missing = Path::new("/nonexistent/scenarios");
    let error = ScenarioSet::from_dir(missing).unwrap_err();
    assert!(matches!(error, SetError::NoSuchDir(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "/nonexistent/scenarios: no such directory"
    );
    let sim = SimBackend::new(Profile::Remote);
    let replayed = replay_all(missing, StreamKind::Remote, &sim);
    assert_eq!(
        replayed,
        Err("/nonexistent/scenarios: no such directory".to_string())
    );
}

#[test]
fn a_file_or_an_empty_tree_is_not_a_scenario_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("a/b")).expect("dirs");
    std::fs::write(dir.path().join("a/notes.txt"), "kind remote\nnew\n").expect("file");
    let error = ScenarioSet::from_dir(dir.path()).unwrap_err();
    assert!(matches!(error, SetError::Empty(_)), "{error:?}");
    let file = dir.path().join("a/notes.txt");
    let error = ScenarioSet::from_dir(&file).unwrap_err();
    assert!(matches!(error, SetError::NotADir(_)), "{error:?}");
}

#[test]
fn one_bad_file_refuses_the_set_and_names_every_bad_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("good.scn"),
        "kind remote\nnew\n\nabort\n=> ok\n",
    )
    .expect("good");
    std::fs::write(
        dir.path().join("bad.scn"),
        "kind remote\nnew\n\nfrobnicate\n",
    )
    .expect("bad");
    std::fs::write(dir.path().join("binary.scn"), [0xff, 0xfe]).expect("binary");
    let error = ScenarioSet::from_dir(dir.path()).unwrap_err();
    let SetError::Files { files, .. } = &error else {
        panic!("{error:?}");
    };
    let names: Vec<&str> = files
        .iter()
        .map(|line| line.rsplit_once('/').expect("a path").1)
        .collect();
    assert_eq!(
        names,
        [
            "bad.scn: line 4: unknown operation `frobnicate`",
            "binary.scn: not UTF-8 text; a scenario file is text"
        ]
    );
}

#[test]
fn a_link_loop_does_not_hang_the_walk() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("g")).expect("group");
    std::fs::write(
        dir.path().join("g/one.scn"),
        "kind remote\nnew\n\nabort\n=> ok\n",
    )
    .expect("scn");
    std::os::unix::fs::symlink(dir.path(), dir.path().join("g/loop")).expect("symlink");
    let set = ScenarioSet::from_dir(dir.path()).unwrap_or_else(|error| panic!("{error}"));
    let paths: Vec<&str> = set.files().iter().map(|file| file.path.as_str()).collect();
    assert_eq!(paths, ["g/one.scn"]);
}

#[test]
fn files_at_the_top_are_a_group_named_after_the_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let holes = dir.path().join("holes");
    std::fs::create_dir(&holes).expect("dir");
    std::fs::write(holes.join("one.scn"), "kind remote\nnew\n\nabort\n=> ok\n").expect("scn");
    let set = ScenarioSet::from_dir(&holes).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(set.groups().keys().collect::<Vec<_>>(), ["holes"]);
    assert_eq!(
        set.describe(),
        format!("1 file in 1 group, from {}", holes.display())
    );
}

#[test]
fn the_reader_refuses_what_is_not_a_small_regular_file() {
    let refused = |path: &Path| read_scenario_file(path).unwrap_err();
    assert!(matches!(
        refused(Path::new("/dev/zero")),
        ReadError::NotRegular("character device")
    ));
    assert!(matches!(
        refused(Path::new("/")),
        ReadError::NotRegular("directory")
    ));
    let dir = tempfile::tempdir().expect("temp dir");
    let big = dir.path().join("big.scn");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(MAX_SCENARIO_BYTES + 1).expect("size");
    assert!(matches!(refused(&big), ReadError::TooLarge));
    assert!(refused(&dir.path().join("missing.scn")).is_not_found());
    file.set_len(MAX_SCENARIO_BYTES).expect("size");
    let text = read_scenario_file(&big).expect("a file at the cap is read");
    assert_eq!(text.len() as u64, MAX_SCENARIO_BYTES);
}

/// Every rule and every recorded scenario deletes the volumes it made when it ends: a shared
/// daemon's pool kept all of them (4,113 volumes, 14 GB), and libvirt refreshes the whole pool
/// after each upload, so every run slowed the next.
#[test]
fn rules_and_scenarios_leave_no_volume_behind() {
    use stream_conformance::{all_rules, run_rule, scenario};
    let sim = SimBackend::new(Profile::Remote);
    for rule in all_rules() {
        run_rule(&rule, &sim);
    }
    let set = ScenarioSet::recorded().unwrap_or_else(|error| panic!("{error}"));
    for file in set.files() {
        let _ = scenario::run(&file.scenario, &sim);
    }
    let left: Vec<String> = sim
        .volumes("default")
        .unwrap()
        .into_iter()
        .map(|volume| volume.id.name)
        .collect();
    assert!(left.is_empty(), "{} volumes left: {left:?}", left.len());
}
