//! Ingress over loopback: every verification preset signed and unsigned, each error
//! code with its JSON body, duplicates, and the process serving on after bad input.

use std::io::{Read, Write};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::delivery::numbered_route;
use crate::gateway::{config, repo_file, scratch, Gateway};
use crate::support::path;

const SECRET: &str = "It's a Secret to Everybody";

fn hex_hmac(secret: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

fn now() -> String {
    jiff::Timestamp::now().as_second().to_string()
}

/// A route per verification kind, all on the numbered mapping and a preview target.
fn verified_routes() -> String {
    let mapping = repo_file("tests/it/data/numbered.yaml");
    let route = |name: &str, verify: &str| {
        format!(
            "  {name}:\n    mappings: [{mapping}]\n    targets: [preview]\n    verify: {verify}\n"
        )
    };
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, SECRET);
    [
        route("github", &format!("{{github: [old-secret, \"{SECRET}\"]}}")),
        route("jira", &format!("{{jira: \"{SECRET}\"}}")),
        route("bitbucket", &format!("{{bitbucket: \"{SECRET}\"}}")),
        route("gitlab", &format!("{{gitlab: \"{SECRET}\"}}")),
        route("chatwoot", &format!("{{chatwoot: \"{SECRET}\"}}")),
        route("sentry", &format!("{{sentry: \"{SECRET}\"}}")),
        route("grafana", &format!("{{grafana: \"{SECRET}\"}}")),
        route("gitea", &format!("{{gitea: \"{SECRET}\"}}")),
        route("pagerduty", &format!("{{pagerduty: [old, \"{SECRET}\"]}}")),
        route(
            "basic",
            &format!("{{basic: {{user: azure, password: \"{SECRET}\"}}}}"),
        ),
        route(
            "standard",
            &format!("{{standard-webhooks: \"whsec_{key}\"}}"),
        ),
        route(
            "custom",
            &format!("{{hmac: {{header: X-Signature, secret: \"{SECRET}\", prefix: \"v1=\"}}}}"),
        ),
        route(
            "query",
            &format!("{{token: {{query: token, value: \"{SECRET}\"}}}}"),
        ),
    ]
    .concat()
}

fn basic_auth(user: &str, password: &str) -> String {
    let credentials = format!("{user}:{password}");
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, credentials);
    format!("Basic {encoded}")
}

/// The headers that sign `body` correctly for each route of [`verified_routes`].
fn signed_headers(route: &str, body: &[u8]) -> Vec<(String, String)> {
    let secret = SECRET.as_bytes();
    let ts = now();
    let pairs: Vec<(&str, String)> = match route {
        "github" => vec![(
            "X-Hub-Signature-256",
            format!("sha256={}", hex_hmac(secret, body)),
        )],
        "jira" | "bitbucket" => vec![(
            "X-Hub-Signature",
            format!("sha256={}", hex_hmac(secret, body)),
        )],
        "gitlab" => vec![("X-Gitlab-Token", SECRET.to_string())],
        "chatwoot" => {
            let signed = [ts.as_bytes(), b".", body].concat();
            vec![
                ("X-Chatwoot-Timestamp", ts.clone()),
                (
                    "X-Chatwoot-Signature",
                    format!("sha256={}", hex_hmac(secret, &signed)),
                ),
            ]
        }
        "sentry" => vec![("Sentry-Hook-Signature", hex_hmac(secret, body))],
        "grafana" => vec![("X-Grafana-Alerting-Signature", hex_hmac(secret, body))],
        "gitea" => vec![("X-Forgejo-Signature", hex_hmac(secret, body))],
        "pagerduty" => vec![(
            "X-PagerDuty-Signature",
            format!(
                "v1={},v1={}",
                hex_hmac(b"old", body),
                hex_hmac(secret, body)
            ),
        )],
        "basic" => vec![("Authorization", basic_auth("azure", SECRET))],
        "standard" => {
            let signed = [b"msg_1.", ts.as_bytes(), b".", body].concat();
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
            mac.update(&signed);
            let signature = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                mac.finalize().into_bytes(),
            );
            vec![
                ("webhook-id", "msg_1".to_string()),
                ("webhook-timestamp", ts.clone()),
                ("webhook-signature", format!("v1,{signature}")),
            ]
        }
        "custom" => vec![("X-Signature", format!("v1={}", hex_hmac(secret, body)))],
        _ => vec![],
    };
    pairs.into_iter().map(|(n, v)| (n.to_string(), v)).collect()
}

#[tokio::test]
async fn every_preset_takes_signed_posts_and_refuses_the_rest() {
    let dir = scratch();
    let gateway = Gateway::start(
        dir.path(),
        &config("  preview: {kind: preview}\n", &verified_routes()),
    );
    let body = br#"{"n": 1}"#;
    for route in [
        "github",
        "jira",
        "bitbucket",
        "gitlab",
        "chatwoot",
        "sentry",
        "grafana",
        "gitea",
        "pagerduty",
        "basic",
        "standard",
        "custom",
    ] {
        let headers = signed_headers(route, body);
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let (status, answer) = gateway.post(route, body.to_vec(), &pairs).await;
        assert_eq!(
            (status, answer["deliveries"].clone()),
            (202, json!(1)),
            "{route} signed: {answer}"
        );

        let (status, answer) = gateway.post(route, body.to_vec(), &[]).await;
        assert_eq!(status, 401, "{route} unsigned: {answer}");
        assert!(answer["error"].is_string(), "{answer}");

        // A token or password signs nothing: a wrong one stands in for a tampered body.
        let guessed = basic_auth("azure", "guess");
        let (tampered, pairs) = match route {
            "gitlab" => (body.to_vec(), vec![("X-Gitlab-Token", "guess")]),
            "basic" => (body.to_vec(), vec![("Authorization", guessed.as_str())]),
            _ => (br#"{"n": 2}"#.to_vec(), pairs),
        };
        let (status, answer) = gateway.post(route, tampered, &pairs).await;
        assert_eq!(status, 401, "{route} tampered: {answer}");
        assert!(
            !answer.to_string().contains(SECRET),
            "errors never echo the secret"
        );
    }
    let (status, _) = gateway
        .post(
            "query?token=It%27s%20a%20Secret%20to%20Everybody",
            body.to_vec(),
            &[],
        )
        .await;
    assert_eq!(status, 202, "token in the query");
    let (status, _) = gateway.post("query?token=guess", body.to_vec(), &[]).await;
    assert_eq!(status, 401);

    let stale = (jiff::Timestamp::now().as_second() - 900).to_string();
    let signed = [stale.as_bytes(), b".", body].concat();
    let signature = format!("sha256={}", hex_hmac(SECRET.as_bytes(), &signed));
    let (status, answer) = gateway
        .post(
            "chatwoot",
            body.to_vec(),
            &[
                ("X-Chatwoot-Timestamp", &stale),
                ("X-Chatwoot-Signature", &signature),
            ],
        )
        .await;
    assert_eq!(status, 401, "a replayed, stale signature: {answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or("")
            .contains("replay window"),
        "{answer}"
    );
}

/// A byte-exact GitHub delivery, with the headers it came with, verified with the
/// secret it was signed with; the repeat of its delivery id queues nothing.
#[tokio::test]
async fn a_real_github_delivery_verifies_and_its_repeat_is_a_duplicate() {
    let dir = scratch();
    let routes = format!(
        "  github:\n    mappings: [{}]\n    targets: [preview]\n    verify: {{github: 402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b}}\n",
        repo_file("mappings/github.yaml")
    );
    let gateway = Gateway::start(dir.path(), &config("  preview: {kind: preview}\n", &routes));
    let fixture = path("fixtures/github/pull_request.opened.signed-capture.json");
    let body = std::fs::read(&fixture).unwrap();
    let headers = hookbridge::mapping::cases::read_sidecar_headers(&fixture).unwrap();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(n, _)| n != "Content-Type")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let (status, first) = gateway.post("github", body.clone(), &pairs).await;
    assert_eq!(
        (status, first["deliveries"].clone()),
        (202, json!(1)),
        "{first}"
    );
    let (status, again) = gateway.post("github", body.clone(), &pairs).await;
    assert_eq!(status, 202);
    assert_eq!(
        again,
        json!({"id": first["id"], "deliveries": 0, "duplicate": true})
    );
    let mut tampered = body;
    tampered[10] ^= 1;
    let (status, _) = gateway.post("github", tampered, &pairs).await;
    assert_eq!(status, 401);
    assert_eq!(gateway.deliveries().await.len(), 1);
}

/// Sends raw bytes on a fresh connection and returns the status and body.
fn raw_request(gateway: &Gateway, request: &[u8]) -> (u16, Value) {
    let mut socket = std::net::TcpStream::connect(gateway.addr).unwrap();
    socket.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    let body = serde_json::from_str(body).unwrap_or(Value::String(body.into()));
    (status, body)
}

#[tokio::test]
async fn bad_input_gets_its_code_and_the_gateway_serves_on() {
    let dir = scratch();
    let routes = numbered_route(&["preview"]);
    let gateway = Gateway::start(dir.path(), &config("  preview: {kind: preview}\n", &routes));
    let client = reqwest::Client::new();
    let send = |content_type: &'static str, body: Vec<u8>| {
        client
            .post(gateway.url("/hooks/t"))
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let check = |status: u16, answer: &Value, code: u16, mentions: &str| {
        assert_eq!(status, code, "{answer}");
        let error = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("JSON error body: {answer}"));
        assert!(
            error.contains(mentions),
            "{error:?} should mention {mentions:?}"
        );
    };
    let json_of = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_str::<Value>(&r.text().await.unwrap_or_default())
                .unwrap_or(Value::Null),
        )
    };

    let (s, a) = json_of(
        send("application/json", b"{\"n\": 1,".to_vec())
            .await
            .unwrap(),
    )
    .await;
    check(s, &a, 400, "not valid JSON");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (s, a) = json_of(send("application/json", deep.into_bytes()).await.unwrap()).await;
    check(s, &a, 400, "recursion limit");
    let (s, a) = json_of(
        send("application/json", b"{\"n\": \"\xff\xfe\"}".to_vec())
            .await
            .unwrap(),
    )
    .await;
    check(s, &a, 400, "not valid JSON");
    let (s, a) = json_of(send("text/plain", b"{\"n\": 1}".to_vec()).await.unwrap()).await;
    check(s, &a, 415, "application/json");
    let big = vec![b' '; 2 << 20];
    let (s, a) = json_of(send("application/json", big).await.unwrap()).await;
    check(s, &a, 413, "1048576 bytes");
    let (s, a) = json_of(client.get(gateway.url("/hooks/t")).send().await.unwrap()).await;
    check(s, &a, 405, "POST");
    let (s, a) = json_of(send("application/json", b"{}".to_vec()).await.unwrap()).await;
    assert_eq!(
        (s, a["deliveries"].clone()),
        (202, json!(0)),
        "no rule matched: accepted, nothing queued"
    );
    let (s, a) = gateway.post("nowhere", "{}", &[]).await;
    check(s, &a, 404, "no route `nowhere`");

    // A chunked body has no Content-Length to refuse up front.
    let mut chunked = b"POST /hooks/t HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..40 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 64 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (s, a) = raw_request(&gateway, &chunked);
    check(s, &a, 413, "max_body");

    // GitHub's form encoding: the JSON in a `payload` field.
    let form = format!("payload={}", urlencode(&json!({"n": 5}).to_string()));
    let (s, a) = json_of(
        send("application/x-www-form-urlencoded", form.into_bytes())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, a["deliveries"].clone()), (202, json!(1)), "{a}");

    let (status, _) = gateway.get("/healthz").await;
    assert_eq!(status, 200, "still serving after all of that");
    let list = gateway.deliveries().await;
    assert_eq!(list.len(), 1, "only the good event was queued: {list:#?}");
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A client that never finishes its headers is cut off, and holds the one connection
/// slot only until then: a second client waits for the slot, then is served.
#[tokio::test]
async fn a_client_that_stalls_is_cut_off() {
    let dir = scratch();
    let routes = numbered_route(&["preview"]);
    let yaml = config("  preview: {kind: preview}\n", &routes).replace(
        "targets:\n",
        "server: {read_timeout: 500ms, max_connections: 1}\ntargets:\n",
    );
    let gateway = Gateway::start(dir.path(), &yaml);
    let mut stalled = std::net::TcpStream::connect(gateway.addr).unwrap();
    stalled
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    stalled
        .write_all(b"POST /hooks/t HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = std::time::Instant::now();
    // Sent while the stalled client holds the only slot.
    let waiting = tokio::time::timeout(std::time::Duration::from_secs(5), gateway.get("/healthz"));
    let cut_off = tokio::task::spawn_blocking(move || {
        let mut rest = Vec::new();
        let _ = stalled.read_to_end(&mut rest);
        (
            started.elapsed(),
            String::from_utf8_lossy(&rest).into_owned(),
        )
    });
    let (status, _) = waiting.await.expect("served once the slot is free");
    let served_after = started.elapsed();
    let (cut_after, answer) = cut_off.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        cut_after >= std::time::Duration::from_millis(450)
            && cut_after < std::time::Duration::from_secs(3),
        "cut off after {cut_after:?}"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "a stalled client gets nothing or a 408: {answer:?}"
    );
    assert!(
        served_after >= std::time::Duration::from_millis(450),
        "the second client was served after {served_after:?}: the slot was not held"
    );
}

/// Posts `body` to `route` with `headers`, each a pair of owned strings.
async fn post_owned(
    gateway: &Gateway,
    route: &str,
    body: &[u8],
    headers: &[(String, String)],
) -> (u16, Value) {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    gateway.post(route, body.to_vec(), &pairs).await
}

/// A captured signed request sent again is a duplicate whatever unsigned header it
/// changes; the same source's next event, signed anew, is not.
#[tokio::test]
async fn replays_of_what_was_signed_are_duplicates() {
    let dir = scratch();
    let gateway = Gateway::start(
        dir.path(),
        &config("  preview: {kind: preview}\n", &verified_routes()),
    );
    let body = br#"{"n": 1}"#;
    for (route, id_header) in [
        ("github", "X-GitHub-Delivery"),
        ("chatwoot", "X-GitHub-Delivery"),
        ("standard", "X-GitHub-Delivery"),
        ("custom", "X-Gitlab-Event-UUID"),
    ] {
        let signed = signed_headers(route, body);
        let with_fresh_id = || {
            let mut headers = signed.clone();
            headers.push((id_header.to_string(), uuid::Uuid::now_v7().to_string()));
            headers
        };
        let (status, first) = post_owned(&gateway, route, body, &with_fresh_id()).await;
        assert_eq!(
            (status, first["deliveries"].clone()),
            (202, json!(1)),
            "{route}: {first}"
        );
        for _ in 0..2 {
            let (status, again) = post_owned(&gateway, route, body, &with_fresh_id()).await;
            assert_eq!(
                (
                    status,
                    again["duplicate"].clone(),
                    again["deliveries"].clone()
                ),
                (202, json!(true), json!(0)),
                "{route}: a replay with a fresh {id_header}: {again}"
            );
        }
        let next = br#"{"n": 2}"#;
        let mut headers = signed_headers(route, next);
        if route == "standard" {
            // Standard Webhooks signs its id: the next event comes with its own.
            let signature = standard_signature("msg_2", &headers, next);
            headers.retain(|(n, _)| n != "webhook-id" && n != "webhook-signature");
            headers.push(("webhook-id".into(), "msg_2".into()));
            headers.push(("webhook-signature".into(), signature));
        }
        let (status, answer) = post_owned(&gateway, route, next, &headers).await;
        assert_eq!(
            (status, answer["deliveries"].clone()),
            (202, json!(1)),
            "{route}: {answer}"
        );
    }
    assert_eq!(
        gateway.deliveries().await.len(),
        8,
        "one per event, none per replay"
    );
}

/// A Standard Webhooks `v1` signature of `body` under `id`, at the timestamp in `headers`.
fn standard_signature(id: &str, headers: &[(String, String)], body: &[u8]) -> String {
    let ts = headers
        .iter()
        .find(|(n, _)| n == "webhook-timestamp")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let signed = [id.as_bytes(), b".", ts.as_bytes(), b".", body].concat();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&signed);
    let signature = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        mac.finalize().into_bytes(),
    );
    format!("v1,{signature}")
}
