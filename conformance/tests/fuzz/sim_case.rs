//! The text form of a `sim_sequences` case (`fixtures/fuzz/sim/*.sim-fuzz`): a failure prints its
//! minimal input this way, and the corpus replays it.
//!
//! ```text
//! profile remote            # or local
//! block 1                   # the simulator's block size
//! would-block 300           # optional: NONBLOCK calls find nothing ready 300‰ of the time
//! layout D4K H1M            # volume `default/v`
//! open nonblock upload sparse offset=N length=N would-block@2 short@3:100 error@4096:system die@N
//! open download | open new | open screenshot test | open missing-upload | open missing-download
//! send 4097 byte=0          # any scenario operation (conformance/README.md)
//! add-callback READABLE run-once   # the callback counts, re-enters run_once, or kills the connection
//! run-once | drop | kill
//! ```

use std::fmt;

use stream_conformance::scenario::{self, Op};
use stream_core::{ErrorKind, EventSet, Layout};
use stream_sim::{Fault, InjectedError};

use super::sim_sequences::{Action, Bind, Callback, Case};

/// The far-side errors a plan injects, by the name the text gives them.
pub fn injected(name: &str) -> Option<InjectedError> {
    Some(match name {
        "system" => InjectedError::new(
            ErrorKind::System,
            38,
            18,
            "cannot read from stream: Input/output error",
        ),
        "rpc" => InjectedError::new(ErrorKind::Rpc, 1, 7, "internal error: far side"),
        _ => return None,
    })
}

fn injected_name(error: &InjectedError) -> &'static str {
    if error.kind == ErrorKind::Rpc {
        "rpc"
    } else {
        "system"
    }
}

fn events(set: EventSet) -> String {
    set.to_string().replace(" | ", "|")
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Open {
                nonblock,
                bind,
                plan,
            } => {
                write!(f, "open{}", if *nonblock { " nonblock" } else { "" })?;
                let range = |sparse: bool, offset: u64, length: u64| {
                    format!(
                        "{} offset={offset} length={length}",
                        if sparse { " sparse" } else { "" }
                    )
                };
                match bind {
                    Bind::New => write!(f, " new")?,
                    Bind::Upload {
                        sparse,
                        offset,
                        length,
                    } => write!(f, " upload{}", range(*sparse, *offset, *length))?,
                    Bind::Download {
                        sparse,
                        offset,
                        length,
                    } => write!(f, " download{}", range(*sparse, *offset, *length))?,
                    Bind::Screenshot(domain) => write!(f, " screenshot {domain:?}")?,
                    Bind::Missing { upload: true } => write!(f, " missing-upload")?,
                    Bind::Missing { upload: false } => write!(f, " missing-download")?,
                }
                for fault in plan {
                    match fault {
                        Fault::WouldBlockAt { call } => write!(f, " would-block@{call}")?,
                        Fault::ShortAt { call, max } => write!(f, " short@{call}:{max}")?,
                        Fault::ErrorAt { at, error } => {
                            write!(f, " error@{at}:{}", injected_name(error))?
                        }
                        Fault::DieAt { at } => write!(f, " die@{at}")?,
                        Fault::StallAt { at } => write!(f, " stall@{at}")?,
                        Fault::DiskFullAt { at } => write!(f, " disk-full@{at}")?,
                    }
                }
                Ok(())
            }
            Action::Call(op) => write!(f, "{op}"),
            Action::AddCallback(set, callback) => {
                let callback = match callback {
                    Callback::Count => "count",
                    Callback::RunOnce => "run-once",
                    Callback::Kill => "kill",
                };
                write!(f, "add-callback {} {callback}", events(*set))
            }
            Action::RunOnce => write!(f, "run-once"),
            Action::Drop => write!(f, "drop"),
            Action::Kill => write!(f, "kill"),
        }
    }
}

impl fmt::Debug for Case {
    /// The case as a `.sim-fuzz` file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let profile = if self.remote { "remote" } else { "local" };
        writeln!(f, "profile {profile}\nblock {}", self.block)?;
        if let Some(per_mille) = self.would_block {
            writeln!(f, "would-block {per_mille}")?;
        }
        writeln!(f, "layout {}", self.layout)?;
        for action in &self.actions {
            writeln!(f, "{action}")?;
        }
        Ok(())
    }
}

fn number<T: std::str::FromStr>(word: &str) -> Result<T, String> {
    word.parse()
        .map_err(|_| format!("`{word}` is not a number here"))
}

fn fault(word: &str) -> Result<Option<Fault>, String> {
    let Some((name, at)) = word.split_once('@') else {
        return Ok(None);
    };
    Ok(Some(match name {
        "would-block" => Fault::WouldBlockAt { call: number(at)? },
        "short" => {
            let (call, max) = at.split_once(':').ok_or("short@CALL:MAX")?;
            Fault::ShortAt {
                call: number(call)?,
                max: number(max)?,
            }
        }
        "error" => {
            let (at, name) = at.split_once(':').ok_or("error@BYTE:system|rpc")?;
            let error = injected(name).ok_or(format!("no injected error `{name}`"))?;
            Fault::ErrorAt {
                at: number(at)?,
                error,
            }
        }
        "die" => Fault::DieAt { at: number(at)? },
        "stall" => Fault::StallAt { at: number(at)? },
        "disk-full" => Fault::DiskFullAt { at: number(at)? },
        _ => return Err(format!("unknown fault `{word}`")),
    }))
}

fn open(words: &[&str]) -> Result<Action, String> {
    let mut words = words.iter().copied().peekable();
    let nonblock = words.next_if_eq(&"nonblock").is_some();
    let kind = words.next().ok_or("open needs a binding")?;
    let (mut sparse, mut offset, mut length, mut plan) = (false, 0, 0, Vec::new());
    let mut domain = None;
    for word in words {
        if word == "sparse" {
            sparse = true;
        } else if let Some(value) = word.strip_prefix("offset=") {
            offset = number(value)?;
        } else if let Some(value) = word.strip_prefix("length=") {
            length = number(value)?;
        } else if let Some(fault) = fault(word)? {
            plan.push(fault);
        } else if kind == "screenshot" && domain.is_none() {
            domain = Some(super::corpus::unquote(word)?.leak() as &'static str);
        } else {
            return Err(format!("unknown word `{word}` in open"));
        }
    }
    let bind = match kind {
        "new" => Bind::New,
        "upload" => Bind::Upload {
            sparse,
            offset,
            length,
        },
        "download" => Bind::Download {
            sparse,
            offset,
            length,
        },
        "screenshot" => Bind::Screenshot(domain.unwrap_or("test")),
        "missing-upload" => Bind::Missing { upload: true },
        "missing-download" => Bind::Missing { upload: false },
        other => return Err(format!("unknown binding `{other}`")),
    };
    Ok(Action::Open {
        nonblock,
        bind,
        plan,
    })
}

fn action(line: &str) -> Result<Action, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    Ok(match words.as_slice() {
        ["open", rest @ ..] => open(rest)?,
        ["run-once"] => Action::RunOnce,
        ["drop"] => Action::Drop,
        ["kill"] => Action::Kill,
        ["add-callback", set, callback] => {
            let callback = match *callback {
                "count" => Callback::Count,
                "run-once" => Callback::RunOnce,
                "kill" => Callback::Kill,
                other => return Err(format!("unknown callback `{other}`")),
            };
            let op = scenario::parse(&format!("kind remote\nnew\nadd-callback {set}\n"))
                .map_err(|e| e.to_string())?;
            match op.steps[0].op {
                Op::AddCallback(set) => Action::AddCallback(set, callback),
                _ => unreachable!("add-callback parses as add-callback"),
            }
        }
        _ => {
            let parsed = scenario::parse(&format!("kind remote\nnew\n{line}\n"))
                .map_err(|e| e.to_string())?;
            Action::Call(parsed.steps[0].op.clone())
        }
    })
}

/// Reads a `.sim-fuzz` file (`#` lines are notes).
pub fn parse(text: &str) -> Result<Case, String> {
    let mut case = Case {
        remote: true,
        block: 4096,
        would_block: None,
        layout: Layout::default(),
        actions: Vec::new(),
    };
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |why: String| format!("line {}: {why}", index + 1);
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        match head {
            "profile" => case.remote = rest.trim() != "local",
            "block" => case.block = number(rest.trim()).map_err(at)?,
            "would-block" => case.would_block = Some(number(rest.trim()).map_err(at)?),
            "layout" => case.layout = Layout::parse(rest).map_err(|e| at(e.to_string()))?,
            _ => case.actions.push(action(line).map_err(at)?),
        }
    }
    Ok(case)
}
