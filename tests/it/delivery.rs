//! Delivery over loopback: retries, Retry-After, dead letters and replay, pacing,
//! order, and targets that are slow or answer garbage.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::gateway::{all_with_status, config, repo_file, scratch, status_of, Gateway};
use crate::standin::{Answer, Received, StandIn};

/// A target of `kind` at `url` that retries fast, so tests do not wait on backoff.
pub fn target(name: &str, kind: &str, url: &str, extra: &str) -> String {
    format!(
        "  {name}:\n    kind: {kind}\n    url: {url}\n    retry: {{initial: 20ms, max_delay: 100ms}}\n{extra}"
    )
}

/// A Chime target `chime` at `chat`, paced only by the test (1000/s), not Chime's 1/s.
pub fn fast_chime(chat: &StandIn) -> String {
    target(
        "chime",
        "chime",
        &chat.webhook(),
        "    rate_limit: 1000/s\n",
    )
}

/// Route `t` through the numbered test mapping to `targets`.
pub fn numbered_route(targets: &[&str]) -> String {
    format!(
        "  t:\n    mappings: [{}]\n    targets: [{}]\n",
        repo_file("tests/it/data/numbered.yaml"),
        targets.join(", ")
    )
}

/// A gateway whose route `t` sends to one RingCentral target, `chat`, at the stand-in.
/// Keep the folder alive as long as the gateway: dropping it deletes the store.
pub fn gateway_to(chat: &StandIn, extra: &str) -> (tempfile::TempDir, Gateway) {
    let dir = scratch();
    let targets = target("chat", "ringcentral", &chat.webhook(), extra);
    let gateway = Gateway::start(dir.path(), &config(&targets, &numbered_route(&["chat"])));
    (dir, gateway)
}

/// The N of "event N" in what a target received.
pub fn number(received: &Received) -> u64 {
    let body = String::from_utf8_lossy(&received.body);
    let at = body.find("event ").expect("an event number") + "event ".len();
    body[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a number")
}

pub async fn post_numbered(gateway: &Gateway, n: u64) {
    let (status, body) = gateway.post("t", json!({"n": n}).to_string(), &[]).await;
    assert_eq!(status, 202, "{body}");
}

const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_503_is_retried_until_delivered() {
    let chat = StandIn::service("ringcentral").await;
    chat.script([Answer::status(503), Answer::status(503)]);
    let (_dir, gateway) = gateway_to(&chat, "");
    post_numbered(&gateway, 1).await;
    let received = chat.wait_for(3, SOON).await;
    assert!(received
        .iter()
        .all(|r| number(r) == 1 && r.refused.is_none()));
    let list = gateway
        .wait_until(SOON, |l| all_with_status(l, 1, "delivered"))
        .await;
    assert_eq!(list[0]["attempts"], 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let chat = StandIn::service("ringcentral").await;
    chat.script([Answer::status(429).header("Retry-After", "2")]);
    // Neither backoff (at most 100 ms here) nor the rate (1 ms between sends) waits
    // anywhere near 2 s: only the header can.
    let (_dir, gateway) = gateway_to(&chat, "    rate_limit: 1000/s\n");
    post_numbered(&gateway, 1).await;
    let received = chat.wait_for(2, SOON).await;
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_millis(1990),
        "retried after {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "retried after {waited:?}");
}

#[tokio::test]
async fn a_404_is_dead_at_once_and_a_replay_delivers_it() {
    let chat = StandIn::service("ringcentral").await;
    chat.script([Answer::status(404).body("no such webhook")]);
    let (_dir, gateway) = gateway_to(&chat, "");
    post_numbered(&gateway, 1).await;
    let list = gateway
        .wait_until(SOON, |l| all_with_status(l, 1, "dead"))
        .await;
    let error = list[0]["last_error"].as_str().unwrap_or("");
    assert!(error.starts_with("HTTP 404 Not Found"), "{error}");
    assert_eq!(list[0]["last_cause"], "http_404");
    assert!(error.ends_with("no such webhook"), "{error}");
    assert_eq!(chat.received().len(), 1, "a 404 is not retried");

    let id = list[0]["id"].as_i64().expect("an id");
    let (status, body) = gateway
        .api(Method::POST, &format!("/api/deliveries/{id}/replay"))
        .await;
    assert_eq!((status, body), (200, json!({"replayed": [id]})));
    chat.wait_for(2, SOON).await;
    gateway
        .wait_until(SOON, |l| all_with_status(l, 1, "delivered"))
        .await;
    let (status, _) = gateway
        .api(Method::POST, &format!("/api/deliveries/{id}/replay"))
        .await;
    assert_eq!(status, 200, "a delivered delivery can be sent again");
    let (status, body) = gateway
        .api(Method::POST, "/api/deliveries/999/replay")
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn chime_is_paced_at_one_message_a_second() {
    let chat = StandIn::service("chime").await;
    let dir = scratch();
    // No rate_limit: chime's own default of 1/s applies.
    let targets = target("chime", "chime", &chat.webhook(), "");
    let gateway = Gateway::start(dir.path(), &config(&targets, &numbered_route(&["chime"])));
    for n in 0..3 {
        post_numbered(&gateway, n).await;
    }
    let received = chat.wait_for(3, SOON).await;
    for pair in received.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(990),
            "two messages {gap:?} apart"
        );
    }
    let numbers: Vec<u64> = received.iter().map(number).collect();
    assert_eq!(numbers, [0, 1, 2]);
    // At Chime's own path, with the URL's `format` and `token`, in its body shape.
    assert!(
        received.iter().all(|r| r.refused.is_none()),
        "{received:#?}"
    );
}

#[tokio::test]
async fn arrival_order_holds_through_retries() {
    let chat = StandIn::service("ringcentral").await;
    chat.script([
        Answer::status(200),
        Answer::status(503),
        Answer::status(500),
        Answer::status(200),
        Answer::status(429),
    ]);
    let (_dir, gateway) = gateway_to(&chat, "    rate_limit: 1000/s\n");
    for n in 0..20 {
        post_numbered(&gateway, n).await;
    }
    gateway
        .wait_until(SOON, |l| all_with_status(l, 20, "delivered"))
        .await;
    // Each failure is followed by a resend of the same event, and nothing else is
    // ever sent twice.
    let numbers: Vec<u64> = chat.received().iter().map(number).collect();
    let expected: Vec<u64> = [0, 1, 1, 1, 2, 2].into_iter().chain(3..20).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn a_slow_or_broken_target_delays_no_other() {
    let fast = StandIn::service("ringcentral").await;
    let slow = StandIn::service("ringcentral").await;
    slow.otherwise(Answer::status(200).delay(Duration::from_secs(30)));
    let garbage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage_url = format!("http://{}/hook", garbage.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut socket, _)) = garbage.accept().await {
            let _ = socket.write_all(b"garbage, not HTTP\r\n\r\n").await;
        }
    });
    let dir = scratch();
    let targets = [
        target(
            "fast",
            "ringcentral",
            &fast.webhook(),
            "    rate_limit: 1000/s\n",
        ),
        target("slow", "ringcentral", &slow.webhook(), "    timeout: 3s\n"),
        target("garbage", "ringcentral", &garbage_url, ""),
    ]
    .concat();
    let routes = numbered_route(&["slow", "garbage", "fast"]);
    let gateway = Gateway::start(dir.path(), &config(&targets, &routes));
    for n in 0..3 {
        post_numbered(&gateway, n).await;
    }
    // Well inside the slow target's 3 s timeout: a worker that served the targets
    // one after another would still be waiting on it.
    let received = fast.wait_for(3, Duration::from_secs(1)).await;
    assert_eq!(received.iter().map(number).collect::<Vec<_>>(), [0, 1, 2]);
    let list = gateway
        .wait_until(SOON, |l| {
            let failing = |name: &str| {
                l.iter()
                    .any(|d| d["target"] == name && d["last_error"].is_string())
            };
            failing("slow") && failing("garbage")
        })
        .await;
    let error_of = |name: &str| {
        list.iter()
            .find(|d| d["target"] == name && d["last_error"].is_string())
            .and_then(|d| d["last_error"].as_str())
            .unwrap_or("")
            .to_string()
    };
    assert!(
        error_of("slow").contains("no answer within the 3s timeout"),
        "{}",
        error_of("slow")
    );
    let cause_of = |name: &str| {
        list.iter()
            .find(|d| d["target"] == name && d["last_error"].is_string())
            .map(|d| d["last_cause"].clone())
    };
    assert_eq!(cause_of("slow"), Some(json!("timeout")));
    assert_eq!(cause_of("garbage"), Some(json!("io")));
    assert!(!error_of("garbage").is_empty());
    assert!(
        !error_of("garbage").contains("127.0.0.1"),
        "URLs stay out of errors"
    );
    assert!(list
        .iter()
        .filter(|d| d["target"] == "slow" || d["target"] == "garbage")
        .all(|d| status_of(d) == "pending"));
}

#[tokio::test]
async fn chime_never_gets_more_than_4096_bytes() {
    let chat = StandIn::service("chime").await;
    let dir = scratch();
    let targets = fast_chime(&chat);
    let gateway = Gateway::start(dir.path(), &config(&targets, &numbered_route(&["chime"])));
    let note = "a line of text that goes on and on, \"quoted\" and ü\n".repeat(400);
    let (status, body) = gateway
        .post("t", json!({"n": 1, "note": note}).to_string(), &[])
        .await;
    assert_eq!((status, body["deliveries"].clone()), (202, json!(1)));
    gateway
        .wait_until(SOON, |l| all_with_status(l, 1, "delivered"))
        .await;
    let received = chat.received();
    assert!(received.len() > 1, "a long message is split into parts");
    for (i, part) in received.iter().enumerate() {
        assert!(
            part.body.len() <= 4096,
            "part {i} is {} bytes",
            part.body.len()
        );
        let content = part.json()["Content"].as_str().unwrap_or("").to_string();
        assert!(content.starts_with("/md "), "{content}");
        assert!(
            content.ends_with(&format!("({}/{})", i + 1, received.len())),
            "parts arrive numbered and in order: {content}"
        );
    }
}
