//! `hookbridge render` end to end: the exact bodies, exit codes, and bad input.

use serde_json::Value;

use crate::support::{hookbridge, path, repo, text};

fn bodies(stdout: &[u8]) -> Vec<Value> {
    text(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn render_jira(payload: &str, target: &str) -> std::process::Output {
    let args = [
        "render",
        "--mapping",
        "mappings/jira.yaml",
        "--payload",
        payload,
        "--target",
        target,
    ];
    hookbridge(&repo(), &args, None)
}

fn render_jira_stdin(payload: &[u8]) -> std::process::Output {
    let args = [
        "render",
        "--mapping",
        "mappings/jira.yaml",
        "--payload",
        "-",
    ];
    hookbridge(&repo(), &args, Some(payload))
}

#[test]
fn renders_a_jira_event_for_chime() {
    let out = render_jira("fixtures/jira/issue_updated.status-changed.json", "chime");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        bodies(&out.stdout),
        vec![
            serde_json::json!({"Content": "/md ✏️ **jira_test** updated **[INDEV-6](https://jira.test-example.ru/browse/INDEV-6)** Prueba de creación de tareas en un proyecto público\n**status**: To Do → In Progress"})
        ]
    );
    assert!(text(&out.stderr).contains("rule `issue-updated` matched"));
}

#[test]
fn renders_a_card_for_ringcentral() {
    let out = render_jira("fixtures/jira/issue_created.json", "ringcentral");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = &bodies(&out.stdout)[0];
    assert_eq!(body["activity"], "Jira");
    assert_eq!(body["attachments"][0]["type"], "AdaptiveCard");
    assert_eq!(body["attachments"][0]["version"], "1.3");
}

#[test]
fn exit_3_when_no_rule_matches() {
    let out = render_jira_stdin(b"{\"hello\": 1}");
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("no rule of mappings/jira.yaml matched"));
}

#[test]
fn headers_come_from_flags_and_beside_the_payload() {
    let dir = path("tests/it/data");
    let payload = br#"{"sender": {"login": "octocat"}}"#;
    let by_header = |extra: &[&str]| {
        let args = [
            &["render", "--mapping", "by_header.yaml", "--payload", "-"],
            extra,
        ]
        .concat();
        hookbridge(&dir, &args, Some(payload))
    };
    let out = by_header(&["--header", "x-demo-event: push", "--target", "chime"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        bodies(&out.stdout),
        vec![serde_json::json!({"Content": "/md octocat pushed"})]
    );
    assert_eq!(by_header(&[]).status.code(), Some(3));
    let out = by_header(&["--header", "no colon"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is not a header: write it as `Name: value`"),
        "{stderr}"
    );

    // GitHub names the event only in X-GitHub-Event, which ping.headers carries.
    let github = |extra: &[&str]| {
        let args = [
            &[
                "render",
                "--mapping",
                "mappings/github.yaml",
                "--payload",
                "fixtures/github/ping.json",
            ],
            extra,
        ]
        .concat();
        text(&hookbridge(&repo(), &args, None).stderr)
    };
    assert!(
        github(&[]).contains("rule `ping` matched"),
        "{}",
        github(&[])
    );
    let overridden = github(&["--header", "X-GitHub-Event: star"]);
    assert!(overridden.contains("rule `other` matched"), "{overridden}");
}

#[test]
fn bad_payloads_are_errors_not_panics() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: [(&[u8], &str); 4] = [
        (b"{not json", "not valid JSON"),
        (deep.as_bytes(), "recursion limit"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"", "not valid JSON"),
    ];
    for (payload, says) in cases {
        let out = render_jira_stdin(payload);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_broken_mapping_names_file_line_and_column() {
    let out = hookbridge(
        &repo(),
        &[
            "render",
            "--mapping",
            "tests/it/check/mapping_unknown_key.yaml",
            "--payload",
            "fixtures/jira/issue_created.json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .contains("tests/it/check/mapping_unknown_key.yaml:4:5: unknown field `txt`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unknown_target_kinds_are_usage_errors() {
    let out = render_jira("fixtures/jira/issue_created.json", "fax");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(
        "unknown target kind `fax`: kinds are chime, ringcentral, ringcentral-legacy, slack, teams, google-chat, discord, mattermost, http, preview"
    ));
}

#[test]
fn an_http_rule_shows_its_method_and_headers() {
    let args = [
        "render",
        "--mapping",
        "tests/it/data/http.yaml",
        "--payload",
        "fixtures/jira/issue_created.json",
        "--target",
        "http",
    ];
    let out = hookbridge(&repo(), &args, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(bodies(&out.stdout)[0]["incident"]["id"], "BBCOM-1398");
    assert!(
        text(&out.stderr).contains("sent as PUT, with X-Issue: BBCOM-1398"),
        "{}",
        text(&out.stderr)
    );
}
