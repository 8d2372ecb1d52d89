//! `hookbridge test`: runs every mapping's cases and ends with `N passed, M failed`.

use crate::support::{hookbridge, path, repo, text};

#[test]
fn every_shipped_mapping_passes_its_tests() {
    let out = hookbridge(&repo(), &["test"], None);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let last = stdout.lines().last().unwrap_or_default();
    let passed: usize = last
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        last.ends_with(" passed, 0 failed") && passed >= 100,
        "{last}"
    );
    for source in ["jira", "github", "gitlab", "chatwoot", "alertmanager"] {
        assert!(
            stdout.contains(&format!("ok   mappings/{source}.yaml")),
            "no passing case for {source}"
        );
    }
}

#[test]
fn a_failing_case_is_named_with_what_differs() {
    let dir = path("tests/it/data");
    let out = hookbridge(&dir, &["test", "failing.yaml"], None);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ok   failing.yaml › right"), "{stdout}");
    assert!(stdout.contains("FAIL failing.yaml › wrong"), "{stdout}");
    assert!(stdout.contains("expected: \"BBCOM-1 created\""), "{stdout}");
    assert!(stdout.contains("text lacks \"nowhere\""), "{stdout}");
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
}

/// A starter mapping for a source hookbridge ships none for, from one real payload,
/// passes `check` and its own `test` case, and says what the payload says.
#[test]
fn scaffold_on_a_payload_from_an_unknown_source_passes_check_and_test() {
    for (payload, source, expected) in [
        (
            "fixtures/bitbucket/pullrequest_created.json",
            "bitbucket",
            "Title of pull request",
        ),
        (
            "fixtures/sentry/issue.created.json",
            "sentry",
            "ReferenceError: blooopy is not defined",
        ),
    ] {
        let dir = crate::gateway::scratch();
        let mapping = dir.path().join("starter.yaml");
        let payload = path(payload);
        let (payload, mapping_arg) = (payload.to_str().unwrap(), mapping.to_str().unwrap());
        let made = hookbridge(
            &repo(),
            &[
                "scaffold",
                "--payload",
                payload,
                "--source",
                source,
                "--out",
                mapping_arg,
            ],
            None,
        );
        assert!(made.status.success(), "{}", text(&made.stderr));
        let check = hookbridge(&repo(), &["check", mapping_arg], None);
        assert!(
            check.status.success(),
            "{}{}",
            text(&check.stdout),
            text(&check.stderr)
        );
        let test = hookbridge(&repo(), &["test", mapping_arg], None);
        let stdout = text(&test.stdout);
        assert!(
            stdout.ends_with("1 passed, 0 failed\n"),
            "{stdout}{}",
            text(&test.stderr)
        );
        let render = hookbridge(
            &repo(),
            &["render", "--mapping", mapping_arg, "--payload", payload],
            None,
        );
        let body = text(&render.stdout);
        assert!(body.contains(expected), "{source}: {body}");
    }
}
