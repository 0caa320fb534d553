//! JSON string literals for the hand-written reports (the conformance report, the soak report):
//! the one piece of JSON they need, without a serializer for two flat documents.

use std::fmt::Write as _;

/// `text` as a JSON string literal, quotes included.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(
            string("a\"b\\c\nd\u{1}\t\r"),
            "\"a\\\"b\\\\c\\nd\\u0001\\t\\r\""
        );
    }
}
