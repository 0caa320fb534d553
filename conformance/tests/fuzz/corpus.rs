//! The fuzz corpus under `fixtures/fuzz/`: seed inputs every run replays first, the notes saying
//! why each is there, and `known-bugs.txt`, the entries left out until their bug is fixed.

use std::path::{Path, PathBuf};

use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

/// `fixtures/fuzz/`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fuzz")
}

/// Random cases per target: `VIRTSTREAM_FUZZ_CASES`, else a number small enough for every test
/// run (`cargo xtask fuzz` sets it high).
pub fn cases() -> u32 {
    match std::env::var("VIRTSTREAM_FUZZ_CASES") {
        Ok(value) => value
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("VIRTSTREAM_FUZZ_CASES must be a number, got {value:?}")),
        Err(_) => 512,
    }
}

/// A proptest runner for `cases()` cases that writes no regression files: minimized inputs go
/// into the corpus by hand, with a note, where every run replays them.
pub fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        max_shrink_iters: 4096,
        ..Config::default()
    })
}

/// Print the target's tally, the line `cargo xtask fuzz` shows.
pub fn report(target: &str, seeds: usize, started: std::time::Instant) {
    let random = cases();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "fuzz {target}: {seeds} corpus seeds + {random} random cases, 0 failures, {seconds:.2} s, {:.0} cases/s",
        f64::from(random) / seconds.max(1e-9)
    );
}

/// Entries of `known-bugs.txt` for `target` (`<target> <entry>` lines; `#` starts a comment):
/// each is a corpus file name (`scenarios`, `sim`), or for `layouts` a quoted input as
/// `layouts.txt` writes it.
pub fn known_bugs(target: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir().join("known-bugs.txt")).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(' '))
        .filter(|(name, _)| *name == target)
        .map(|(_, entry)| entry.trim().to_string())
        .collect()
}

/// `(file name, contents)` of every `*.scn-fuzz` seed in `fixtures/fuzz/scenarios/`, sorted,
/// with `notes.txt` checked to give each one a reason.
pub fn scenario_seeds() -> Vec<(String, String)> {
    seed_files("scenarios", "scn-fuzz")
}

/// `(file name, contents)` of every `*.sim-fuzz` seed in `fixtures/fuzz/sim/`, as
/// [`scenario_seeds`].
pub fn sim_seeds() -> Vec<(String, String)> {
    seed_files("sim", "sim-fuzz")
}

fn seed_files(subdir: &str, extension: &str) -> Vec<(String, String)> {
    let seeds_dir = dir().join(subdir);
    let notes = std::fs::read_to_string(seeds_dir.join("notes.txt")).expect("notes.txt");
    let mut seeds: Vec<(String, String)> = std::fs::read_dir(&seeds_dir)
        .expect("a corpus directory")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("a seed file is UTF-8");
            (name, text)
        })
        .collect();
    seeds.sort();
    for (name, _) in &seeds {
        let noted = notes.lines().any(|line| {
            line.split_once(char::is_whitespace)
                .is_some_and(|(file, why)| file == name && !why.trim().is_empty())
        });
        assert!(
            noted,
            "fixtures/fuzz/{subdir}/notes.txt gives no reason for {name}"
        );
    }
    seeds
}

/// Every input of `fixtures/fuzz/layouts.txt` with its note: a `# why` line, then the inputs it
/// explains (up to a blank line), each a quoted string with Rust's escapes (what `{:?}` prints),
/// so odd whitespace stays visible.
pub fn layout_seeds() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir().join("layouts.txt")).expect("layouts.txt");
    let mut seeds = Vec::new();
    let mut note = String::new();
    for (index, line) in text.lines().enumerate() {
        if let Some(why) = line.strip_prefix('#') {
            note = why.trim().to_string();
        } else if line.trim().is_empty() {
            note.clear();
        } else {
            let input = unquote(line.trim())
                .unwrap_or_else(|why| panic!("layouts.txt line {}: {why}", index + 1));
            assert!(
                !note.is_empty(),
                "layouts.txt line {}: no `# why` note above it",
                index + 1
            );
            seeds.push((note.clone(), input));
        }
    }
    seeds
}

/// The string a quoted `{:?}` form stands for: `\\ \" \' \n \r \t \0 \u{…}` escapes.
pub fn unquote(quoted: &str) -> Result<String, String> {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or("an input is written in double quotes")?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let rest = chars.as_str();
                let close = rest.find('}').ok_or("unclosed \\u{")?;
                let hex = rest[..close].strip_prefix('{').ok_or("\\u needs {")?;
                let code =
                    u32::from_str_radix(hex, 16).map_err(|e| format!("\\u{{{hex}}}: {e}"))?;
                out.push(char::from_u32(code).ok_or(format!("\\u{{{hex}}} is no char"))?);
                chars = rest[close + 1..].chars();
            }
            other => return Err(format!("unknown escape \\{}", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}
