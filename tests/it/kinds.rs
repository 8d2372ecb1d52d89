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

fn jira_route(mapping: &str, targets: &[&str]) -> String {
    format!(
        "  jira:\n    mappings: [{}]\n    targets: [{}]\n",
        repo_file(mapping),
        targets.join(", ")
    )
}

/// What one service's stand-in took: exactly one request, which it did not refuse.
fn took_one(service: &StandIn, name: &str) -> Received {
    let received = service.received();
    assert_eq!(received.len(), 1, "{name}: {received:#?}");
    let got = received.into_iter().next().expect("one");
    assert_eq!(got.refused, None, "{name} refused what the gateway sent");
    got
}

#[tokio::test]
async fn every_kind_receives_what_render_shows_from_one_mapping() {
    let kinds = [
        ("chime", Kind::Chime),
        ("ringcentral", Kind::RingCentral),
        ("ringcentral-legacy", Kind::RingCentralLegacy),
        ("slack", Kind::Slack),
        ("teams", Kind::Teams),
        ("google-chat", Kind::GoogleChat),
        ("discord", Kind::Discord),
        ("mattermost", Kind::Mattermost),
        ("http", Kind::Http),
    ];
    let mut services = Vec::new();
    let mut targets = String::new();
    for (name, _) in kinds {
        let service = StandIn::service(name).await;
        let extra = match name {
            "http" => "    headers:\n      Authorization: Bearer s3cret\n",
            _ => "",
        };
        targets += &target(name, name, &service.webhook(), extra);
        services.push(service);
    }
    let names: Vec<&str> = kinds.iter().map(|(name, _)| *name).collect();
    let dir = scratch();
    let routes = jira_route("mappings/jira.yaml", &names);
    let gateway = Gateway::start(dir.path(), &config(&targets, &routes));
    post_issue_created(&gateway).await;
    let mut got = std::collections::HashMap::new();
    for ((name, kind), service) in kinds.iter().zip(&services) {
        service.wait_for(1, SOON).await;
        let request = took_one(service, name);
        assert_eq!(
            vec![request.json()],
            rendered("mappings/jira.yaml", *kind),
            "{name}"
        );
        got.insert(*name, request);
    }
    let chat_request = &got["google-chat"];
    assert_eq!(
        chat_request.query.as_deref(),
        Some("key=k&token=t&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
    );
    assert_eq!(chat_request.json()["thread"]["threadKey"], "BBCOM-1398");
    assert!(chat_request.json()["cardsV2"].is_array());
    let http = &got["http"];
    assert_eq!(http.headers["authorization"], "Bearer s3cret");
    assert_eq!(http.json()["rule"], "issue-created");
    assert_eq!(got["slack"].json()["blocks"][0]["type"], "header");
    assert_eq!(
        got["teams"].json()["attachments"][0]["content"]["type"],
        "AdaptiveCard"
    );
    assert!(got["discord"].json()["embeds"][0]["title"].is_string());
    assert!(got["mattermost"].json()["attachments"][0]["fields"].is_array());
    assert!(got["chime"].json()["Content"]
        .as_str()
        .is_some_and(|c| c.starts_with("/md ")));
    assert!(got["ringcentral"].json()["attachments"][0]["body"].is_array());
    assert!(got["ringcentral-legacy"].json()["attachments"].is_array());
}

/// A stand-in refuses what its service would, so the tests above cannot pass on a
/// request the real service would turn away.
#[tokio::test]
async fn a_stand_in_refuses_what_its_service_would() {
    let slack = StandIn::service("slack").await;
    let client = reqwest::Client::new();
    let post = |url: String, body: &'static str| {
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(post(slack.webhook(), r#"{"text":"hi"}"#).await.unwrap()),
        200
    );
    assert_eq!(
        status(
            post(slack.url("/services/other"), r#"{"text":"hi"}"#)
                .await
                .unwrap()
        ),
        404
    );
    assert_eq!(
        status(post(slack.webhook(), r#"{"blocks":[]}"#).await.unwrap()),
        400
    );
    let put = client.put(slack.webhook()).body("{}").send().await.unwrap();
    assert_eq!(status(put), 405);
    let chime = StandIn::service("chime").await;
    let no_token = chime.url("/incomingwebhooks/0f6f6a3a?format=Complex");
    assert_eq!(
        status(post(no_token, r#"{"Content":"hi"}"#).await.unwrap()),
        403
    );
    let form = client
        .post(chime.webhook())
        .body("Content=hi")
        .send()
        .await
        .unwrap();
    assert_eq!(status(form), 415);
}

#[tokio::test]
async fn an_http_rule_sends_its_own_method_headers_and_body() {
    let api = StandIn::service("http").await;
    let extra = "    headers:\n      Authorization: Bearer s3cret\n";
    let targets = target("api", "http", &api.webhook(), extra);
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
    let chat = StandIn::service("discord").await;
    chat.script(scripted);
    let targets = target(
        "chat",
        "discord",
        &chat.webhook(),
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
