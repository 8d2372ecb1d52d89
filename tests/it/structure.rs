//! The crate's shape, checked from its source: modules use only modules before them
//! in the flow (so there is no import cycle), the pure core names no I/O crate, and files
//! and functions stay short enough to read in one sitting.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level modules, lowest first: each may use only those before it. `src/lib.rs`
/// lists the same order.
const ORDER: [&str; 15] = [
    "clock",
    "diagnostic",
    "yaml",
    "markdown",
    "http",
    "verify",
    "mapping",
    "target",
    "config",
    "store",
    "metrics",
    "plan",
    "deliver",
    "server",
    "cli",
];

/// Folders and files that must stay pure: no network, database or async runtime.
const PURE: [&str; 6] = [
    "src/mapping",
    "src/target",
    "src/markdown",
    "src/plan.rs",
    "src/deliver/retry.rs",
    "src/verify",
];
const IO_CRATES: [&str; 6] = [
    "reqwest",
    "hyper",
    "axum",
    "tokio",
    "rusqlite",
    "tokio_postgres",
];

const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 60;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with the text before its unit tests: a file's
/// `#[cfg(test)]` module comes last, and a file named `tests.rs` or under a `tests/`
/// folder is all tests.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let tests = path.file_name().is_some_and(|n| n == "tests.rs")
                || path.parent().and_then(Path::file_name) == Some("tests".as_ref());
            if tests {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let tests_at = ["#[cfg(test)]\nmod ", "#[cfg(test)]\npub(super) mod "]
                .iter()
                .filter_map(|start| text.find(start))
                .min();
            let code = match tests_at {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            out.push((path, code));
        }
    }
    out.sort();
    out
}

fn top_module(path: &Path) -> String {
    let relative = path.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

fn rank_of(module: &str) -> Option<usize> {
    ORDER.iter().position(|m| *m == module)
}

/// The top-level modules a file names through `crate::`.
fn uses(code: &str) -> Vec<String> {
    let mut used = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let preceded = code[..at].chars().last();
        if preceded.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            used.push(name);
        }
    }
    used
}

#[test]
fn modules_use_only_the_modules_before_them() {
    let mut wrong = Vec::new();
    for (path, code) in sources(&src()) {
        let module = top_module(&path);
        if matches!(module.as_str(), "lib" | "main") {
            continue;
        }
        let Some(own) = rank_of(&module) else {
            wrong.push(format!("{module}: not in ORDER (add it where it belongs)"));
            continue;
        };
        for used in uses(&code) {
            if used == module {
                continue;
            }
            match rank_of(&used) {
                Some(rank) if rank < own => {}
                _ => wrong.push(format!("{}: uses crate::{used}", path.display())),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the flow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_pure_core_names_no_io_crate() {
    let mut wrong = Vec::new();
    for pure in PURE {
        let root = src().join(pure.trim_start_matches("src/"));
        assert!(root.exists(), "{pure} is gone: update PURE");
        for (path, code) in sources(&root) {
            for line in code.lines() {
                let named = IO_CRATES.iter().find(|krate| {
                    line.contains(&format!("{krate}::")) || line.contains(&format!("use {krate}"))
                });
                if let Some(krate) = named {
                    wrong.push(format!("{}: {krate}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "I/O in the pure core:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn files_and_functions_stay_short() {
    let mut long = BTreeMap::new();
    for (path, code) in sources(&src()) {
        let lines: Vec<&str> = code.lines().collect();
        if lines.len() > MAX_FILE_LINES {
            long.insert(format!("{}", path.display()), lines.len());
        }
        for (start, line) in lines.iter().enumerate() {
            let Some(indent) = fn_start(line) else {
                continue;
            };
            let declaration_only = lines[start..]
                .iter()
                .find(|l| l.trim_end().ends_with('{') || l.trim_end().ends_with(';'))
                .is_some_and(|l| l.trim_end().ends_with(';'));
            if declaration_only {
                continue;
            }
            let closing = format!("{}}}", " ".repeat(indent));
            let length = lines[start..]
                .iter()
                .position(|l| l.trim_end() == closing)
                .map_or(0, |end| end + 1);
            if length > MAX_FN_LINES {
                long.insert(format!("{}:{}", path.display(), start + 1), length);
            }
        }
    }
    assert!(
        long.is_empty(),
        "over {MAX_FILE_LINES} lines a file or {MAX_FN_LINES} a function: {long:#?}"
    );
}

/// The indentation of a line that starts a function.
fn fn_start(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let mut words = trimmed.split_whitespace();
    let is_fn = loop {
        match words.next()? {
            "pub" | "pub(crate)" | "pub(super)" | "async" | "const" | "unsafe" => continue,
            word if word.starts_with("pub(") => continue,
            "fn" => break true,
            _ => break false,
        }
    };
    is_fn.then(|| line.len() - trimmed.len())
}
