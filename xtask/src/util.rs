//! Running external programs for xtask: each command line is echoed before it runs, and every failure becomes
//! one clear message.

use std::{
    env,
    ffi::{OsStr, OsString},
    fmt, io,
    path::{Path, PathBuf},
    process::{Command, ExitCode, ExitStatus, Stdio},
};

/// An xtask failure: one line saying what went wrong and, where it helps, what to do about it.
pub struct Error(String);

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// `main` returns this error and the standard library prints it with `Debug`; showing the plain message keeps
// the output a readable `Error: …` line instead of `Error("…")`.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The workspace root. `CARGO_MANIFEST_DIR` is fixed at build time, so this holds wherever `cargo xtask` is
/// invoked from.
pub fn project_root() -> Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(Path::to_path_buf).ok_or_else(|| {
        Error::new(format!(
            "xtask's directory {} has no parent",
            manifest_dir.display()
        ))
    })
}

/// Fails with a message naming `package` when its manifest is not there: crates are added over time, and cargo's
/// own "did not match any packages" does not say which directory is missing.
pub fn require_crate(root: &Path, dir: &str, package: &str) -> Result<()> {
    let manifest = root.join(dir).join("Cargo.toml");
    if manifest.is_file() {
        Ok(())
    } else {
        Err(Error::new(format!(
            "crate `{package}` does not exist yet (no {dir}/Cargo.toml under {})",
            root.display()
        )))
    }
}

/// The first file called `name` in a `PATH` directory, like `command -v` would find.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A command being built, together with the line that is echoed for it.
#[derive(Debug)]
pub struct Cmd {
    command: Command,
    shown: Vec<String>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref();
        Self {
            command: Command::new(program),
            shown: vec![quote(program)],
        }
    }

    /// Cargo, run from the workspace root. `$CARGO` is the cargo running xtask, so the project is built with the
    /// same toolchain; the echoed line still says `cargo` because the full toolchain path is noise.
    pub fn cargo(root: &Path) -> Self {
        let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = Self::new(program);
        cmd.shown[0] = "cargo".to_owned();
        cmd.command.current_dir(root);
        cmd
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(quote(arg.as_ref()));
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        args.into_iter().fold(self, Self::arg)
    }

    /// Runs the command in `dir`.
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Sets an environment variable, echoed as a `NAME=value` prefix so the line can be pasted into a shell.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.shown
            .insert(0, format!("{name}={}", quote(OsStr::new(value))));
        self.command.env(name, value);
        self
    }

    /// Echoes and runs the command with the terminal's stdio; a non-zero exit is an error.
    pub fn run(self) -> Result<()> {
        let line = self.line();
        let status = self.status()?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::new(format!("`{line}` failed with {status}")))
        }
    }

    /// Echoes and runs the command, then turns its exit status into this process's own.
    pub fn exit_code(self) -> Result<ExitCode> {
        let line = self.line();
        let status = self.status()?;
        match status.code() {
            // Exit codes on Unix are one byte; anything wider still has to read as a failure.
            Some(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
            None => Err(Error::new(format!(
                "`{line}` did not exit normally ({status})"
            ))),
        }
    }

    /// Runs the command without echoing it or showing its errors, and returns its standard output
    /// when it succeeded; for probes whose result is reported in words rather than by their output.
    pub fn read_quietly(mut self) -> Option<String> {
        let output = self
            .command
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs the command without echoing it and returns its standard output; a non-zero exit is an error.
    pub fn read(mut self) -> Result<String> {
        let line = self.line();
        let output = self
            .command
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|err| start_error(&line, &err))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(Error::new(format!(
                "`{line}` failed with {}",
                output.status
            )))
        }
    }

    fn status(mut self) -> Result<ExitStatus> {
        let line = self.line();
        println!("$ {line}");
        self.command
            .status()
            .map_err(|err| start_error(&line, &err))
    }

    fn line(&self) -> String {
        self.shown.join(" ")
    }
}

fn start_error(line: &str, err: &io::Error) -> Error {
    Error::new(format!("could not start `{line}`: {err}"))
}

/// Quotes an argument for the echoed line only when a shell would otherwise split or drop it.
fn quote(arg: &OsStr) -> String {
    let arg = arg.to_string_lossy();
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c));
    if plain {
        arg.into_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
