//! What the person on call uses: health, readiness, metrics, the preview page, the
//! admin API's guard, `deliveries list/replay`, and the default config's first run.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::delivery::{gateway_to, numbered_route, post_numbered};
use crate::gateway::{all_with_status, config, scratch, Gateway};
use crate::standin::{Answer, StandIn};
use crate::support::{hookbridge, path, text};

const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn health_metrics_and_the_admin_guard() {
    let chat = StandIn::service("ringcentral").await;
    chat.otherwise(Answer::status(503));
    let (_dir, gateway) = gateway_to(&chat, "");
    post_numbered(&gateway, 1).await;
    chat.wait_for(2, SOON).await;

    assert_eq!(gateway.get("/healthz").await.0, 200);
    let (status, ready) = gateway.get("/readyz").await;
    assert_eq!((status, ready.as_str()), (200, r#"{"status":"ready"}"#));
    let (status, metrics) = gateway.get("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        r#"hookbridge_events_total{route="t",outcome="accepted"} 1"#,
        r#"hookbridge_deliveries_total{target="chat",result="queued"} 1"#,
        r#"hookbridge_deliveries_total{target="chat",result="retried"}"#,
        r#"hookbridge_delivery_failures_total{target="chat",cause="http_503"}"#,
        r#"hookbridge_queue_depth{target="chat"} 1"#,
        r#"hookbridge_queue_oldest_pending_seconds{target="chat"}"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }

    let client = reqwest::Client::new();
    let unauthenticated = client
        .get(gateway.url("/api/deliveries"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let wrong = client
        .get(gateway.url("/api/deliveries"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let (status, body) = gateway
        .api(Method::GET, "/api/deliveries?status=sent")
        .await;
    assert_eq!(status, 400, "{body}");
    for limit in ["0", "1001", "99999999999999999999999", "ten"] {
        let (status, body) = gateway
            .api(Method::GET, &format!("/api/deliveries?limit={limit}"))
            .await;
        assert_eq!(status, 400, "limit={limit}: {body}");
        assert!(
            body["error"].as_str().unwrap_or("").contains("1 to 1000"),
            "{body}"
        );
    }
    let (status, body) = gateway.api(Method::GET, "/api/deliveries?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    // An unknown route's name is the sender's text: logged quoted (as Debug), a `%0A`
    // in it cannot start a line of the text log.
    let (status, _) = gateway.post("nowhere%0Aforged%20line", "{}", &[]).await;
    assert_eq!(status, 404);
    let quoted = r#""route":"\"nowhere\\nforged line\"""#;
    assert!(gateway.logs(quoted, SOON).await, "{}", gateway.log());
    assert!(
        !gateway.log().contains(crate::gateway::ADMIN_TOKEN),
        "tokens are never logged"
    );
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token() {
    let dir = scratch();
    let routes = numbered_route(&["preview"]);
    let yaml =
        config("  preview: {kind: preview}\n", &routes).replace("admin_token: test-token\n", "");
    let gateway = Gateway::start(dir.path(), &yaml);
    let (status, body) = gateway.api(Method::GET, "/api/deliveries").await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("set admin_token"),
        "{body}"
    );
}

#[tokio::test]
async fn deliveries_list_and_replay_from_the_command_line() {
    let chat = StandIn::service("ringcentral").await;
    chat.script([Answer::status(410).body("webhook deleted")]);
    let (dir, gateway) = gateway_to(&chat, "");
    post_numbered(&gateway, 1).await;
    gateway
        .wait_until(SOON, |l| all_with_status(l, 1, "dead"))
        .await;

    let list = hookbridge(
        dir.path(),
        &["deliveries", "list", "--status", "dead"],
        None,
    );
    let listed = text(&list.stdout);
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert!(
        listed.contains("dead") && listed.contains("http_410") && listed.contains("HTTP 410 Gone"),
        "{listed}"
    );
    let json_list = hookbridge(dir.path(), &["deliveries", "list", "--json"], None);
    let first: serde_json::Value =
        serde_json::from_str(text(&json_list.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(
        (&first["status"], &first["last_cause"]),
        (&json!("dead"), &json!("http_410"))
    );

    let replay = hookbridge(dir.path(), &["deliveries", "replay", "--all-dead"], None);
    assert_eq!(
        text(&replay.stdout),
        "replayed 1 deliveries: 1\n",
        "{}",
        text(&replay.stderr)
    );
    // The running gateway notices a replay made by another process on its own, within
    // the second the README promises (plus the send itself).
    gateway
        .wait_until(Duration::from_millis(1800), |l| {
            all_with_status(l, 1, "delivered")
        })
        .await;
    let again = hookbridge(dir.path(), &["deliveries", "replay", "7"], None);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("no delivery with id 7"),
        "{}",
        text(&again.stderr)
    );
}

/// The shipped config.yaml, as on a fresh machine but for one variable, on a free
/// port with its store in `dir`.
fn start_default(dir: &std::path::Path, variable: (&str, &str)) -> Gateway {
    let store = format!("sqlite://{}", dir.join("first-run.db").display());
    Gateway::start_with(
        &path("config.yaml"),
        &[
            ("HOOKBRIDGE_LISTEN", "127.0.0.1:0"),
            ("HOOKBRIDGE_STORE", &store),
            variable,
        ],
    )
}

/// The shipped config.yaml on a fresh machine: no env vars, every route to preview,
/// and the preview page shows what a real Jira delivery became.
#[tokio::test]
async fn the_default_config_serves_a_readable_preview() {
    let dir = scratch();
    let gateway = start_default(
        dir.path(),
        ("HOOKBRIDGE_ADMIN_TOKEN", crate::gateway::ADMIN_TOKEN),
    );
    let fixture = path("fixtures/jira/issue_created.hostile-summary.json");
    let (status, answer) = gateway
        .post("jira", std::fs::read(fixture).unwrap(), &[])
        .await;
    assert_eq!(
        (status, answer["deliveries"].clone()),
        (202, json!(1)),
        "{answer}"
    );
    gateway
        .wait_until(SOON, |l| all_with_status(l, 1, "delivered"))
        .await;
    // Payload text can be personal data: with an admin token the page asks for it, as
    // a browser's sign-in (any user name, the token as the password).
    let (status, _) = gateway.get("/preview").await;
    assert_eq!(status, 401);
    let signed_in = reqwest::Client::new()
        .get(gateway.url("/preview"))
        .basic_auth("ops", Some(crate::gateway::ADMIN_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let page = signed_in.text().await.unwrap();
    assert!(page.contains("rule issue-created"), "{page}");
    // The summary holds `<b>bold</b>`: the page shows the message's markdown, where it
    // is escaped text (`\<b\>`), and that markdown is HTML-escaped in turn.
    assert!(
        page.contains(r"\&lt;b\&gt;bold\&lt;/b\&gt;") && !page.contains("<b>"),
        "payload text is escaped on the page: {page}"
    );
}

/// The preview pages fifty messages at a time, and keeps at most 64 KB of each.
#[tokio::test]
async fn the_preview_is_paged_and_bounded() {
    let dir = scratch();
    let routes = numbered_route(&["preview"]);
    let yaml =
        config("  preview: {kind: preview}\n", &routes).replace("admin_token: test-token\n", "");
    let gateway = Gateway::start(dir.path(), &yaml);
    let huge = "x".repeat(200 * 1024);
    let (status, _) = gateway
        .post("t", json!({"n": 0, "note": huge}).to_string(), &[])
        .await;
    assert_eq!(status, 202);
    for n in 1..=54 {
        post_numbered(&gateway, n).await;
    }
    let (status, first) = gateway.get("/preview").await;
    assert_eq!(status, 200);
    assert_eq!(first.matches("<article>").count(), 50);
    assert!(
        first.contains("event 54") && !first.contains("event 4 "),
        "newest first"
    );
    // A replayed preview message is shown again (delivered), not left pending.
    let replay = hookbridge(dir.path(), &["deliveries", "replay", "55"], None);
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    let listed = |status: &str| {
        let out = hookbridge(
            dir.path(),
            &["deliveries", "list", "--status", status],
            None,
        );
        text(&out.stdout)
    };
    let deadline = std::time::Instant::now() + SOON;
    while !listed("pending").contains("(no deliveries)") {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            listed("pending")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let older = first
        .split("href=\"/preview?before=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to older messages");
    let (_, second) = gateway.get(&format!("/preview?before={older}")).await;
    assert_eq!(second.matches("<article>").count(), 5, "{second}");
    assert!(second.contains("event 1<") && second.contains("event 0 x"));
    assert!(
        second.len() < 80 * 1024,
        "the 200 KB note is cut: {}",
        second.len()
    );
    assert!(
        second.contains("more lines") || second.contains('…'),
        "and says so"
    );
}

/// Setting a source's secret switches its route's verification on, with no edit.
#[tokio::test]
async fn the_default_config_verifies_once_a_secret_is_set() {
    let dir = scratch();
    let gateway = start_default(dir.path(), ("GITHUB_WEBHOOK_SECRET", "s3cret"));
    let (status, body) = gateway
        .post("github", r#"{"zen": "hi"}"#, &[("X-GitHub-Event", "ping")])
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = gateway
        .post("gitlab", r#"{"object_kind": "push"}"#, &[])
        .await;
    assert_eq!(status, 202, "gitlab's token is still unset: {body}");
}
