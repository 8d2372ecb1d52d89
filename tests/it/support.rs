use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn path(relative: &str) -> PathBuf {
    repo().join(relative)
}

/// Every variable the default config reads: cleared, so tests see a fresh machine.
pub const CONFIG_ENV: [&str; 10] = [
    "CHIME_WEBHOOK_URL",
    "RINGCENTRAL_WEBHOOK_URL",
    "JIRA_WEBHOOK_SECRET",
    "GITHUB_WEBHOOK_SECRET",
    "GITLAB_WEBHOOK_TOKEN",
    "CHATWOOT_WEBHOOK_SECRET",
    "ALERTMANAGER_WEBHOOK_TOKEN",
    "HOOKBRIDGE_ADMIN_TOKEN",
    "HOOKBRIDGE_LISTEN",
    "HOOKBRIDGE_STORE",
];

/// Runs the real binary in `dir` with `args`, feeding `stdin`; the environment is
/// cleared of every variable the default config reads, so tests see a fresh machine.
pub fn hookbridge(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookbridge"));
    command
        .current_dir(dir)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in CONFIG_ENV {
        command.env_remove(var);
    }
    let mut child = command.spawn().expect("the hookbridge binary runs");
    if let Some(input) = stdin {
        // A command that exits before reading its stdin closes the pipe; its output
        // says what happened, so a broken pipe here is no failure of its own.
        let _ = child.stdin.take().expect("stdin is piped").write_all(input);
    }
    child.wait_with_output().expect("hookbridge finishes")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Rewrites golden files instead of comparing when HOOKBRIDGE_BLESS is exactly `1`;
/// never in CI, where blessing would turn any output green.
pub fn assert_golden(file: &Path, actual: &str) {
    if blessing() {
        std::fs::write(file, actual).expect("golden file is writable");
        return;
    }
    let expected = std::fs::read_to_string(file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with HOOKBRIDGE_BLESS=1 to create it)",
            file.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b);
        panic!(
            "{} differs from the output (first differing line: {:?}); rerun with HOOKBRIDGE_BLESS=1 if the change is intended\n--- expected\n{expected}\n--- actual\n{actual}",
            file.display(),
            first.map(|i| i + 1)
        );
    }
}

fn blessing() -> bool {
    let asked = std::env::var("HOOKBRIDGE_BLESS").is_ok_and(|v| v == "1");
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !(asked && in_ci),
        "HOOKBRIDGE_BLESS=1 is refused when CI is set: bless golden files locally and commit them"
    );
    asked
}
