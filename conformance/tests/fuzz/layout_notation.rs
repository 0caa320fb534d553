//! Fuzz target `layout_notation`: `Layout::parse` never panics; what it accepts prints back to
//! itself with consistent sizes; what it refuses is named by the offending token.

use proptest::prelude::*;
use stream_conformance::scenario::layouts;
use stream_core::{Fill, Layout};

use super::corpus;

/// What a correct parser must say, worked out independently of `Layout::parse`: the total size
/// and allocated bytes, or the 1-based number of the first bad token.
fn model(notation: &str) -> Result<(u64, u64), usize> {
    let trimmed = notation.trim();
    if trimmed == "-" {
        return Ok((0, 0));
    }
    if trimmed.is_empty() {
        return Err(0);
    }
    let (mut size, mut allocated) = (0u64, 0u64);
    for (index, token) in trimmed.split_whitespace().enumerate() {
        let bad = index + 1;
        let (letter, rest) = token.split_at(token.chars().next().map_or(0, char::len_utf8));
        let (digits, multiplier) = match rest.chars().last() {
            Some(suffix @ ('K' | 'M' | 'G' | 'T' | 'P')) => {
                let shift = 10 * (1 + "KMGTP".find(suffix).unwrap() as u32);
                (&rest[..rest.len() - 1], 1u64 << shift)
            }
            _ => (rest, 1),
        };
        if !matches!(letter, "D" | "H" | "Z")
            || digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad);
        }
        let length = digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(multiplier))
            .filter(|&n| n > 0)
            .ok_or(bad)?;
        size = size
            .checked_add(length)
            .filter(|&s| s <= Layout::MAX_SIZE)
            .ok_or(bad)?;
        if letter != "H" {
            allocated += length;
        }
    }
    Ok((size, allocated))
}

/// The property, for any text.
pub fn check(notation: &str) -> Result<(), String> {
    let parsed = Layout::parse(notation);
    match (&parsed, model(notation)) {
        (Ok(layout), Ok((size, allocated))) => {
            if layout.size() != size || layout.allocated_bytes() != allocated {
                return Err(format!(
                    "size {} / allocated {} where the tokens add up to {size} / {allocated}",
                    layout.size(),
                    layout.allocated_bytes()
                ));
            }
            check_layout(layout)
        }
        (Err(error), Err(0)) if error.rule.contains("empty") => Ok(()),
        (Err(error), Err(bad)) => {
            let token = notation.split_whitespace().nth(bad - 1).unwrap_or_default();
            if error.rule.contains(&format!("token {bad} `{token}`")) {
                Ok(())
            } else {
                Err(format!(
                    "refused, but the message does not name token {bad} `{token}`: {error}"
                ))
            }
        }
        (Ok(layout), Err(bad)) => Err(format!("accepted as {layout}, but token {bad} is bad")),
        (Err(error), Ok(_)) => Err(format!("refused a good notation: {error}")),
    }
}

/// A layout's invariants: extents sorted, disjoint, non-empty, within the size and not mergeable;
/// `Display` re-parses to the same layout and is its own canonical form.
fn check_layout(layout: &Layout) -> Result<(), String> {
    let mut end = 0u64;
    let mut last_fill: Option<Fill> = None;
    for extent in layout.extents() {
        let touching_same = last_fill == Some(extent.fill) && extent.offset == end;
        if extent.length == 0
            || extent.offset < end
            || extent.end() > layout.size()
            || touching_same
        {
            return Err(format!(
                "bad extents {:?} for size {}",
                layout.extents(),
                layout.size()
            ));
        }
        end = extent.end();
        last_fill = Some(extent.fill);
    }
    let printed = layout.to_string();
    let again = Layout::parse(&printed)
        .map_err(|error| format!("prints as {printed:?}, refused: {error}"))?;
    if &again != layout {
        return Err(format!(
            "prints as {printed:?}, which parses to {again:?}, not {layout:?}"
        ));
    }
    if again.to_string() != printed {
        return Err(format!(
            "{printed:?} prints back as {:?}",
            again.to_string()
        ));
    }
    Ok(())
}

/// One token, well or badly formed: letters, numbers at the edges of u64 and i64, suffixes.
fn token() -> impl Strategy<Value = String> {
    let letter = prop::sample::select(vec![
        "D", "H", "Z", "D", "H", "Z", "d", "X", "-", "", "é", "DD",
    ]);
    let number = prop_oneof![
        3 => (1u64..100_000).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec![
            "0", "00", "1", "007", "8191", "8192", "8193", "9223372036854775807",
            "9223372036854775808", "18446744073709551615", "18446744073709551616",
            "99999999999999999999999999", "-1", "+1", "", "1_000", "٣", "１",
        ]).prop_map(str::to_string),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => (0u32..64).prop_map(|shift| (1u64 << shift).to_string()),
    ];
    let suffix = prop_oneof![
        4 => Just(""),
        4 => prop::sample::select(vec!["K", "M", "G", "T", "P"]),
        1 => prop::sample::select(vec!["k", "X", "KK", "KiB", "E", "Ḱ"]),
    ];
    (letter, number, suffix).prop_map(|(l, n, s)| format!("{l}{n}{s}"))
}

/// Notations to throw at the parser: token sequences with odd spacing, generated valid layouts
/// (through their notation) and arbitrary unicode.
fn notations() -> impl Strategy<Value = String> {
    let spacing = prop::sample::select(vec![
        " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u{a0}", "\u{3000}", "",
    ]);
    let tokens = (
        prop::collection::vec((token(), spacing.clone()), 0..8),
        spacing.clone(),
    )
        .prop_map(|(tokens, lead)| {
            let mut text = lead.to_string();
            for (token, space) in tokens {
                text.push_str(&token);
                text.push_str(space);
            }
            text
        });
    prop_oneof![
        6 => tokens,
        2 => layouts(1).prop_map(|layout| layout.to_string()),
        1 => "[-DHZKMGTP0-9 \t]{0,12}",
        1 => any::<String>(),
    ]
}

/// Replays the corpus, then `corpus::cases()` random notations.
pub fn run() {
    let started = std::time::Instant::now();
    let known = corpus::known_bugs("layouts");
    let seeds = corpus::layout_seeds();
    for (note, input) in &seeds {
        if known.contains(&format!("{input:?}")) {
            println!("skipping known bug {input:?} ({note})");
            continue;
        }
        if let Err(why) = check(input) {
            panic!("corpus seed {input:?} ({note}): {why}");
        }
    }
    let mut runner = corpus::runner();
    if let Err(error) = runner.run(&notations(), |text| {
        check(&text).map_err(TestCaseError::fail)
    }) {
        panic!("{error}");
    }
    corpus::report("layout_notation", seeds.len(), started);
}
