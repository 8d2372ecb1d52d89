//! What an attacker (or a huge Alertmanager group) costs the real gateway binary, over
//! loopback: `cargo bench --bench hostile`. Prints each figure beside its bar from
//! issue 12 and exits non-zero when one is missed.
//!
//! 1. A 1 MB body with 4,000 fake Standard Webhooks signatures against the same body
//!    correctly signed (median of each, sequentially): refused 401 in under 5x the time.
//! 2. `/healthz` latency while 8 such requests run at once, over and over: under 200 ms.
//! 3. `/healthz` latency while 16 Alertmanager groups of 300,000 alerts each go through
//!    the shipped mapping at once: under 250 ms.
//!
//! Under `cargo test --benches` (no `--bench` argument) it runs the same steps at a
//! hundredth of the size and checks only the answers, so the harness stays working.

// A client outside the gateway: it reads the real clocks.
#![allow(clippy::disallowed_methods)]

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use reqwest::{Client, StatusCode};
use sha2::Sha256;
use tokio::task::JoinHandle;

const SECRET_KEY: &[u8] = b"hostile-bench-key-0123456789abcd";
const ALERTMANAGER_TOKEN: &str = "bench-token";

/// The sizes of one run: the bars' in a bench, a hundredth in a test.
struct Scale {
    body_bytes: usize,
    fake_signatures: usize,
    attackers: usize,
    alerts: usize,
    groups: usize,
    samples: usize,
    attack_for: Duration,
}

const BENCH: Scale = Scale {
    body_bytes: 1_000_000,
    fake_signatures: 4_000,
    attackers: 8,
    alerts: 300_000,
    groups: 16,
    samples: 15,
    attack_for: Duration::from_secs(5),
};

const SMOKE: Scale = Scale {
    body_bytes: 10_000,
    fake_signatures: 40,
    attackers: 2,
    alerts: 3_000,
    groups: 2,
    samples: 2,
    attack_for: Duration::ZERO,
};

/// A gateway process, killed and waited for when dropped.
struct Gateway {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gateway() -> Gateway {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.yaml");
    let alertmanager = root.join("mappings/alertmanager.yaml");
    let secret = format!("whsec_{}", BASE64.encode(SECRET_KEY));
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:0\n\
             store: sqlite://{store}\n\
             server: {{max_body: 64MiB, read_timeout: 60s}}\n\
             targets:\n  preview: {{kind: preview}}\n\
             routes:\n\
            \x20 signed:\n    mappings: [{mapping}]\n    targets: [preview]\n    verify: {{standard-webhooks: \"{secret}\"}}\n\
            \x20 alertmanager:\n    mappings: [{mapping}]\n    targets: [preview]\n    verify: {{token: {{query: token, value: {token}}}}}\n",
            store = dir.path().join("store.db").display(),
            mapping = alertmanager.display(),
            token = ALERTMANAGER_TOKEN,
        ),
    )
    .expect("write config");
    let log = dir.path().join("gateway.log");
    let child = Command::new(env!("CARGO_BIN_EXE_hookbridge"))
        .args(["serve", "--log-format", "json", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn,hookbridge=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start the gateway binary");
    let mut gateway = Gateway {
        child,
        base: String::new(),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(addr) = text
            .split("\"addr\":\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
        {
            gateway.base = format!("http://{addr}");
            return gateway;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not listen within 30 s:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An Alertmanager group of `alerts` firing alerts, each as small as a real one gets.
fn alert_group(alerts: usize) -> Vec<u8> {
    let mut body = String::with_capacity(alerts * 160);
    body.push_str(r#"{"receiver":"team","status":"firing","alerts":["#);
    for i in 0..alerts {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            r#"{{"status":"firing","labels":{{"alertname":"Disk{i}","severity":"warning"}},"annotations":{{"summary":"disk {i} full"}},"startsAt":"2026-12-01T10:00:00Z","fingerprint":"{i:x}"}}"#
        ));
    }
    body.push_str(
        r#"],"groupLabels":{"alertname":"Disk"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager.example:9093","version":"4","groupKey":"{}:{alertname=\"Disk\"}","truncatedAlerts":0}"#,
    );
    body.into_bytes()
}

/// A `body_bytes` Alertmanager group, so the signed one renders like a real event.
fn padded_body(body_bytes: usize) -> Vec<u8> {
    let mut alerts = 1;
    while alert_group(alerts * 2).len() <= body_bytes {
        alerts *= 2;
    }
    alert_group(alerts)
}

struct Signed {
    id: String,
    timestamp: String,
    signature: String,
}

fn sign(body: &[u8], id: &str) -> Signed {
    let timestamp = jiff::Timestamp::now().as_second().to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET_KEY).expect("any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let signature = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    Signed {
        id: id.to_string(),
        timestamp,
        signature,
    }
}

/// `count` well-formed signatures, none of them right.
fn fake_signatures(count: usize) -> String {
    (0..count)
        .map(|i| format!("v1,{}", BASE64.encode([(i % 251) as u8; 32])))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn post_signed(client: &Client, base: &str, body: &[u8], signed: &Signed) -> StatusCode {
    client
        .post(format!("{base}/hooks/signed"))
        .header("content-type", "application/json")
        .header("webhook-id", &signed.id)
        .header("webhook-timestamp", &signed.timestamp)
        .header("webhook-signature", &signed.signature)
        .body(body.to_vec())
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or(StatusCode::BAD_GATEWAY)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Bar 1: the refused request costs no more than a few accepted ones.
async fn signature_cost(client: &Client, base: &str, scale: &Scale) -> (Duration, Duration) {
    let body = padded_body(scale.body_bytes);
    let mut signed_times = Vec::new();
    let mut fake_times = Vec::new();
    for n in 0..scale.samples {
        let signed = sign(&body, &format!("msg_{n}"));
        let started = Instant::now();
        let status = post_signed(client, base, &body, &signed).await;
        signed_times.push(started.elapsed());
        assert_eq!(status, StatusCode::ACCEPTED, "a correctly signed body");

        let fake = Signed {
            signature: fake_signatures(scale.fake_signatures),
            ..sign(&body, &format!("fake_{n}"))
        };
        let started = Instant::now();
        let status = post_signed(client, base, &body, &fake).await;
        fake_times.push(started.elapsed());
        assert_eq!(status, StatusCode::UNAUTHORIZED, "fake signatures");
    }
    (median(signed_times), median(fake_times))
}

/// `/healthz` over a fresh connection every 10 ms until `load` ends; the slowest answer.
/// The probe runs on a thread of its own with a blocking socket, so that what it
/// measures is the gateway, not the load generator's runtime.
async fn healthz_while(base: &str, load: JoinHandle<()>) -> Duration {
    let addr = base.trim_start_matches("http://").to_string();
    let done = Arc::new(AtomicBool::new(false));
    let probe = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            while !done.load(Ordering::SeqCst) {
                let started = Instant::now();
                let answer = healthz(&addr);
                assert!(answer.starts_with("HTTP/1.1 200"), "/healthz: {answer}");
                slowest = slowest.max(started.elapsed());
                std::thread::sleep(Duration::from_millis(10));
            }
            slowest
        })
    };
    load.await.expect("the load ran to its end");
    done.store(true, Ordering::SeqCst);
    probe.join().expect("the probe thread")
}

fn healthz(addr: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the gateway");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    answer
}

/// Bar 2: `attackers` clients sending fake-signed bodies back to back.
fn attack(client: &Client, base: &str, scale: &Scale) -> JoinHandle<()> {
    let duration = scale.attack_for;
    let body = Bytes::from(padded_body(scale.body_bytes));
    let signature = fake_signatures(scale.fake_signatures);
    let attackers = (0..scale.attackers).map(|n| {
        let (client, url, body) = (client.clone(), format!("{base}/hooks/signed"), body.clone());
        let signature = signature.clone();
        tokio::spawn(async move {
            let until = Instant::now() + duration;
            let mut sent = 0;
            while sent == 0 || Instant::now() < until {
                let status = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", format!("attack_{n}_{sent}"))
                    .header(
                        "webhook-timestamp",
                        jiff::Timestamp::now().as_second().to_string(),
                    )
                    .header("webhook-signature", &signature)
                    .body(body.clone())
                    .send()
                    .await
                    .map(|r| r.status());
                assert_eq!(
                    status.ok(),
                    Some(StatusCode::UNAUTHORIZED),
                    "an attack request"
                );
                sent += 1;
            }
        })
    });
    let attackers: Vec<_> = attackers.collect();
    tokio::spawn(async move {
        for attacker in attackers {
            attacker.await.expect("attacker");
        }
    })
}

/// Bar 3: `groups` huge Alertmanager groups at once through the shipped mapping. Each
/// is accepted, or refused 503 when it waited out `read_timeout` for a CPU slot (the
/// gateway's answer to more work than its cores: the sender retries); the count of
/// each is printed.
fn alert_storm(client: &Client, base: &str, scale: &Scale) -> JoinHandle<()> {
    let body = Bytes::from(alert_group(scale.alerts));
    let url = format!("{base}/hooks/alertmanager?token={ALERTMANAGER_TOKEN}");
    let senders: Vec<_> = (0..scale.groups)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("user-agent", "Alertmanager/0.27.0")
                    .body(body)
                    .send()
                    .await
                    .expect("the gateway answers");
                let status = answer.status();
                let text = answer.text().await.unwrap_or_default();
                assert!(
                    [StatusCode::ACCEPTED, StatusCode::SERVICE_UNAVAILABLE].contains(&status),
                    "a huge group: {status} {text}"
                );
                (status, started.elapsed())
            })
        })
        .collect();
    tokio::spawn(async move {
        let mut answers = Vec::new();
        for sender in senders {
            answers.push(sender.await.expect("sender"));
        }
        let accepted = answers.iter().filter(|(s, _)| *s == StatusCode::ACCEPTED);
        let slowest = accepted.clone().map(|(_, t)| *t).max().unwrap_or_default();
        println!(
            "alert storm: {} accepted (the last after {slowest:.1?}), {} answered 503 busy",
            accepted.count(),
            answers.len()
                - answers
                    .iter()
                    .filter(|(s, _)| *s == StatusCode::ACCEPTED)
                    .count()
        );
    })
}

fn main() {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let scale = if bench { &BENCH } else { &SMOKE };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let gateway = start_gateway();
    let missed = runtime.block_on(run(&gateway.base, scale));
    drop(gateway);
    if bench && missed > 0 {
        eprintln!("hostile: {missed} bar(s) missed");
        std::process::exit(1);
    }
}

/// Runs the three measurements; how many bars were missed.
async fn run(base: &str, scale: &Scale) -> usize {
    let client = Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("client");
    let mut missed = 0;
    let mut report = |what: &str, figure: String, met: bool| {
        println!(
            "{what:<58} {figure:>22}  {}",
            if met { "met" } else { "MISSED" }
        );
        missed += usize::from(!met);
    };

    let (signed, fake) = signature_cost(&client, base, scale).await;
    let ratio = fake.as_secs_f64() / signed.as_secs_f64();
    println!(
        "1 MB body: signed 202 in {signed:.1?}, {} fake signatures 401 in {fake:.1?} (medians of {})",
        scale.fake_signatures, scale.samples
    );
    report(
        "fake-signed / signed time (bar < 5x)",
        format!("{ratio:.2}x"),
        ratio < 5.0,
    );

    let started = Instant::now();
    let slowest = healthz_while(base, attack(&client, base, scale)).await;
    println!(
        "{} attackers for {:.1?}",
        scale.attackers,
        started.elapsed()
    );
    report(
        "slowest /healthz under attack (bar < 200 ms)",
        format!("{slowest:.1?}"),
        slowest < Duration::from_millis(200),
    );

    let started = Instant::now();
    let slowest = healthz_while(base, alert_storm(&client, base, scale)).await;
    println!(
        "{} groups of {} alerts answered in {:.1?}",
        scale.groups,
        scale.alerts,
        started.elapsed()
    );
    report(
        "slowest /healthz under an alert storm (bar < 250 ms)",
        format!("{slowest:.1?}"),
        slowest < Duration::from_millis(250),
    );
    missed
}
