//! Reloading without a restart: SIGHUP or `POST /api/reload` swaps in an edited config
//! and mappings with no failed request, a target's new URL takes the next send, and a
//! broken edit is refused with its file:line:col while the old config serves on.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::delivery::target;
use crate::gateway::{config, scratch, Gateway};
use crate::standin::StandIn;

const SOON: Duration = Duration::from_secs(30);

fn mapping(text: &str) -> String {
    format!("rules:\n  - name: numbered\n    let: {{n: $.n}}\n    text: \"{text}\"\n")
}

fn yaml(url: &str) -> String {
    let targets = target("chat", "ringcentral", url, "    rate_limit: 100/s\n");
    config(
        &targets,
        "  t:\n    mappings: [m.yaml]\n    targets: [chat]\n",
    )
}

fn texts(chat: &StandIn) -> Vec<String> {
    chat.received()
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Waits until `chat` has received a message whose text is `text`.
async fn wait_for_text(chat: &StandIn, text: &str) {
    loop {
        // One snapshot for both the check and the count to wait past, so a message
        // arriving between the two is not waited for a second time.
        let seen = texts(chat);
        if seen.iter().any(|t| t == text) {
            return;
        }
        chat.wait_for(seen.len() + 1, SOON).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_and_the_api_reload_edits_and_refuse_broken_ones() {
    let (first, second) = (
        StandIn::service("ringcentral").await,
        StandIn::service("ringcentral").await,
    );
    let dir = scratch();
    std::fs::write(dir.path().join("m.yaml"), mapping("before {{n}}")).unwrap();
    let gateway = Gateway::start(dir.path(), &yaml(&first.webhook()));
    let (status, _) = gateway.post("t", json!({"n": 1}).to_string(), &[]).await;
    assert_eq!(status, 202);
    first.wait_for(1, SOON).await;

    // An edited mapping and a new URL, reloaded by SIGHUP while events keep coming.
    std::fs::write(dir.path().join("m.yaml"), mapping("after {{n}}")).unwrap();
    std::fs::write(dir.path().join("config.yaml"), yaml(&second.webhook())).unwrap();
    // Requests keep coming from before the signal until after the reload is done.
    let reloaded = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (addr, reloaded, sent) = (gateway.addr, Arc::clone(&reloaded), Arc::clone(&sent));
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut statuses = Vec::new();
            let mut after = 0;
            while after < 10 {
                let answer = client
                    .post(format!("http://{addr}/hooks/t"))
                    .header("content-type", "application/json")
                    .body(json!({"n": 100 + statuses.len()}).to_string())
                    .send()
                    .await
                    .map(|r| r.status().as_u16());
                statuses.push(answer.unwrap_or(0));
                sent.fetch_add(1, Ordering::SeqCst);
                after += usize::from(reloaded.load(Ordering::SeqCst));
            }
            statuses
        })
    };
    while sent.load(Ordering::SeqCst) < 10 {
        tokio::task::yield_now().await;
    }
    gateway.signal("HUP");
    assert!(
        gateway.logs("config reloaded", SOON).await,
        "{}",
        gateway.log()
    );
    reloaded.store(true, Ordering::SeqCst);
    let statuses = sender.await.unwrap();
    assert!(
        statuses.len() >= 20 && statuses.iter().all(|s| *s == 202),
        "a request failed across the reload: {statuses:?}"
    );
    let (status, _) = gateway.post("t", json!({"n": 2}).to_string(), &[]).await;
    assert_eq!(status, 202);
    wait_for_text(&second, "after 2").await;
    // Every event went to one URL or the other, each with its config's text.
    assert!(
        texts(&first).iter().all(|t| t.starts_with("before")),
        "{:?}",
        texts(&first)
    );

    // A broken edit: refused with where it is, by SIGHUP and by the API, and the old
    // config serves on.
    std::fs::write(dir.path().join("m.yaml"), mapping("{{#if n}} unclosed")).unwrap();
    gateway.signal("HUP");
    assert!(gateway.logs("the config was not reloaded", SOON).await);
    let (status, body) = gateway.api(Method::POST, "/api/reload").await;
    assert_eq!(status, 422, "{body}");
    let problems = body["problems"].to_string();
    assert!(
        problems.contains("m.yaml:4:12:") && problems.contains("never closed"),
        "{body}"
    );
    assert!(gateway.logs("m.yaml:4:12:", SOON).await);
    let (status, _) = gateway.post("t", json!({"n": 3}).to_string(), &[]).await;
    assert_eq!(status, 202);
    wait_for_text(&second, "after 3").await;

    let (_, metrics) = gateway.get("/metrics").await;
    assert!(
        metrics.contains("hookbridge_config_reloads_total{result=\"success\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hookbridge_config_reloads_total{result=\"failure\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn serve_watch_reloads_an_edited_mapping_by_itself() {
    let chat = StandIn::service("ringcentral").await;
    let dir = scratch();
    std::fs::write(dir.path().join("m.yaml"), mapping("before {{n}}")).unwrap();
    let gateway = Gateway::start_watching(dir.path(), &yaml(&chat.webhook()));
    // An editor's save: a new file renamed over the old one.
    let fresh = dir.path().join(".m.yaml.swp");
    std::fs::write(&fresh, mapping("after {{n}}")).unwrap();
    std::fs::rename(&fresh, dir.path().join("m.yaml")).unwrap();
    assert!(
        gateway.logs("config reloaded", SOON).await,
        "{}",
        gateway.log()
    );
    let (status, _) = gateway.post("t", json!({"n": 1}).to_string(), &[]).await;
    assert_eq!(status, 202);
    wait_for_text(&chat, "after 1").await;
}
