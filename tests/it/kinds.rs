//! One real delivery per chat service over loopback: the bodies each receives are the
//! ones `render` shows, with the service's own URL options, methods and headers, and
//! the service's own rate signals are obeyed.

use std::path::Path;
use std::time::Duration;

use hookbridge::mapping::cases::{read_payload, read_sidecar_headers};
use hookbridge::mapping::{Event, Mapping, Outcome};
use hookbridge::target::{self, Kind};
use serde_json::Value;

use crate::delivery::{numbered_route, post_numbered, target};
use crate::gateway::{config, repo_file, scratch, Gateway};
use crate::standin::{Answer, Received, StandIn};
use crate::support::path;

const SOON: Duration = Duration::from_secs(10);
const ISSUE_CREATED: &str = "fixtures/jira/issue_created.json";

/// What `render --target kind` shows for the fixture through `mapping`.
fn rendered(mapping: &str, kind: Kind) -> Vec<Value> {
    let (mapping, _) = Mapping::load(&path(mapping)).expect("mapping loads");
    let file = path(ISSUE_CREATED);
    let payload = read_payload(&file).expect("fixture");
    let headers = read_sidecar_headers(&file).expect("headers");
    let Outcome::Message(message) = mapping
        .apply(&Event::new(&payload, &headers))
        .expect("renders")
    else {
        panic!("a rule matches the fixture")
    };
    target::build(kind, &message, &target::Options::default())
}

/// Posts the real Jira delivery, with the headers Jira sent, to route `jira`.
async fn post_issue_created(gateway: &Gateway) {
    let file = path(ISSUE_CREATED);
    let body = std::fs::read(&file).expect("fixture");
    let headers = read_sidecar_headers(&file).expect("headers");
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let (status, answer) = gateway.post("jira", body, &headers).await;
    assert_eq!(status, 202, "{answer}");
}

fn at<'a>(received: &'a [Received], route: &str) -> &'a Received {
    received
        .iter()
        .find(|r| r.path == route)
        .unwrap_or_else(|| panic!("nothing arrived at {route}"))
}

fn jira_route(mapping: &str, targets: &[&str]) -> String {
    format!(
        "  jira:\n    mappings: [{}]\n    targets: [{}]\n",
        repo_file(mapping),
        targets.join(", ")
    )
}

#[tokio::test]
async fn every_kind_receives_what_render_shows_from_one_mapping() {
    let chat = StandIn::start().await;
    let kinds = [
        ("slack", Kind::Slack),
        ("teams", Kind::Teams),
        ("google-chat", Kind::GoogleChat),
        ("discord", Kind::Discord),
        ("mattermost", Kind::Mattermost),
        ("http", Kind::Http),
    ];
    let mut targets = String::new();
    for (name, _) in kinds {
        let url = match name {
            "google-chat" => chat.url("/google-chat?key=k&token=t"),
            _ => chat.url(&format!("/{name}")),
        };
        let extra = match name {
            "http" => "    headers:\n      Authorization: Bearer s3cret\n",
            _ => "",
        };
        targets += &target(name, name, &url, extra);
    }
    let names: Vec<&str> = kinds.iter().map(|(name, _)| *name).collect();
    let dir = scratch();
    let routes = jira_route("mappings/jira.yaml", &names);
    let gateway = Gateway::start(dir.path(), &config(&targets, &routes));
    post_issue_created(&gateway).await;
    let received = chat.wait_for(kinds.len(), SOON).await;
    for (name, kind) in kinds {
        let got = at(&received, &format!("/{name}"));
        assert_eq!(got.method, "POST", "{name}");
        assert_eq!(got.headers["content-type"], "application/json", "{name}");
        assert_eq!(
            vec![got.json()],
            rendered("mappings/jira.yaml", kind),
            "{name}"
        );
    }
    let chat_request = at(&received, "/google-chat");
    assert_eq!(
        chat_request.query.as_deref(),
        Some("key=k&token=t&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
    );
    assert_eq!(chat_request.json()["thread"]["threadKey"], "BBCOM-1398");
    assert!(chat_request.json()["cardsV2"].is_array());
    let http = at(&received, "/http");
    assert_eq!(http.headers["authorization"], "Bearer s3cret");
    assert_eq!(http.json()["rule"], "issue-created");
    assert_eq!(
        at(&received, "/slack").json()["blocks"][0]["type"],
        "header"
    );
    assert_eq!(
        at(&received, "/teams").json()["attachments"][0]["content"]["type"],
        "AdaptiveCard"
    );
    assert!(at(&received, "/discord").json()["embeds"][0]["title"].is_string());
    assert!(at(&received, "/mattermost").json()["attachments"][0]["fields"].is_array());
}

#[tokio::test]
async fn an_http_rule_sends_its_own_method_headers_and_body() {
    let api = StandIn::start().await;
    let extra = "    headers:\n      Authorization: Bearer s3cret\n";
    let targets = target("api", "http", &api.url("/incidents"), extra);
    let dir = scratch();
    let routes = jira_route("tests/it/data/http.yaml", &["api"]);
    let gateway = Gateway::start(dir.path(), &config(&targets, &routes));
    post_issue_created(&gateway).await;
    let received = api.wait_for(1, SOON).await;
    let got = &received[0];
    assert_eq!(got.method, "PUT");
    assert_eq!(got.headers["x-issue"], "BBCOM-1398");
    assert_eq!(got.headers["authorization"], "Bearer s3cret");
    let expected = rendered("tests/it/data/http.yaml", Kind::Http);
    assert_eq!(vec![got.json()], expected);
    assert_eq!(expected[0]["incident"]["id"], "BBCOM-1398");
    assert_eq!(expected[0]["incident"]["severity"], 3);
}

/// A Discord stand-in on a fast rate limit, so only Discord's own signals pace it.
async fn discord(
    scripted: impl IntoIterator<Item = Answer>,
) -> (StandIn, tempfile::TempDir, Gateway) {
    let chat = StandIn::start().await;
    chat.script(scripted);
    let targets = target(
        "chat",
        "discord",
        &chat.url("/discord"),
        "    rate_limit: 100/s\n",
    );
    let dir = scratch();
    let gateway = Gateway::start(dir.path(), &config(&targets, &numbered_route(&["chat"])));
    (chat, dir, gateway)
}

fn gap(received: &[Received]) -> Duration {
    received[1].at - received[0].at
}

#[tokio::test]
async fn discords_retry_after_in_a_429_body_is_honoured() {
    let throttled = Answer::status(429)
        .header("content-type", "application/json")
        .body(r#"{"message": "You are being rate limited.", "retry_after": 1.2, "global": false}"#);
    let (chat, _dir, gateway) = discord([throttled]).await;
    post_numbered(&gateway, 1).await;
    let received = chat.wait_for(2, SOON).await;
    // Backoff alone would retry within 100 ms.
    assert!(
        gap(&received) >= Duration::from_millis(1190),
        "{:?}",
        gap(&received)
    );
    assert!(
        gap(&received) < Duration::from_secs(3),
        "{:?}",
        gap(&received)
    );
    assert_eq!(received[1].json()["content"], received[0].json()["content"]);
}

#[tokio::test]
async fn an_empty_rate_bucket_holds_the_next_send_until_it_refills() {
    let empty = Answer::status(204)
        .header("X-RateLimit-Remaining", "0")
        .header("X-RateLimit-Reset-After", "1.0");
    let (chat, _dir, gateway) = discord([empty]).await;
    post_numbered(&gateway, 1).await;
    post_numbered(&gateway, 2).await;
    let received = chat.wait_for(2, SOON).await;
    assert!(
        gap(&received) >= Duration::from_millis(990),
        "{:?}",
        gap(&received)
    );
}

#[test]
fn check_warns_about_retired_endpoints() {
    let dir = scratch();
    let targets = [
        target("old-teams", "teams", "https://contoso.webhook.office.com/webhookb2/abc", ""),
        target("also-old", "http", "https://outlook.office.com/webhook/abc", ""),
        target("new-teams", "teams", "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=x", ""),
        target("chime-as-http", "http", "https://hooks.chime.aws/incomingwebhooks/abc?token=x", ""),
    ]
    .concat();
    let routes = jira_route(
        "mappings/jira.yaml",
        &["old-teams", "also-old", "new-teams", "chime-as-http"],
    );
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, config(&targets, &routes)).expect("config");
    let out = crate::support::hookbridge(Path::new(dir.path()), &["check"], None);
    let stderr = crate::support::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let warned = |name: &str, what: &str| {
        stderr
            .lines()
            .any(|l| l.contains(&format!("target `{name}`")) && l.contains(what))
    };
    assert!(warned("old-teams", "Office 365 connector"), "{stderr}");
    assert!(warned("also-old", "Office 365 connector"), "{stderr}");
    assert!(
        warned("chime-as-http", "Amazon Chime reached end of support"),
        "{stderr}"
    );
    assert!(!stderr.contains("new-teams"), "{stderr}");
}
