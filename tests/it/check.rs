//! `hookbridge check`: diagnostics at file:line:col, all at once, kept as golden stderr.

use crate::support::{assert_golden, hookbridge, path, repo, text};

#[test]
fn broken_files_report_every_problem_where_it_stands() {
    let dir = path("tests/it/check");
    for name in [
        "mapping_errors",
        "mapping_wrong_type",
        "mapping_unknown_key",
        "config_errors",
    ] {
        let file = format!("{name}.yaml");
        let out = if name.starts_with("config") {
            hookbridge(&dir, &["check", "--config", &file], None)
        } else {
            hookbridge(&dir, &["check", &file], None)
        };
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stderr));
        assert_golden(&dir.join(format!("{name}.stderr")), &text(&out.stderr));
    }
}

#[test]
fn the_default_config_checks_clean_on_a_fresh_machine() {
    let out = hookbridge(&repo(), &["check"], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        text(&out.stdout).contains("config.yaml: ok (12 routes"),
        "{}",
        text(&out.stdout)
    );
    // The chat targets are named but off until their URL variables are set.
    assert!(
        stderr.contains("target `team-chime` has an empty url"),
        "{stderr}"
    );
}

#[test]
fn environment_variables_fill_the_config() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hookbridge"));
    let out = command
        .current_dir(repo())
        .args(["check"])
        .env(
            "CHIME_WEBHOOK_URL",
            "https://hooks.chime.aws/incomingwebhooks/abc?token=xyz",
        )
        .output()
        .expect("hookbridge runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("team-chime` has an empty url"), "{stderr}");
    assert!(
        stderr.contains("Amazon Chime reached end of support on 2026-02-20"),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_says_so() {
    let out = hookbridge(&repo(), &["check", "--config", "nowhere/config.yaml"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("nowhere/config.yaml:1:1: cannot read config"),
        "{}",
        text(&out.stderr)
    );
}

/// `check` in a folder holding one config whose route `t` ends with `verify_line`.
fn check_route(listen: &str, verify_line: &str, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = crate::gateway::scratch();
    let mapping = crate::gateway::repo_file("tests/it/data/numbered.yaml");
    let config = format!(
        "listen: {listen}\nstore: sqlite://outbox.db\ntargets:\n  preview: {{kind: preview}}\nroutes:\n  t:\n    mappings: [{mapping}]\n    targets: [preview]\n{verify_line}"
    );
    std::fs::write(dir.path().join("config.yaml"), config).expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookbridge"))
        .current_dir(dir.path())
        .arg("check")
        .envs(env.iter().copied())
        .output()
        .expect("hookbridge runs");
    (out.status.code(), text(&out.stderr))
}

/// `check` of a config whose route verifies with `${file:secret}`, the file holding
/// `content` with `mode`.
fn check_secret_file(content: &str, mode: u32) -> (Option<i32>, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::gateway::scratch();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, content).expect("secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(mode)).expect("chmod");
    let mapping = crate::gateway::repo_file("tests/it/data/numbered.yaml");
    let config = format!(
        "listen: 0.0.0.0:0\nstore: sqlite://outbox.db\ntargets:\n  preview: {{kind: preview}}\nroutes:\n  t:\n    mappings: [{mapping}]\n    targets: [preview]\n    verify:\n      github: ${{file:secret}}\n"
    );
    std::fs::write(dir.path().join("config.yaml"), config).expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookbridge"))
        .current_dir(dir.path())
        .arg("check")
        .output()
        .expect("hookbridge runs");
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_secret_may_live_in_a_file_only_its_owner_reads() {
    let (code, stderr) = check_secret_file("s3cret-from-a-file\n", 0o600);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");

    let (code, stderr) = check_secret_file("s3cret\n", 0o644);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "config.yaml:10:15: secret may be read by others (mode 644): `chmod 600 secret`"
        ),
        "{stderr}"
    );

    let (code, stderr) = check_secret_file("", 0o600);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the secret file secret is empty"),
        "{stderr}"
    );
}

#[test]
fn verification_is_off_only_when_the_config_says_so() {
    let secret = "    verify:\n      github: ${HOOK_SECRET}\n";
    let (code, stderr) = check_route("127.0.0.1:0", secret, &[("HOOK_SECRET", "")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("config.yaml:10:15: HOOK_SECRET is set but empty"),
        "{stderr}"
    );
    let (code, _) = check_route("127.0.0.1:0", secret, &[("HOOK_SECRET", "s3cret")]);
    assert_eq!(code, Some(0));

    let optional = "    verify:\n      github: ${HOOK_SECRET:-}\n";
    let (code, stderr) = check_route("0.0.0.0:0", optional, &[]);
    assert_eq!(
        code,
        Some(0),
        "an explicit empty default is a choice: {stderr}"
    );
    assert!(stderr.contains("accepts unsigned requests"), "{stderr}");

    let (code, stderr) = check_route("0.0.0.0:0", "    verify: none\n", &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("config.yaml:9:13: warning: `verify: none`"),
        "{stderr}"
    );

    let (code, stderr) = check_route("0.0.0.0:0", "", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("route `t` has no `verify` and the gateway listens beyond loopback"),
        "{stderr}"
    );
    let (code, stderr) = check_route("127.0.0.1:0", "", &[]);
    assert_eq!(code, Some(0), "loopback needs no verify: {stderr}");
}

#[test]
fn numeric_settings_say_their_range() {
    let server = "server: {max_connections: 0, max_body: 65MiB, read_timeout: 1h}\n\
                  retention: {delivered: 30m, dead: 4000d}\n\
                  store_pool: {size: 0, statement_timeout: 2h}\n";
    let target = "    max_parts: 0\n    timeout: 10m\n    retry: {budget: 2000h}\n";
    let dir = crate::gateway::scratch();
    let mapping = crate::gateway::repo_file("tests/it/data/numbered.yaml");
    let config = format!(
        "listen: 127.0.0.1:0\n{server}targets:\n  chat:\n    kind: slack\n    url: https://hooks.slack.test/x\n{target}routes:\n  t:\n    mappings: [{mapping}]\n    targets: [chat]\n    max_body: 0\n"
    );
    std::fs::write(dir.path().join("config.yaml"), config).expect("config");
    let out = hookbridge(dir.path(), &["check"], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for problem in [
        "max_connections `0` is not a whole number from 1 to 65536",
        "max_body `65MiB` is outside what it takes: 1 byte to 64 MiB",
        "read_timeout `1h` is outside what it takes: 100ms to 10m",
        "retention.delivered `30m` is outside what it takes: 1h to 3650d",
        "retention.dead `4000d` is outside what it takes: 1h to 3650d",
        "store_pool.size `0` is not a whole number from 1 to 1000",
        "store_pool.statement_timeout `2h` is outside what it takes: 1s to 1h",
        "max_parts `0` is not from 1 to 100",
        "timeout `10m` is outside what it takes: 100ms to 5m",
        "budget `2000h` is outside what it takes: 1s to 30d",
        "max_body `0` is outside what it takes",
    ] {
        assert!(stderr.contains(problem), "{problem}:\n{stderr}");
    }
}
