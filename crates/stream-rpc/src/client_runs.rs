//! The recorded client runs, replayable: `fixtures/rpc/clients/runs.txt` names each run behind a
//! recording and its command; [`record`] runs one through a [`Proxy`] in front of any libvirt
//! socket (a real libvirtd, or `virtstream serve`) and returns what passed. Recording the same runs
//! against the served simulator is how its traffic is compared with libvirtd's.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::proxy::{Proxy, Recording};
use crate::record::Record;

/// One client run: its name (the recording's file stem), the exit status it must end with and
/// its `sh -c` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRun {
    /// `vol-upload-sparse`, … (the recording is `NAME.rec`).
    pub name: String,
    /// The exit status the command ends with when it behaves as recorded.
    pub exit: i32,
    /// The command, for `sh -c`.
    pub command: String,
}

/// The runs of a manifest (`runs.txt`): one per line `NAME EXIT COMMAND…`; `#` lines and blank
/// lines are skipped. A line that is not a run is refused with its number.
pub fn parse_runs(text: &str) -> Result<Vec<ClientRun>, String> {
    let mut runs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.splitn(3, ' ');
        let (Some(name), Some(exit), Some(command)) = (words.next(), words.next(), words.next())
        else {
            return Err(format!("runs line {}: want NAME EXIT COMMAND", index + 1));
        };
        let exit = exit
            .parse()
            .map_err(|_| format!("runs line {}: exit status `{exit}`", index + 1))?;
        if runs.iter().any(|run: &ClientRun| run.name == name) {
            return Err(format!("runs line {}: `{name}` is named twice", index + 1));
        }
        runs.push(ClientRun {
            name: name.to_string(),
            exit,
            command: command.to_string(),
        });
    }
    Ok(runs)
}

/// What the commands use besides the socket.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `fixtures/rpc/clients`, the client scripts.
    pub clients: PathBuf,
    /// Debian's python3, with libvirt-python.
    pub python: PathBuf,
    /// The `virtstream` binary.
    pub virtstream: PathBuf,
}

/// What one run did.
#[derive(Debug)]
pub struct RunOutcome {
    /// How the command ended (`None`: killed at the deadline).
    pub status: Option<ExitStatus>,
    /// Its standard output then its standard error (kept in `workdir` as NAME.stdout, NAME.stderr).
    pub output: String,
    /// Every record that passed the proxy, in order.
    pub records: Vec<Record>,
    /// The proxy's comment lines (frames it could not read).
    pub comments: Vec<String>,
}

impl RunOutcome {
    /// Whether the command ended with `exit`.
    pub fn exited(&self, exit: i32) -> bool {
        self.status.and_then(|status| status.code()) == Some(exit)
    }
}

/// Runs `run` in `workdir` (the caller's private directory: the proxy's socket and the inputs go
/// there) with the proxy in front of `upstream`, killing it (its whole process group) after
/// `deadline`.
pub fn record(
    run: &ClientRun,
    upstream: &Path,
    workdir: &Path,
    tools: &Tools,
    deadline: Duration,
) -> io::Result<RunOutcome> {
    let socket = workdir.join(format!("proxy-{}.sock", std::process::id()));
    let recording = Recording::new();
    let proxy = Proxy::start(&socket, upstream, recording.clone())?;
    let uri = |driver: &str, socket: &Path| format!("{driver}?socket={}", socket.display());
    let log = |stream: &str| std::fs::File::create(workdir.join(format!("{}.{stream}", run.name)));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&run.command)
        .current_dir(workdir)
        .env("URI", uri("storage:///system", &socket))
        .env("TEST_URI", uri("test+unix:///default", &socket))
        .env("DIRECT_URI", uri("storage:///system", upstream))
        .env("CLIENTS", &tools.clients)
        .env("PYTHON", &tools.python)
        .env("VIRTSTREAM", &tools.virtstream)
        .stdin(Stdio::null())
        .stdout(log("stdout")?)
        .stderr(log("stderr")?)
        .process_group(0)
        .spawn()?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > deadline {
            // The group is the child's own (process_group(0)), so this reaches only what it ran.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    proxy.stop();
    let mut output = String::new();
    for stream in ["stdout", "stderr"] {
        let path = workdir.join(format!("{}.{stream}", run.name));
        output.push_str(&std::fs::read_to_string(path).unwrap_or_default());
    }
    let lines = recording.lines();
    Ok(RunOutcome {
        status,
        output,
        records: recording.records(),
        comments: lines.into_iter().filter(|l| l.starts_with('#')).collect(),
    })
}

/// Writes the runs' inputs into `dir`: `sparse.in`, 1 MiB with data at [0, 64 KiB) and
/// [512 KiB, 576 KiB) and holes elsewhere, and `small8k.in`, 8192 bytes of data (both
/// pseudo-random, the same on every run).
pub fn write_inputs(dir: &Path) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut bytes = pseudo_random(0x5eed);
    let mut sparse = std::fs::File::create(dir.join("sparse.in"))?;
    sparse.set_len(1 << 20)?;
    for at in [0, 512 << 10] {
        sparse.seek(SeekFrom::Start(at))?;
        sparse.write_all(&(&mut bytes).take(64 << 10).collect::<Vec<u8>>())?;
    }
    std::fs::write(
        dir.join("small8k.in"),
        (&mut bytes).take(8192).collect::<Vec<u8>>(),
    )
}

/// xorshift64: data that does not compress and is the same every run.
fn pseudo_random(seed: u64) -> impl Iterator<Item = u8> {
    let mut state = seed;
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state.to_le_bytes()
    })
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_read_name_exit_and_command_and_bad_lines_are_named() {
        let runs = parse_runs("# c\n\na 0 virsh -c \"$URI\" x y\nb 1 false\n").unwrap();
        assert_eq!(runs[0].command, "virsh -c \"$URI\" x y");
        assert_eq!((runs[1].name.as_str(), runs[1].exit), ("b", 1));
        assert!(parse_runs("a 0\n").unwrap_err().contains("line 1"));
        assert!(
            parse_runs("a x y\n")
                .unwrap_err()
                .contains("exit status `x`")
        );
        assert!(
            parse_runs("a 0 x\na 0 y")
                .unwrap_err()
                .contains("named twice")
        );
    }
}
