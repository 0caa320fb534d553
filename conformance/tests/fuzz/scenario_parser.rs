//! Fuzz target `scenario_parser`: `scenario::parse` never panics on any text, and whatever it
//! accepts prints (`Display`) and parses back to the same scenario.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use stream_conformance::scenario::{Scenario, ScenarioSet, parse, remote_scenarios};

use super::corpus;

/// The scenario with step line numbers cleared: `Display` lays the file out its own way, so only
/// where a step is in the file may change.
fn without_lines(scenario: &Scenario) -> Scenario {
    let mut scenario = scenario.clone();
    for step in &mut scenario.steps {
        step.line = 0;
    }
    scenario
}

/// The property: no panic; an accepted text re-prints to a fixed point and re-parses to the same
/// scenario, and each operation prints as it parses.
pub fn check(text: &str) -> Result<(), String> {
    let Ok(scenario) = parse(text) else {
        return Ok(());
    };
    let printed = scenario.to_string();
    let again = parse(&printed).map_err(|error| {
        format!("accepted, but its print is refused: {error}\n--- printed:\n{printed}")
    })?;
    if without_lines(&again) != without_lines(&scenario) {
        return Err(format!(
            "round trip changed the scenario\n--- printed:\n{printed}\n--- first: {scenario:?}\n--- then: {again:?}"
        ));
    }
    if again.to_string() != printed {
        return Err(format!(
            "printing is not a fixed point:\n{printed}\n---\n{again}"
        ));
    }
    for step in &scenario.steps {
        let alone = format!("kind remote\nnew\n{}\n", step.op);
        let reparsed = parse(&alone).map_err(|error| {
            format!(
                "`{}` parses, but its print `{}` is refused: {error}",
                step.text, step.op
            )
        })?;
        if reparsed.steps.first().map(|s| &s.op) != Some(&step.op) {
            return Err(format!(
                "`{}` prints as `{}`, which parses differently",
                step.text, step.op
            ));
        }
    }
    Ok(())
}

/// The recorded scenario files, the material mutations start from.
fn real_files() -> &'static [String] {
    static FILES: OnceLock<Vec<String>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = corpus::dir().join("../scenarios");
        let set = ScenarioSet::from_dir(&dir).unwrap_or_else(|error| panic!("{error}"));
        set.files().iter().map(|file| file.text.clone()).collect()
    })
}

/// Words worth putting anywhere: keywords, numbers at the edges of every type the parser reads,
/// malformed flags and events, unicode look-alikes.
fn odd_word() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "",
        "0",
        "-0",
        "-1",
        "+1",
        "1e3",
        "0x",
        "0x10",
        "255",
        "256",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "67108864",
        "67108865",
        "33554409",
        "99999999999999999999999999",
        "flags=",
        "flags=0x",
        "flags=0xFFFFFFFF",
        "flags=0x100000000",
        "flags=-1",
        "flags==1",
        "byte=",
        "byte=256",
        "byte=-1",
        "offset=",
        "offset=18446744073709551616",
        "length=-1",
        "stop-at-hole",
        "sparse",
        "READABLE",
        "READABLE|",
        "|",
        "READABLE||HANGUP",
        "0x0",
        "0xFFFFFFFF",
        "NONE",
        "readable",
        "READABLE|0x10",
        "=>",
        "=> ok",
        "#",
        "kind",
        "remote",
        "local",
        "open",
        "new",
        "volume",
        "nonblock",
        "upload",
        "download",
        "screenshot",
        "send",
        "send-hole",
        "recv",
        "recv-hole",
        "recv-flags",
        "drain",
        "digest",
        "finish",
        "abort",
        "add-callback",
        "update-callback",
        "remove-callback",
        "-",
        "D",
        "D0",
        "D4K",
        "H1M",
        "Z",
        "D8000P",
        "D9223372036854775807",
        "H9223372036854775808",
        "D1P",
        "\u{a0}",
        "\u{200b}",
        "\u{2028}",
        "\u{85}",
        "é",
        "٣",
        "１",
        "𝟙",
        "\u{feff}",
        "\r",
        "\t",
        "\0",
    ]);
    prop_oneof![
        4 => fixed.prop_map(str::to_string),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "\\PC{0,6}",
    ]
}

/// One structured change to a file's lines.
#[derive(Debug, Clone)]
enum Mutation {
    Drop(Index),
    Duplicate(Index),
    Swap(Index, Index),
    /// Replace a word of a line (or append one).
    Word(Index, Index, String),
    /// Put a whole line from another recorded file here.
    Borrow(Index, Index, Index),
    /// Take `=>` off a result line (or put one on an operation).
    Arrow(Index),
    /// Insert a line of odd words.
    Insert(Index, Vec<String>),
    /// Change the separator of a line's words.
    Spacing(Index, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => any::<Index>().prop_map(Mutation::Drop),
        1 => any::<Index>().prop_map(Mutation::Duplicate),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        6 => (any::<Index>(), any::<Index>(), odd_word()).prop_map(|(l, w, s)| Mutation::Word(l, w, s)),
        2 => (any::<Index>(), any::<Index>(), any::<Index>()).prop_map(|(a, f, l)| Mutation::Borrow(a, f, l)),
        2 => any::<Index>().prop_map(Mutation::Arrow),
        1 => (any::<Index>(), prop::collection::vec(odd_word(), 0..4)).prop_map(|(a, w)| Mutation::Insert(a, w)),
        1 => (any::<Index>(), prop::sample::select(vec!["\t", "  ", "\u{a0}", "\u{3000}", "", "\r"]))
            .prop_map(|(a, s)| Mutation::Spacing(a, s)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation], line_end: &str) -> String {
    let files = real_files();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for mutation in mutations {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match mutation {
            Mutation::Drop(at) => {
                lines.remove(at.index(n));
            }
            Mutation::Duplicate(at) => {
                let line = lines[at.index(n)].clone();
                lines.insert(at.index(n), line);
            }
            Mutation::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
            Mutation::Word(at, word, new) => {
                let line = &mut lines[at.index(n)];
                let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
                let slot = word.index(words.len() + 1);
                if slot == words.len() {
                    words.push(new.clone());
                } else {
                    words[slot] = new.clone();
                }
                *line = words.join(" ");
            }
            Mutation::Borrow(at, file, line) => {
                let other: Vec<&str> = files[file.index(files.len())].lines().collect();
                if !other.is_empty() {
                    lines.insert(at.index(n + 1), other[line.index(other.len())].to_string());
                }
            }
            Mutation::Arrow(at) => {
                let line = &mut lines[at.index(n)];
                *line = match line.strip_prefix("=>") {
                    Some(rest) => rest.to_string(),
                    None => format!("=>{line}"),
                };
            }
            Mutation::Insert(at, words) => lines.insert(at.index(n + 1), words.join(" ")),
            Mutation::Spacing(at, separator) => {
                let line = &mut lines[at.index(n)];
                *line = line.split(' ').collect::<Vec<_>>().join(separator);
            }
        }
    }
    lines.join(line_end)
}

/// Texts to throw at the parser: mutated recorded files, generated scenarios, lines of keywords
/// and odd words, and arbitrary unicode.
fn texts() -> impl Strategy<Value = String> {
    let count = real_files().len();
    let mutated = (
        0..count,
        prop::collection::vec(mutation(), 1..6),
        prop::sample::select(vec!["\n", "\r\n", "\n\n", "\r"]),
    )
        .prop_map(|(file, mutations, end)| mutate(&real_files()[file], &mutations, end));
    let generated = remote_scenarios(1).prop_map(|scenario| scenario.to_string());
    let header = prop::sample::select(vec![
        "kind remote\nnew\n",
        "kind local\nopen screenshot\n",
        "kind remote\nvolume D4K\nopen download sparse\n",
        "",
    ]);
    let lines = (
        header,
        prop::collection::vec(prop::collection::vec(odd_word(), 0..5), 0..8),
    )
        .prop_map(|(header, lines)| {
            let body: Vec<String> = lines.iter().map(|words| words.join(" ")).collect();
            format!("{header}{}", body.join("\n"))
        });
    prop_oneof![
        6 => mutated,
        2 => generated,
        3 => lines,
        1 => any::<String>(),
    ]
}

/// Replays the corpus, then `corpus::cases()` random texts.
pub fn run() {
    let started = std::time::Instant::now();
    let known = corpus::known_bugs("scenarios");
    let seeds = corpus::scenario_seeds();
    for (name, text) in &seeds {
        if known.contains(name) {
            println!("skipping known bug scenarios/{name}");
            continue;
        }
        if let Err(why) = check(text) {
            panic!("corpus seed scenarios/{name}: {why}");
        }
    }
    let mut runner = corpus::runner();
    if let Err(error) = runner.run(&texts(), |text| check(&text).map_err(TestCaseError::fail)) {
        panic!("{error}");
    }
    corpus::report("scenario_parser", seeds.len(), started);
}
