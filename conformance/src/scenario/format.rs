//! Reading and writing scenario files.

use std::fmt;

use stream_core::{EventSet, Layout, StreamKind};

/// How the scenario's stream is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Open {
    /// `new`: created, never bound.
    New,
    /// `open upload [sparse] [offset=N] [length=N]`
    Upload {
        sparse: bool,
        offset: u64,
        length: u64,
    },
    /// `open download [sparse] [offset=N] [length=N]`
    Download {
        sparse: bool,
        offset: u64,
        length: u64,
    },
    /// `open screenshot`
    Screenshot,
}

/// Everything before the first operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// `kind remote|local`: the stream kind the results were recorded on.
    pub kind: StreamKind,
    /// `volume <layout>`: a fresh volume holding this layout (uploads and downloads).
    pub volume: Option<Layout>,
    /// `nonblock`: the stream is created with `VIR_STREAM_NONBLOCK`.
    pub nonblock: bool,
    /// The stream's binding.
    pub open: Open,
}

/// One operation on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `send <n> [byte=B]`: n bytes of value B (default 7).
    Send { len: usize, byte: u8 },
    /// `send-hole <n> [flags=F]`
    SendHole { len: i64, flags: u32 },
    /// `recv <n> [stop-at-hole] [flags=F]`: [`Stream::recv`], `virStreamRecv` for no flags.
    ///
    /// [`Stream::recv`]: stream_core::Stream::recv
    Recv { len: usize, flags: u32 },
    /// `recv-flags <n> [stop-at-hole] [flags=F]`: `virStreamRecvFlags` even for no flags.
    RecvFlags { len: usize, flags: u32 },
    /// `recv-hole [flags=F]`
    RecvHole { flags: u32 },
    /// `drain <n> [stop-at-hole] [digest]`: recv until end of stream, holes taken with
    /// recv-hole; with `digest`, the result ends with a digest of the bytes received (holes as
    /// zeros) that a new build of libvirt does not change (see [`super::content_digest`]).
    Drain {
        len: usize,
        stop_at_hole: bool,
        digest: bool,
    },
    /// `add-callback <events>`
    AddCallback(EventSet),
    /// `update-callback <events>`
    UpdateCallback(EventSet),
    /// `remove-callback`
    RemoveCallback,
    /// `finish`
    Finish,
    /// `abort`
    Abort,
    /// `volume`: the volume's hole map and a checksum of its bytes.
    Volume,
}

/// An operation, where it is in the file, and what it must return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 1-based line of the operation.
    pub line: usize,
    /// The operation's text as written.
    pub text: String,
    /// The operation.
    pub op: Op,
    /// The recorded result (`None` when not recorded yet).
    pub expected: Option<String>,
}

/// A parsed scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Leading `#` comment lines (the scenario's description), kept when recording.
    pub comments: Vec<String>,
    /// The setup.
    pub setup: Setup,
    /// The operations.
    pub steps: Vec<Step>,
}

/// Why a scenario file was refused: line and rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {rule}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong there.
    pub rule: String,
}

fn number<T: std::str::FromStr>(word: &str, line: usize, what: &str) -> Result<T, ParseError> {
    word.parse().map_err(|_| ParseError {
        line,
        rule: format!("{what} must be a number, got `{word}`"),
    })
}

fn flag_value(word: &str, line: usize) -> Result<Option<u32>, ParseError> {
    match word.strip_prefix("flags=") {
        Some(value) => {
            let parsed = match value.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => value.parse().ok(),
            };
            parsed.map(Some).ok_or_else(|| ParseError {
                line,
                rule: format!("bad flags `{value}`"),
            })
        }
        None => Ok(None),
    }
}

fn events(word: Option<&str>, line: usize) -> Result<EventSet, ParseError> {
    let word = word.ok_or_else(|| ParseError {
        line,
        rule: "events missing (e.g. READABLE|HANGUP)".into(),
    })?;
    if word == "NONE" {
        return Ok(EventSet::empty());
    }
    bitflags::parser::from_str::<EventSet>(&word.replace('|', " | ")).map_err(|error| ParseError {
        line,
        rule: format!("bad events `{word}`: {error}"),
    })
}

fn range(words: &[&str], line: usize) -> Result<(bool, u64, u64), ParseError> {
    let (mut sparse, mut offset, mut length) = (false, 0, 0);
    for word in words {
        match *word {
            "sparse" => sparse = true,
            other if other.starts_with("offset=") => offset = number(&other[7..], line, "offset")?,
            other if other.starts_with("length=") => length = number(&other[7..], line, "length")?,
            other => {
                return Err(ParseError {
                    line,
                    rule: format!("unknown word `{other}` in open"),
                });
            }
        }
    }
    Ok((sparse, offset, length))
}

/// The largest `send` / `recv` / `drain` size a scenario may ask for: the runner allocates it.
/// Above [`libvirt_errors::MAX_REMOTE_SEND`] (33554408), so "data too long" stays testable.
///
/// [`libvirt_errors::MAX_REMOTE_SEND`]: stream_core::libvirt_errors::MAX_REMOTE_SEND
const MAX_BUFFER: usize = 64 << 20;

/// A buffer size (`send`, `recv`, `drain`): a number of at most [`MAX_BUFFER`].
fn buffer_size(word: &str, line: usize, what: &str) -> Result<usize, ParseError> {
    let size: usize = number(word, line, what)?;
    if size > MAX_BUFFER {
        return Err(ParseError {
            line,
            rule: format!(
                "{what} must be at most {MAX_BUFFER} (the runner allocates it), got {size}"
            ),
        });
    }
    Ok(size)
}

fn parse_op(words: &[&str], line: usize) -> Result<Op, ParseError> {
    let op = words[0];
    let arg = |index: usize, what: &str| {
        words.get(index).copied().ok_or_else(|| ParseError {
            line,
            rule: format!("{op} needs {what}"),
        })
    };
    // What each operation takes after its name: positional arguments, then optional words.
    let (positional, optional): (usize, &[&str]) = match op {
        "send" => (1, &["byte="]),
        "send-hole" => (1, &["flags="]),
        "recv" | "recv-flags" => (1, &["stop-at-hole", "flags="]),
        "recv-hole" => (0, &["flags="]),
        "drain" => (1, &["stop-at-hole", "digest"]),
        "add-callback" | "update-callback" => (1, &[]),
        "remove-callback" | "finish" | "abort" | "volume" => (0, &[]),
        other => {
            return Err(ParseError {
                line,
                rule: format!("unknown operation `{other}`"),
            });
        }
    };
    // A misspelt or misplaced word would otherwise be ignored and the scenario mean less.
    for word in words.iter().skip(1 + positional) {
        let known = optional.iter().any(|name| match name.strip_suffix('=') {
            Some(key) => word
                .strip_prefix(key)
                .is_some_and(|rest| rest.starts_with('=')),
            None => word == name,
        });
        if !known {
            let takes = if optional.is_empty() {
                "nothing more".to_string()
            } else {
                optional.join(" ")
            };
            return Err(ParseError {
                line,
                rule: format!("unknown word `{word}` for {op} (it takes {takes})"),
            });
        }
    }
    let mut flags = 0;
    let mut stop_at_hole = false;
    let mut digest = false;
    let mut byte = 7u8;
    for word in words.iter().skip(1 + positional) {
        if let Some(value) = flag_value(word, line)? {
            flags = value;
        } else if *word == "stop-at-hole" {
            stop_at_hole = true;
        } else if *word == "digest" {
            digest = true;
        } else if let Some(value) = word.strip_prefix("byte=") {
            byte = number(value, line, "byte (0 to 255)")?;
        }
    }
    Ok(match op {
        "send" => Op::Send {
            len: buffer_size(arg(1, "a length")?, line, "send length")?,
            byte,
        },
        "send-hole" => Op::SendHole {
            len: number(arg(1, "a length")?, line, "length")?,
            flags,
        },
        "recv" => {
            let len = buffer_size(arg(1, "a buffer size")?, line, "buffer size")?;
            Op::Recv {
                len,
                flags: flags | u32::from(stop_at_hole),
            }
        }
        "recv-flags" => {
            let len = buffer_size(arg(1, "a buffer size")?, line, "buffer size")?;
            Op::RecvFlags {
                len,
                flags: flags | u32::from(stop_at_hole),
            }
        }
        "recv-hole" => Op::RecvHole { flags },
        "drain" => Op::Drain {
            len: buffer_size(arg(1, "a buffer size")?, line, "buffer size")?,
            stop_at_hole,
            digest,
        },
        "add-callback" => Op::AddCallback(events(words.get(1).copied(), line)?),
        "update-callback" => Op::UpdateCallback(events(words.get(1).copied(), line)?),
        "remove-callback" => Op::RemoveCallback,
        "finish" => Op::Finish,
        "abort" => Op::Abort,
        "volume" => Op::Volume,
        other => {
            return Err(ParseError {
                line,
                rule: format!("unknown operation `{other}`"),
            });
        }
    })
}

/// Parse a scenario file's text.
pub fn parse(text: &str) -> Result<Scenario, ParseError> {
    let mut comments = Vec::new();
    let (mut kind, mut volume, mut nonblock, mut open) = (None, None, false, None);
    let mut steps: Vec<Step> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if steps.is_empty() && open.is_none() {
                comments.push(comment.trim().to_string());
            }
            continue;
        }
        if let Some(result) = trimmed.strip_prefix("=>") {
            let step = steps.last_mut().ok_or_else(|| ParseError {
                line,
                rule: "a result before any operation".into(),
            })?;
            if step.expected.is_some() {
                return Err(ParseError {
                    line,
                    rule: "two results for one operation".into(),
                });
            }
            step.expected = Some(result.trim().to_string());
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        match words[0] {
            "kind" if open.is_none() => {
                kind = Some(match words.get(1).copied() {
                    Some("remote") => StreamKind::Remote,
                    Some("local") => StreamKind::Local,
                    _ => {
                        return Err(ParseError {
                            line,
                            rule: "kind is `remote` or `local`".into(),
                        });
                    }
                })
            }
            "volume" if open.is_none() => {
                let notation = trimmed["volume".len()..].trim();
                volume = Some(Layout::parse(notation).map_err(|error| ParseError {
                    line,
                    rule: error.to_string(),
                })?);
            }
            "nonblock" if open.is_none() => nonblock = true,
            "new" if open.is_none() => open = Some(Open::New),
            "open" if open.is_none() => {
                open = Some(match words.get(1).copied() {
                    Some("upload") => {
                        let (sparse, offset, length) = range(&words[2..], line)?;
                        Open::Upload {
                            sparse,
                            offset,
                            length,
                        }
                    }
                    Some("download") => {
                        let (sparse, offset, length) = range(&words[2..], line)?;
                        Open::Download {
                            sparse,
                            offset,
                            length,
                        }
                    }
                    Some("screenshot") => Open::Screenshot,
                    _ => {
                        return Err(ParseError {
                            line,
                            rule: "open upload|download|screenshot".into(),
                        });
                    }
                })
            }
            _ if open.is_none() => {
                return Err(ParseError {
                    line,
                    rule: format!("`{}` before `open` or `new`", words[0]),
                });
            }
            _ => steps.push(Step {
                line,
                text: trimmed.to_string(),
                op: parse_op(&words, line)?,
                expected: None,
            }),
        }
    }
    let kind = kind.ok_or(ParseError {
        line: 1,
        rule: "no `kind remote|local` line".into(),
    })?;
    let open = open.ok_or(ParseError {
        line: 1,
        rule: "no `open …` or `new` line".into(),
    })?;
    Ok(Scenario {
        comments,
        setup: Setup {
            kind,
            volume,
            nonblock,
            open,
        },
        steps,
    })
}

impl fmt::Display for Scenario {
    /// The file again, with each step's expected result (as recorded).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for comment in &self.comments {
            writeln!(f, "# {comment}")?;
        }
        let kind = match self.setup.kind {
            StreamKind::Remote => "remote",
            StreamKind::Local => "local",
        };
        writeln!(f, "kind {kind}")?;
        if let Some(layout) = &self.setup.volume {
            writeln!(f, "volume {layout}")?;
        }
        if self.setup.nonblock {
            writeln!(f, "nonblock")?;
        }
        let range = |sparse: bool, offset: u64, length: u64| {
            let mut words = String::new();
            if sparse {
                words.push_str(" sparse");
            }
            if offset != 0 {
                words.push_str(&format!(" offset={offset}"));
            }
            if length != 0 {
                words.push_str(&format!(" length={length}"));
            }
            words
        };
        match &self.setup.open {
            Open::New => writeln!(f, "new")?,
            Open::Upload {
                sparse,
                offset,
                length,
            } => writeln!(f, "open upload{}", range(*sparse, *offset, *length))?,
            Open::Download {
                sparse,
                offset,
                length,
            } => writeln!(f, "open download{}", range(*sparse, *offset, *length))?,
            Open::Screenshot => writeln!(f, "open screenshot")?,
        }
        for step in &self.steps {
            writeln!(f, "\n{}", step.text)?;
            if let Some(expected) = &step.expected {
                writeln!(f, "=> {expected}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Op {
    /// The operation as a scenario file writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = |flags: u32| {
            if flags == 0 {
                String::new()
            } else {
                format!(" flags={flags}")
            }
        };
        match *self {
            Op::Send { len, byte: 7 } => write!(f, "send {len}"),
            Op::Send { len, byte } => write!(f, "send {len} byte={byte}"),
            Op::SendHole { len, flags: bits } => write!(f, "send-hole {len}{}", flags(bits)),
            Op::Recv { len, flags: 1 } => write!(f, "recv {len} stop-at-hole"),
            Op::Recv { len, flags: bits } => write!(f, "recv {len}{}", flags(bits)),
            Op::RecvFlags { len, flags: 1 } => write!(f, "recv-flags {len} stop-at-hole"),
            Op::RecvFlags { len, flags: bits } => write!(f, "recv-flags {len}{}", flags(bits)),
            Op::RecvHole { flags: bits } => write!(f, "recv-hole{}", flags(bits)),
            Op::Drain {
                len,
                stop_at_hole,
                digest,
            } => {
                write!(f, "drain {len}")?;
                if stop_at_hole {
                    write!(f, " stop-at-hole")?;
                }
                if digest {
                    write!(f, " digest")?;
                }
                Ok(())
            }
            Op::AddCallback(events) => {
                write!(f, "add-callback {}", events.to_string().replace(" | ", "|"))
            }
            Op::UpdateCallback(events) => write!(
                f,
                "update-callback {}",
                events.to_string().replace(" | ", "|")
            ),
            Op::RemoveCallback => write!(f, "remove-callback"),
            Op::Finish => write!(f, "finish"),
            Op::Abort => write!(f, "abort"),
            Op::Volume => write!(f, "volume"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# a sparse download\nkind remote\nvolume D4K H8K\nopen download sparse\n\nrecv 65536 stop-at-hole\n=> 4096\n\nrecv-hole\n=> 8192\n\nfinish\n=> ok\n";

    #[test]
    fn parses_and_prints_back() {
        let scenario = parse(SAMPLE).unwrap();
        assert_eq!(scenario.steps.len(), 3);
        assert_eq!(
            scenario.steps[0].op,
            Op::Recv {
                len: 65536,
                flags: 1
            }
        );
        assert_eq!(parse(&scenario.to_string()).unwrap(), scenario);
    }

    #[test]
    fn operations_print_as_they_parse() {
        let text = "kind remote\nnew\nsend 4\nsend 4 byte=2\nsend-hole 5 flags=1\nrecv 8 stop-at-hole\nrecv 8 flags=2\n\
                    recv-flags 8\nrecv-flags 8 stop-at-hole\nrecv-hole\ndrain 9 stop-at-hole\ndrain 9 digest\n\
                    drain 9 stop-at-hole digest\nadd-callback READABLE|HANGUP\nupdate-callback NONE\nremove-callback\n\
                    finish\nabort\nvolume\n";
        for step in parse(text).unwrap().steps {
            assert_eq!(step.op.to_string(), step.text);
        }
    }

    #[test]
    fn refuses_bad_files_naming_the_line() {
        for (text, rule) in [
            ("open download\n", "no `kind"),
            ("kind remote\nrecv 5\n", "before `open`"),
            ("kind remote\nnew\nfrobnicate\n", "unknown operation"),
            ("kind remote\nnew\nrecv x\n", "must be a number"),
            ("kind remote\nnew\n=> ok\n=> ok\n", "before any operation"),
            ("kind remote\nvolume D4X\nnew\n", "unknown size suffix"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.to_string().contains(rule), "{text:?}: {error}");
        }
    }
}
