//! Fault plans as text, so a plan can live in a file (`virtstream serve --faults FILE`) for
//! clients that are not written in Rust, and print back as it was written.
//!
//! ```text
//! # one fault per line; `#` starts a comment; sizes take K, M, G, T or P (1K = 1024)
//! would-block call=2
//! short call=3 max=100
//! error at=64K code=38 domain=38 message="cannot read from stream: Input/output error"
//! die at=1M
//! ```
//!
//! Each line is a fault's name and `key=value` fields, every field required and none repeated;
//! `message` is in double quotes, with `\"` and `\\` inside. The meaning of each fault is
//! [`Fault`]'s. The kind of an injected error follows from its libvirt code, as it does for an
//! error that comes from libvirt itself ([`libvirt_errors::kind_of`]).

use std::fmt;
use std::str::FromStr;

use stream_core::layout::parse_length;
use stream_core::{Error, ErrorKind, libvirt_errors};

use crate::faults::{Fault, FaultPlan, InjectedError};

impl FromStr for FaultPlan {
    type Err = Error;

    fn from_str(text: &str) -> Result<FaultPlan, Error> {
        let mut plan = FaultPlan::new();
        for (index, line) in text.lines().enumerate() {
            let refuse = |why: String| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("bad fault plan: line {}: {why}", index + 1),
                )
            };
            let tokens = tokens(line).map_err(refuse)?;
            let Some((name, fields)) = tokens.split_first() else {
                continue;
            };
            let fault = fault(name, Fields::new(fields).map_err(refuse)?).map_err(refuse)?;
            plan = plan.with(fault);
        }
        Ok(plan)
    }
}

impl fmt::Display for FaultPlan {
    /// One line per fault, in the format [`FaultPlan::from_str`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for fault in self.faults() {
            match fault {
                Fault::WouldBlockAt { call } => writeln!(f, "would-block call={call}")?,
                Fault::ShortAt { call, max } => writeln!(f, "short call={call} max={max}")?,
                Fault::ErrorAt { at, error } => writeln!(
                    f,
                    "error at={at} code={} domain={} message=\"{}\"",
                    error.code,
                    error.domain,
                    error.message.replace('\\', "\\\\").replace('"', "\\\"")
                )?,
                Fault::DieAt { at } => writeln!(f, "die at={at}")?,
            }
        }
        Ok(())
    }
}

/// The fault a line names, from its fields.
fn fault(name: &str, mut fields: Fields) -> Result<Fault, String> {
    let fault = match name {
        "would-block" => Fault::WouldBlockAt {
            call: fields.number("call")?,
        },
        "short" => Fault::ShortAt {
            call: fields.number("call")?,
            max: usize::try_from(fields.size("max")?)
                .map_err(|_| "`max` does not fit this machine's usize".to_string())?,
        },
        "error" => {
            let at = fields.size("at")?;
            let code = fields.integer("code")?;
            let domain = fields.integer("domain")?;
            let message = fields.take("message")?;
            let kind = libvirt_errors::kind_of(code, domain, &message);
            Fault::ErrorAt {
                at,
                error: InjectedError::new(kind, code, domain, message),
            }
        }
        "die" => Fault::DieAt {
            at: fields.size("at")?,
        },
        other => {
            return Err(format!(
                "unknown fault `{other}` (known: would-block, short, error, die)"
            ));
        }
    };
    fields.done(name)?;
    Ok(fault)
}

/// A line's `key=value` fields, taken one by one so a missing, repeated or unknown one is named.
struct Fields {
    fields: Vec<(String, String)>,
}

impl Fields {
    fn new(tokens: &[String]) -> Result<Fields, String> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for token in tokens {
            let Some((key, value)) = token.split_once('=') else {
                return Err(format!("`{token}` is not a key=value field"));
            };
            if fields.iter().any(|(seen, _)| seen == key) {
                return Err(format!("field `{key}` is given twice"));
            }
            fields.push((key.to_string(), value.to_string()));
        }
        Ok(Fields { fields })
    }

    fn take(&mut self, key: &str) -> Result<String, String> {
        let at = self
            .fields
            .iter()
            .position(|(name, _)| name == key)
            .ok_or_else(|| format!("field `{key}` is missing"))?;
        Ok(self.fields.remove(at).1)
    }

    /// A byte position or count: a size in the layout notation's units.
    fn size(&mut self, key: &str) -> Result<u64, String> {
        let value = self.take(key)?;
        parse_length(&value).map_err(|why| format!("`{key}={value}`: {why}"))
    }

    /// A call number, counted from 1.
    fn number(&mut self, key: &str) -> Result<u64, String> {
        let value = self.take(key)?;
        value
            .parse()
            .map_err(|_| format!("`{key}={value}`: not a call number"))
    }

    /// A libvirt code or domain (a C int).
    fn integer(&mut self, key: &str) -> Result<i32, String> {
        let value = self.take(key)?;
        value
            .parse()
            .map_err(|_| format!("`{key}={value}`: not a 32-bit integer"))
    }

    fn done(self, name: &str) -> Result<(), String> {
        match self.fields.first() {
            Some((key, _)) => Err(format!("`{name}` has no field `{key}`")),
            None => Ok(()),
        }
    }
}

/// A line's words, with a double-quoted `"..."` value kept whole; a comment ends the line.
fn tokens(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Ok(tokens),
            Some(_) => {}
        }
        let mut token = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            if c != '"' {
                token.push(c);
                continue;
            }
            loop {
                match chars.next() {
                    None => return Err("a quoted value has no closing `\"`".to_string()),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(escaped @ ('"' | '\\')) => token.push(escaped),
                        _ => return Err("only `\\\"` and `\\\\` escape in quotes".to_string()),
                    },
                    Some(other) => token.push(other),
                }
            }
        }
        tokens.push(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_reads_and_prints_back() {
        let text = "would-block call=2\nshort call=3 max=100\n\
            error at=65536 code=38 domain=38 message=\"cannot \\\"read\\\" \\\\ from stream\"\n\
            die at=1048576\n";
        let plan: FaultPlan = text.parse().unwrap();
        assert_eq!(plan.to_string(), text);
        let Fault::ErrorAt { error, .. } = &plan.faults()[2] else {
            panic!("{plan:?}");
        };
        assert_eq!(error.message, "cannot \"read\" \\ from stream");
        assert_eq!(error.kind, ErrorKind::System);
    }

    #[test]
    fn sizes_take_suffixes_and_comments_and_blank_lines_are_skipped() {
        let plan: FaultPlan = "# a plan\n\n  die at=1M   # the daemon dies\n"
            .parse()
            .unwrap();
        assert_eq!(plan.faults(), [Fault::DieAt { at: 1 << 20 }]);
    }

    #[test]
    fn bad_lines_are_refused_naming_the_line_and_the_rule() {
        let cases = [
            ("die", "line 1: field `at` is missing"),
            ("\ndie at=1 at=2", "line 2: field `at` is given twice"),
            ("die at=1 code=3", "`die` has no field `code`"),
            ("stall at=1", "unknown fault `stall`"),
            ("die at=-1", "`at=-1`"),
            ("short call=x max=1", "`call=x`: not a call number"),
            ("error at=0 code=1 domain=1 message=\"open", "no closing"),
            ("die 5", "`5` is not a key=value field"),
        ];
        for (text, rule) in cases {
            let error = text.parse::<FaultPlan>().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{text}");
            assert!(error.message().contains(rule), "{text}: {error}");
            assert!(
                error.message().starts_with("bad fault plan: line "),
                "{error}"
            );
        }
    }
}
