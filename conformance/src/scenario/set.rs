//! A set of scenario files, parsed and grouped by directory: the recorded ones built into the
//! crate, or those under a directory. One loader for both, so a set is the same whichever way
//! it arrives, and a set is whole or refused: a missing, empty or partly unreadable set is an
//! error naming the path and the rule, never a run that plays nothing and passes.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use stream_core::{Backend, StreamKind};

use super::files::read_scenario_file;
use super::{Scenario, parse, play};

/// The recorded scenarios, as `build.rs` found them under fixtures/scenarios: (path relative to
/// it, text).
static RECORDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/recorded_scenarios.rs"));

/// One scenario file of a set.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    /// Its path relative to the set's root, with `/` (`remote/holes/trailing.scn`).
    pub path: String,
    /// How messages name it: the path on disk, or `fixtures/scenarios/…` for a built-in one.
    pub name: String,
    /// Its text.
    pub text: String,
    /// Its text, parsed.
    pub scenario: Scenario,
}

/// Where a set came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into the crate from fixtures/scenarios when it was compiled.
    BuiltIn,
    /// Read from this directory.
    Dir(PathBuf),
}

/// Scenario files, sorted by path, none of them unreadable, at least one.
#[derive(Debug, Clone)]
pub struct ScenarioSet {
    origin: Origin,
    files: Vec<ScenarioFile>,
}

/// Why a set was refused. Display starts with the path concerned.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// The directory does not exist.
    #[error("{}: no such directory", .0.display())]
    NoSuchDir(PathBuf),
    /// The path is not a directory.
    #[error("{}: not a directory", .0.display())]
    NotADir(PathBuf),
    /// Neither the directory nor any below it holds a `*.scn` file.
    #[error("{}: no .scn file in it or in any directory below it", .0.display())]
    Empty(PathBuf),
    /// A directory could not be listed.
    #[error("{}: {error}", .path.display())]
    Listing {
        /// The directory.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// Files that could not be read or parsed.
    #[error("{}: {} unusable scenario file(s):\n  {}", .root.display(), .files.len(), .files.join("\n  "))]
    Files {
        /// The set's root.
        root: PathBuf,
        /// One `name: why` each.
        files: Vec<String>,
    },
}

impl ScenarioSet {
    /// The recorded scenarios built into the crate (every one is parsed by its tests, so this
    /// fails only on a build whose fixtures were broken).
    pub fn recorded() -> Result<ScenarioSet, SetError> {
        let texts = RECORDED.iter().map(|(path, text)| {
            (
                path.to_string(),
                format!("fixtures/scenarios/{path}"),
                Ok(text.to_string()),
            )
        });
        ScenarioSet::from_texts(Origin::BuiltIn, texts.collect())
    }

    /// Every `*.scn` under `dir`, recursively (a symbolic link to a directory is not followed,
    /// so a link loop cannot hang the walk; a link to a file is read as that file). Each
    /// directory is a group; files at the top form a group named after `dir`.
    pub fn from_dir(dir: &Path) -> Result<ScenarioSet, SetError> {
        match std::fs::metadata(dir) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(SetError::NoSuchDir(dir.to_path_buf()));
            }
            Err(error) => {
                return Err(SetError::Listing {
                    path: dir.to_path_buf(),
                    error,
                });
            }
            Ok(metadata) if !metadata.is_dir() => return Err(SetError::NotADir(dir.to_path_buf())),
            Ok(_) => {}
        }
        let mut found = Vec::new();
        walk(dir, Path::new(""), &mut found)?;
        let texts = found
            .into_iter()
            .map(|relative| {
                let path = dir.join(&relative);
                let text = read_scenario_file(&path).map_err(|error| error.to_string());
                (to_slashes(&relative), path.display().to_string(), text)
            })
            .collect();
        ScenarioSet::from_texts(Origin::Dir(dir.to_path_buf()), texts)
    }

    /// The shared half of both loaders: sort, parse, refuse an empty or partly unusable set.
    fn from_texts(
        origin: Origin,
        mut texts: Vec<(String, String, Result<String, String>)>,
    ) -> Result<ScenarioSet, SetError> {
        texts.sort_by(|a, b| Path::new(&a.0).cmp(Path::new(&b.0)));
        let mut files = Vec::new();
        let mut unusable = Vec::new();
        for (path, name, text) in texts {
            let parsed = text.and_then(|text| match parse(&text) {
                Ok(scenario) => Ok((text, scenario)),
                Err(error) => Err(error.to_string()),
            });
            match parsed {
                Ok((text, scenario)) => files.push(ScenarioFile {
                    path,
                    name,
                    text,
                    scenario,
                }),
                Err(why) => unusable.push(format!("{name}: {why}")),
            }
        }
        let root = || match &origin {
            Origin::Dir(dir) => dir.clone(),
            Origin::BuiltIn => PathBuf::from("fixtures/scenarios (built in)"),
        };
        if !unusable.is_empty() {
            return Err(SetError::Files {
                root: root(),
                files: unusable,
            });
        }
        if files.is_empty() {
            return Err(SetError::Empty(root()));
        }
        Ok(ScenarioSet { origin, files })
    }

    /// Where the set came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The files, sorted by path.
    pub fn files(&self) -> &[ScenarioFile] {
        &self.files
    }

    /// The files by group (the directory they are in, relative to the set's root), groups in
    /// name order.
    pub fn groups(&self) -> BTreeMap<String, Vec<&ScenarioFile>> {
        let mut groups: BTreeMap<String, Vec<&ScenarioFile>> = BTreeMap::new();
        for file in &self.files {
            groups.entry(self.group_of(file)).or_default().push(file);
        }
        groups
    }

    fn group_of(&self, file: &ScenarioFile) -> String {
        match Path::new(&file.path).parent() {
            Some(parent) if !parent.as_os_str().is_empty() => to_slashes(parent),
            _ => match &self.origin {
                Origin::Dir(dir) => dir
                    .canonicalize()
                    .ok()
                    .and_then(|dir| {
                        dir.file_name()
                            .map(|name| name.to_string_lossy().into_owned())
                    })
                    .unwrap_or_else(|| ".".into()),
                Origin::BuiltIn => ".".into(),
            },
        }
    }

    /// One line saying what the set is: `181 files in 13 groups, built into this binary`.
    pub fn describe(&self) -> String {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let from = match &self.origin {
            Origin::BuiltIn => "built into this binary".to_string(),
            Origin::Dir(dir) => format!("from {}", dir.display()),
        };
        format!(
            "{} in {}, {from}",
            plural(self.files.len(), "file"),
            plural(self.groups().len(), "group")
        )
    }

    /// Replay every scenario recorded on streams of `kind` that `backend` serves what it opens
    /// ([`Scenario::unplayable_on`]) against `backend`; returns how many ran, or every failure
    /// as a readable report.
    ///
    /// [`Scenario::unplayable_on`]: super::Scenario::unplayable_on
    pub fn replay(&self, kind: StreamKind, backend: &dyn Backend) -> Result<usize, String> {
        let mut ran = 0;
        let mut failures = Vec::new();
        let capabilities = backend.capabilities();
        for file in self.files.iter().filter(|file| {
            file.scenario.setup.kind == kind && file.scenario.unplayable_on(&capabilities).is_none()
        }) {
            ran += 1;
            match play(&file.scenario, backend) {
                Ok(Ok(())) => {}
                Ok(Err(mismatch)) => failures.push(format!("{}\n{mismatch}", file.name)),
                Err(why) => failures.push(format!("{}: setup failed: {why}", file.name)),
            }
        }
        if failures.is_empty() {
            Ok(ran)
        } else {
            Err(failures.join("\n\n"))
        }
    }
}

/// Replay every scenario under `dir` recorded on streams of `kind` against `backend`
/// ([`ScenarioSet::from_dir`], then [`ScenarioSet::replay`]); a set that cannot be loaded is an
/// error too.
pub fn replay_all(dir: &Path, kind: StreamKind, backend: &dyn Backend) -> Result<usize, String> {
    ScenarioSet::from_dir(dir)
        .map_err(|error| error.to_string())?
        .replay(kind, backend)
}

fn to_slashes(path: &Path) -> String {
    path.components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The `*.scn` files under `dir`, as paths relative to the set's root (`relative` is `dir`'s).
fn walk(dir: &Path, relative: &Path, found: &mut Vec<PathBuf>) -> Result<(), SetError> {
    let listing = |error| SetError::Listing {
        path: dir.to_path_buf(),
        error,
    };
    for entry in std::fs::read_dir(dir).map_err(listing)? {
        let entry = entry.map_err(listing)?;
        let name = relative.join(entry.file_name());
        if entry.file_type().map_err(listing)?.is_dir() {
            walk(&entry.path(), &name, found)?;
        } else if name.extension().is_some_and(|ext| ext == "scn") {
            found.push(name);
        }
    }
    Ok(())
}
