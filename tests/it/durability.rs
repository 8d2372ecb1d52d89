//! Nothing answered 202 is lost: a killed gateway restarted on the same store delivers
//! every accepted event in order, SIGTERM leaves the queue for the next start, and a
//! store that cannot take the write answers 503, never 202.

use std::time::Duration;

use serde_json::json;

use crate::delivery::{gateway_to, number, numbered_route, post_numbered};
use crate::gateway::{all_with_status, config, config_with_store, scratch, Gateway};
use crate::standin::{Answer, StandIn};

const SOON: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_killed_gateway_delivers_every_accepted_event_after_restart() {
    let chat = StandIn::service("ringcentral").await;
    chat.otherwise(Answer::status(503));
    // With a shared store the restarted process is a new replica: it takes the
    // target over once the killed one's lease (2 × timeout + 10 s) runs out.
    let (dir, mut gateway) = gateway_to(&chat, "    rate_limit: 1000/s\n    timeout: 1s\n");
    for n in 0..30 {
        post_numbered(&gateway, n).await;
    }
    chat.wait_for(3, SOON).await;
    gateway.kill();
    let failed_before = chat.received().len();

    chat.otherwise(Answer::status(200));
    let gateway = Gateway::start_with(&dir.path().join("config.yaml"), &[]);
    gateway
        .wait_until(SOON, |l| all_with_status(l, 30, "delivered"))
        .await;
    let after: Vec<u64> = chat.received()[failed_before..]
        .iter()
        .map(number)
        .collect();
    assert_eq!(
        after,
        (0..30).collect::<Vec<_>>(),
        "each once, in arrival order"
    );
}

#[tokio::test]
async fn sigterm_stops_cleanly_and_the_next_start_delivers_the_queue() {
    let chat = StandIn::service("ringcentral").await;
    chat.otherwise(Answer::status(503));
    let (dir, mut gateway) = gateway_to(&chat, "");
    for n in 0..3 {
        post_numbered(&gateway, n).await;
    }
    chat.wait_for(1, SOON).await;
    let status = gateway.terminate();
    assert!(
        status.success(),
        "SIGTERM exits 0: {status:?}\n{}",
        gateway.log()
    );
    assert!(
        gateway
            .logs("queued deliveries stay in the store", SOON)
            .await
    );

    chat.otherwise(Answer::status(200));
    let gateway = Gateway::start_with(&dir.path().join("config.yaml"), &[]);
    gateway
        .wait_until(SOON, |l| all_with_status(l, 3, "delivered"))
        .await;
}

#[tokio::test]
async fn a_store_that_cannot_take_the_write_answers_503() {
    if crate::gateway::uses_postgres() {
        eprintln!("SQLite's lock is not PostgreSQL's: replicas::losing_postgresql_… covers it");
        return;
    }
    let dir = scratch();
    let routes = numbered_route(&["preview"]);
    let gateway = Gateway::start(dir.path(), &config("  preview: {kind: preview}\n", &routes));
    post_numbered(&gateway, 1).await;

    // Another process holds the database's write lock, as a stuck backup or a full
    // disk would keep the write from happening.
    let lock = rusqlite::Connection::open(dir.path().join("outbox.db")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (status, answer) = gateway.post("t", json!({"n": 2}).to_string(), &[]).await;
    assert_eq!(status, 503, "{answer}");
    let error = answer["error"].as_str().unwrap_or("");
    assert!(
        error.contains("nothing was queued, send it again later"),
        "{error}"
    );
    // Readiness tries the write path, so a load balancer stops sending here too.
    let (status, ready) = gateway.get("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    lock.execute_batch("ROLLBACK").unwrap();
    assert_eq!(gateway.get("/readyz").await.0, 200);

    post_numbered(&gateway, 3).await;
    let list = gateway
        .wait_until(SOON, |l| all_with_status(l, 2, "delivered"))
        .await;
    let rules: Vec<_> = list.iter().map(|d| d["bodies"][0].clone()).collect();
    assert!(rules[0].as_str().unwrap().contains("event 1"));
    assert!(rules[1].as_str().unwrap().contains("event 3"));
    assert!(
        gateway
            .logs("answering 503 so the sender retries", SOON)
            .await
    );
}

#[tokio::test]
async fn a_second_serve_on_one_sqlite_file_exits_1_naming_the_first() {
    let dir = scratch();
    let yaml = config_with_store(
        "sqlite://outbox.db",
        "  preview: {kind: preview}\n",
        &numbered_route(&["preview"]),
    );
    let first = Gateway::start(dir.path(), &yaml);
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_hookbridge"))
        .current_dir(dir.path())
        .args(["serve", "--config", "config.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("hookbridge runs");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while second.try_wait().expect("waitable").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second serve on the same file kept running");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let output = second.wait_with_output().expect("its output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let pid = first.pid();
    assert!(
        stderr.contains(&format!(
            "outbox.db is in use by another hookbridge (pid {pid})"
        )),
        "{stderr}"
    );
    // The first one serves on, undisturbed.
    post_numbered(&first, 1).await;
    first
        .wait_until(SOON, |l| all_with_status(l, 1, "delivered"))
        .await;
}

#[tokio::test]
async fn sigterm_cuts_off_a_hanging_send_after_shutdown_grace_and_it_goes_out_next_start() {
    let chat = StandIn::service("ringcentral").await;
    chat.otherwise(Answer::status(200).delay(Duration::from_secs(60)));
    let dir = scratch();
    let targets =
        crate::delivery::target("chat", "ringcentral", &chat.webhook(), "    timeout: 60s\n");
    let yaml = config(&targets, &numbered_route(&["chat"]))
        .replace("targets:\n", "server: {shutdown_grace: 1s}\ntargets:\n");
    let mut gateway = Gateway::start(dir.path(), &yaml);
    post_numbered(&gateway, 1).await;
    chat.wait_for(1, SOON).await;

    let asked = std::time::Instant::now();
    let status = gateway.terminate();
    let took = asked.elapsed();
    assert!(status.success(), "{status:?}\n{}", gateway.log());
    // shutdown_grace (1 s) plus the runtime's last half second, with room for a slow
    // machine; without the bound the stop waits out the send's 60 s timeout.
    assert!(took < Duration::from_secs(10), "stopped after {took:?}");
    assert!(gateway.logs("was cut off", SOON).await, "{}", gateway.log());

    chat.otherwise(Answer::status(200));
    let gateway = Gateway::start_with(&dir.path().join("config.yaml"), &[]);
    gateway
        .wait_until(SOON, |l| all_with_status(l, 1, "delivered"))
        .await;
    assert_eq!(
        chat.received().iter().map(number).collect::<Vec<_>>(),
        [1, 1]
    );
}
