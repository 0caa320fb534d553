//! Builds the recorded scenarios (`fixtures/scenarios/**/*.scn`) into the crate, so a binary
//! copied or installed away from the checkout still plays them (issue 10: the compiled-in
//! directory path made such a binary skip every scenario and report all-pass).
//!
//! Generates `$OUT_DIR/recorded_scenarios.rs`: a sorted array of (path relative to
//! fixtures/scenarios, `include_str!` of the file). `include_str!` makes every embedded file a
//! dependency of the crate; `rerun-if-changed` on the directory reruns this script when a file is
//! added or removed.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../fixtures/scenarios");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, Path::new(""), &mut files);
    // Component-wise, as `Path` orders them: the order the loader sorts a directory's files in.
    files.sort_by(|a, b| Path::new(&a.0).cmp(Path::new(&b.0)));
    assert!(
        !files.is_empty(),
        "no *.scn file under {}: stream-conformance embeds its workspace's recorded scenarios",
        root.display()
    );
    let mut out = String::from("&[\n");
    for (relative, absolute) in &files {
        writeln!(out, "    ({relative:?}, include_str!({absolute:?})),").expect("write");
    }
    out.push_str("]\n");
    let target =
        PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("recorded_scenarios.rs");
    std::fs::write(&target, out).unwrap_or_else(|error| panic!("{}: {error}", target.display()));
}

/// Every `*.scn` under `dir` as (relative path with `/`, absolute path). Symbolic links are not
/// followed into directories, as the runtime loader does not follow them (no loops).
fn walk(dir: &Path, relative: &Path, files: &mut Vec<(String, String)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
        let path = entry.path();
        let name = relative.join(entry.file_name());
        let kind = entry
            .file_type()
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        if kind.is_dir() {
            walk(&path, &name, files);
        } else if path.extension().is_some_and(|ext| ext == "scn") {
            let text = |path: &Path| {
                path.to_str()
                    .unwrap_or_else(|| panic!("{}: not UTF-8, cannot be embedded", path.display()))
                    .to_string()
            };
            let absolute = path
                .canonicalize()
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            files.push((text(&name), text(&absolute)));
        }
    }
}
