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
