//! `hookbridge connect` against stand-in GitHub, GitLab and Jira APIs on loopback, with
//! a real gateway receiving the test delivery the stand-in sends.

use std::path::Path;
use std::process::Output;

use crate::forges::{Forge, ForgeApi, GOOD_TOKEN, JIRA_USER};
use crate::gateway::{config, repo_file, scratch, Gateway};
use crate::support::text;

/// Runs `hookbridge connect ARGS` in `dir` with `env` and nothing else of the caller's.
async fn connect(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_hookbridge"));
    command
        .current_dir(dir)
        .arg("connect")
        .args(args)
        .env_clear();
    command.env("PATH", std::env::var("PATH").unwrap_or_default());
    command.envs(env.iter().copied());
    tokio::task::spawn_blocking(move || command.output().expect("hookbridge runs"))
        .await
        .expect("joined")
}

fn routes() -> String {
    let route = |name: &str, mapping: &str, verify: &str| {
        format!(
            "  {name}:\n    mappings: [{}]\n    targets: [preview]\n{verify}",
            repo_file(mapping)
        )
    };
    [
        route("github", "mappings/github.yaml", ""),
        route(
            "signed",
            "mappings/github.yaml",
            "    verify:\n      github: ${file:old-secret}\n",
        ),
        route("gitlab", "mappings/gitlab.yaml", ""),
    ]
    .concat()
}

fn start_gateway(dir: &Path) -> Gateway {
    let secret = dir.join("old-secret");
    std::fs::write(&secret, "the-secret-the-gateway-has\n").expect("secret");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    Gateway::start(dir, &config("  preview: {kind: preview}\n", &routes()))
}

/// The 64 hex characters after `export NAME=` in `stdout`.
fn exported(stdout: &str, name: &str) -> String {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("export {name}=")))
        .unwrap_or_else(|| panic!("no export line for {name} in {stdout}"));
    line.to_string()
}

#[tokio::test]
async fn github_hook_is_created_then_updated_and_its_ping_arrives() {
    let dir = scratch();
    let gateway = start_gateway(dir.path());
    let api = ForgeApi::start(Forge::Github).await;
    let hook_url = gateway.url("/hooks/github");
    let args = [
        "--repo",
        "o/r",
        "--url",
        &hook_url,
        "--api-url",
        &api.url(),
        "--gateway",
        &gateway.url(""),
    ];
    let env = [
        ("GITHUB_TOKEN", GOOD_TOKEN),
        ("HOOKBRIDGE_ADMIN_TOKEN", crate::gateway::ADMIN_TOKEN),
    ];
    let out = connect(dir.path(), &[&["github"][..], &args].concat(), &env).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let secret = exported(&stdout, "GITHUB_WEBHOOK_SECRET");
    assert!(
        secret.len() >= 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );
    assert!(stdout.contains("received ✓ (rule `ping`"), "{stdout}");

    let calls = api.calls();
    let posts: Vec<_> = calls
        .iter()
        .filter(|c| c.method == "POST" && c.path == "/repos/o/r/hooks")
        .collect();
    assert_eq!(posts.len(), 1, "{calls:?}");
    let created = &posts[0];
    assert_eq!(
        created.headers["authorization"],
        format!("Bearer {GOOD_TOKEN}").as_str()
    );
    assert_eq!(created.headers["x-github-api-version"], "2022-11-28");
    assert_eq!(created.body["name"], "web");
    assert_eq!(created.body["config"]["url"], hook_url.as_str());
    assert_eq!(created.body["config"]["content_type"], "json");
    assert_eq!(created.body["config"]["secret"], secret.as_str());
    assert!(created.body["events"]
        .as_array()
        .is_some_and(|e| e.contains(&"pull_request".into())));

    let again = connect(
        dir.path(),
        &[&["github"][..], &args, &["--no-test"]].concat(),
        &env,
    )
    .await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let hooks = api.hooks();
    assert_eq!(hooks.len(), 1, "a second run updates the hook: {hooks:?}");
    let renewed = exported(&text(&again.stdout), "GITHUB_WEBHOOK_SECRET");
    assert_eq!(hooks[0].secret, renewed);
    assert!(api
        .calls()
        .iter()
        .any(|c| c.method == "PATCH" && c.path == "/repos/o/r/hooks/100"));

    let listed = connect(
        dir.path(),
        &[&["github", "--list"][..], &args].concat(),
        &env,
    )
    .await;
    assert!(
        text(&listed.stdout).contains(&format!("100  {hook_url}")),
        "{}",
        text(&listed.stdout)
    );
    let removed = connect(
        dir.path(),
        &[&["github", "--remove"][..], &args].concat(),
        &env,
    )
    .await;
    assert_eq!(removed.status.code(), Some(0), "{}", text(&removed.stderr));
    assert!(api.hooks().is_empty());

    for out in [&out, &again, &listed, &removed] {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains(GOOD_TOKEN), "a token in the output: {all}");
    }
}

#[tokio::test]
async fn a_secret_the_gateway_does_not_have_is_named_as_the_fault() {
    let dir = scratch();
    let gateway = start_gateway(dir.path());
    let api = ForgeApi::start(Forge::Github).await;
    let out = connect(
        dir.path(),
        &[
            "github",
            "--repo",
            "o/r",
            "--url",
            &gateway.url("/hooks/signed"),
            "--route",
            "signed",
            "--api-url",
            &api.url(),
            "--gateway",
            &gateway.url(""),
            "--write-secret",
            "new-secret",
        ],
        &[("GITHUB_TOKEN", GOOD_TOKEN)],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}{stderr}", text(&out.stdout));
    assert!(
        stderr.contains("the gateway refused it (401): route `signed` checks another secret"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(dir.path().join("new-secret")).expect("secret file");
    assert_eq!(written.trim(), api.hooks()[0].secret);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("new-secret"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(
        !text(&out.stdout).contains(&written.trim().to_string()),
        "the secret went to the file only"
    );
}

#[tokio::test]
async fn api_refusals_say_what_to_fix_without_the_token() {
    let dir = scratch();
    let api = ForgeApi::start(Forge::Github).await;
    let base = [
        "github",
        "--url",
        "https://hb.example/hooks/github",
        "--api-url",
    ];
    let cases = [
        (
            "o/r",
            "wrong-token",
            "401 Bad credentials: the API did not accept the credentials in GITHUB_TOKEN",
        ),
        (
            "o/missing",
            GOOD_TOKEN,
            "404 Not Found: no such repository, project or site, or GITHUB_TOKEN may not see it",
        ),
    ];
    for (repo, token, expected) in cases {
        let out = connect(
            dir.path(),
            &[&base[..], &[&api.url(), "--repo", repo]].concat(),
            &[("GITHUB_TOKEN", token)],
        )
        .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains(token), "{stderr}");
    }
    let out = connect(
        dir.path(),
        &[&base[..], &[&api.url(), "--repo", "o/r"]].concat(),
        &[],
    )
    .await;
    assert!(
        text(&out.stderr).contains("set GITHUB_TOKEN"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn gitlab_hook_with_its_token_and_event_flags_and_a_test_push() {
    let dir = scratch();
    let gateway = start_gateway(dir.path());
    let api = ForgeApi::start(Forge::Gitlab).await;
    let hook_url = gateway.url("/hooks/gitlab");
    let args = [
        "gitlab",
        "--project",
        "group/project",
        "--url",
        &hook_url,
        "--url-base",
        &api.url(),
        "--gateway",
        &gateway.url(""),
    ];
    let env = [
        ("GITLAB_TOKEN", GOOD_TOKEN),
        ("HOOKBRIDGE_ADMIN_TOKEN", crate::gateway::ADMIN_TOKEN),
    ];
    let out = connect(dir.path(), &args, &env).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let secret = exported(&stdout, "GITLAB_WEBHOOK_TOKEN");
    assert!(stdout.contains("received ✓"), "{stdout}");
    let created = api
        .calls()
        .into_iter()
        .find(|c| c.method == "POST" && c.path == "/api/v4/projects/group%2Fproject/hooks")
        .expect("created");
    assert_eq!(created.headers["private-token"], GOOD_TOKEN);
    assert_eq!(created.body["url"], hook_url.as_str());
    assert_eq!(created.body["token"], secret.as_str());
    assert_eq!(created.body["merge_requests_events"], true);
    assert_eq!(created.body["enable_ssl_verification"], true);

    let again = connect(dir.path(), &[&args[..], &["--no-test"]].concat(), &env).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(api.hooks().len(), 1);
    assert!(api
        .calls()
        .iter()
        .any(|c| c.method == "PUT" && c.path == "/api/v4/projects/group%2Fproject/hooks/100"));
}

#[tokio::test]
async fn jira_hook_with_basic_credentials_events_and_jql() {
    let dir = scratch();
    let api = ForgeApi::start(Forge::Jira).await;
    let args = [
        "jira",
        "--site",
        &api.url(),
        "--url",
        "https://hb.example/hooks/jira",
        "--jql",
        "project = OPS",
    ];
    let env = [("JIRA_USER", JIRA_USER), ("JIRA_API_TOKEN", GOOD_TOKEN)];
    let out = connect(dir.path(), &args, &env).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let secret = exported(&stdout, "JIRA_WEBHOOK_SECRET");
    let created = api
        .calls()
        .into_iter()
        .find(|c| c.method == "POST")
        .expect("created");
    assert_eq!(created.path, "/rest/webhooks/1.0/webhook");
    assert_eq!(created.body["url"], "https://hb.example/hooks/jira");
    assert_eq!(created.body["secret"], secret.as_str());
    assert_eq!(
        created.body["filters"]["issue-related-events-section"],
        "project = OPS"
    );
    assert!(created.body["events"]
        .as_array()
        .is_some_and(|e| e.contains(&"jira:issue_created".into())));

    let again = connect(dir.path(), &args, &env).await;
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(api.hooks().len(), 1);
    assert!(api
        .calls()
        .iter()
        .any(|c| c.method == "PUT" && c.path == "/rest/webhooks/1.0/webhook/100"));

    // Without --url, the config's public_url and the route name make it.
    std::fs::write(
        dir.path().join("config.yaml"),
        "public_url: https://hooks.example.com/\nroutes: {}\n",
    )
    .expect("config");
    let out = connect(
        dir.path(),
        &["jira", "--site", &api.url(), "--route", "ops-jira"],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        api.hooks()
            .iter()
            .any(|h| h.url == "https://hooks.example.com/hooks/ops-jira"),
        "{:?}",
        api.hooks()
    );

    let out = connect(
        dir.path(),
        &args,
        &[("JIRA_USER", JIRA_USER), ("JIRA_API_TOKEN", "nope")],
    )
    .await;
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .contains("401 (no message): the API did not accept the credentials in JIRA_API_TOKEN"),
        "{stderr}"
    );
}
