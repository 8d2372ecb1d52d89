//! Several gateway processes on one PostgreSQL outbox: one rate limit, one order and
//! one dedup window per target across the fleet, and nothing lost when a replica is
//! killed. Runs when HOOKBRIDGE_TEST_PG names a server (`.ci/run` sets it).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::delivery::{number, numbered_route, target};
use crate::gateway::{config_with_store, scratch, Gateway};
use crate::pg::{connect, fresh_database, server_addr, url_at, DropDatabase};
use crate::standin::{Answer, StandIn};

/// The replica that delivers to `target` now.
async fn lease_holder(url: &str, target: &str) -> String {
    connect(url)
        .await
        .query_one(
            "SELECT owner FROM target_leases WHERE target = $1",
            &[&target],
        )
        .await
        .expect("a worker holds the target's lease")
        .get(0)
}

fn replicas(file: &Path, count: usize) -> Vec<Gateway> {
    (0..count).map(|_| Gateway::start_with(file, &[])).collect()
}

/// Posts events `numbers` in order to the first replica in `addrs` that answers, as a
/// load balancer would, each with its own delivery id; returns the numbers accepted.
async fn post_in_order(addrs: Vec<SocketAddr>, numbers: Vec<u64>, first: usize) -> Vec<u64> {
    let client = reqwest::Client::new();
    let mut accepted = Vec::new();
    for n in numbers {
        for attempt in 0..addrs.len() {
            let addr = addrs[(first + attempt) % addrs.len()];
            let sent = client
                .post(format!("http://{addr}/hooks/t"))
                .header("Content-Type", "application/json")
                .header("webhook-id", format!("evt-{n}"))
                .body(json!({"n": n}).to_string())
                .send()
                .await;
            if sent.is_ok_and(|r| r.status() == 202) {
                accepted.push(n);
                break;
            }
        }
    }
    accepted
}

/// 30 senders, each posting its 50 numbers in order, spread over the replicas.
async fn post_batch(addrs: &[SocketAddr], range: std::ops::Range<u64>) -> Vec<Vec<u64>> {
    let numbers: Vec<u64> = range.collect();
    let senders: Vec<_> = numbers
        .chunks(50)
        .enumerate()
        .map(|(i, chunk)| tokio::spawn(post_in_order(addrs.to_vec(), chunk.to_vec(), i)))
        .collect();
    let mut batches = Vec::new();
    for sender in senders {
        batches.push(sender.await.unwrap());
    }
    batches
}

#[cfg_attr(
    no_test_pg,
    ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG (.ci/run does)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_keep_rate_order_and_every_event_through_a_kill() {
    let (url, _database) = fresh_database().await;
    let chat = StandIn::service("ringcentral").await;
    let dir = scratch();
    let targets = target(
        "chat",
        "ringcentral",
        &chat.webhook(),
        "    rate_limit: 100/s\n    timeout: 1s\n",
    );
    let yaml = config_with_store(&url, &targets, &numbered_route(&["chat"]));
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, yaml).unwrap();
    let mut fleet = replicas(&file, 3);
    let addrs: Vec<SocketAddr> = fleet.iter().map(|g| g.addr).collect();

    let mut senders = post_batch(&addrs, 0..1500).await;
    chat.wait_for(500, Duration::from_secs(30)).await;
    // Kill the replica delivering to the target, so another must take it over.
    let holder = lease_holder(&url, "chat").await;
    let victim = fleet
        .iter()
        .position(|g| g.replica == holder)
        .expect("the holder is one of the fleet");
    fleet[victim].kill();
    let survivor = (victim + 1) % fleet.len();
    senders.extend(post_batch(&addrs, 1500..3000).await);
    let accepted: Vec<u64> = senders.iter().flatten().copied().collect();
    assert_eq!(accepted.len(), 3000, "the live replicas take every event");

    // A redelivery id posted again to another replica is a duplicate fleet-wide. Event
    // 7 went to replica 0 (its sender starts there and all were up); ask a live one
    // that is not replica 0, so only the shared store can know it.
    let elsewhere = (1..fleet.len())
        .find(|&i| i != victim)
        .expect("two replicas besides the first");
    let (status, again) = fleet[elsewhere]
        .post("t", json!({"n": 7}).to_string(), &[("webhook-id", "evt-7")])
        .await;
    assert_eq!((status, again["duplicate"].clone()), (202, json!(true)));

    fleet[survivor]
        .wait_until(Duration::from_secs(120), |l| {
            l.len() == 3000 && l.iter().all(|d| d["status"] == "delivered")
        })
        .await;
    let received = chat.received();
    let mut times: HashMap<u64, usize> = HashMap::new();
    for r in &received {
        *times.entry(number(r)).or_default() += 1;
    }
    let missing: Vec<_> = accepted.iter().filter(|n| !times.contains_key(n)).collect();
    assert!(missing.is_empty(), "accepted, never delivered: {missing:?}");
    // At least once: the one delivery the killed replica had in flight may be sent
    // again by the replica that takes its target over; nothing else may repeat.
    let repeated: Vec<_> = times.iter().filter(|(_, c)| **c > 1).collect();
    assert!(repeated.len() <= 1, "delivered twice: {repeated:?}");
    assert_ne!(
        lease_holder(&url, "chat").await,
        holder,
        "another replica took the target over"
    );

    let arrivals: Vec<_> = received.iter().map(|r| r.at).collect();
    for (i, start) in arrivals.iter().enumerate() {
        let within = arrivals[i..]
            .iter()
            .take_while(|t| **t < *start + Duration::from_secs(1))
            .count();
        assert!(
            within <= 100,
            "{within} requests in the second after arrival {i}"
        );
    }

    let order: HashMap<u64, usize> = received
        .iter()
        .enumerate()
        .map(|(i, r)| (number(r), i))
        .rev()
        .collect();
    for sender in &senders {
        let positions: Vec<usize> = sender.iter().map(|n| order[n]).collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "a sender's events arrive in the order it sent them: {sender:?}"
        );
    }
}

#[cfg_attr(
    no_test_pg,
    ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG (.ci/run does)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chime_gets_one_message_a_second_from_the_whole_fleet() {
    let (url, _database) = fresh_database().await;
    let chat = StandIn::service("chime").await;
    let dir = scratch();
    let targets = target("chime", "chime", &chat.webhook(), "");
    let yaml = config_with_store(&url, &targets, &numbered_route(&["chime"]));
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, yaml).unwrap();
    let fleet = replicas(&file, 3);
    for n in 0..10u64 {
        let (status, body) = fleet[n as usize % 3]
            .post("t", json!({"n": n}).to_string(), &[])
            .await;
        assert_eq!(status, 202, "{body}");
    }
    let received = chat.wait_for(10, Duration::from_secs(30)).await;
    for pair in received.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(990),
            "two Chime messages {gap:?} apart"
        );
    }
    let numbers: Vec<u64> = received.iter().map(number).collect();
    assert_eq!(numbers, (0..10).collect::<Vec<_>>());
}

/// Two replicas on one target, whose `chat` stand-in holds its first answer back.
async fn pair_on_one_target(
    first_answer_after: Duration,
) -> (
    Vec<Gateway>,
    StandIn,
    String,
    DropDatabase,
    tempfile::TempDir,
) {
    let (url, database) = fresh_database().await;
    let chat = StandIn::service("ringcentral").await;
    chat.script([Answer::status(200).delay(first_answer_after)]);
    chat.otherwise(Answer::status(200));
    let dir = scratch();
    let targets = target(
        "chat",
        "ringcentral",
        &chat.webhook(),
        "    rate_limit: 100/s\n    timeout: 5s\n",
    );
    let yaml = config_with_store(&url, &targets, &numbered_route(&["chat"]));
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, yaml).unwrap();
    (replicas(&file, 2), chat, url, database, dir)
}

async fn holder_index(fleet: &[Gateway], url: &str) -> usize {
    let holder = lease_holder(url, "chat").await;
    fleet
        .iter()
        .position(|g| g.replica == holder)
        .expect("the holder is one of the pair")
}

/// The holder is paused (SIGSTOP) mid-send, past its heartbeats: the other replica
/// takes the target over in seconds and delivers the queue; woken, the paused one's
/// late outcome is fenced out and it sends nothing more.
#[cfg_attr(
    no_test_pg,
    ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG (.ci/run does)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_holder_is_replaced_and_fenced_out_when_it_wakes() {
    let (fleet, chat, url, _database, _dir) = pair_on_one_target(Duration::from_secs(2)).await;
    for n in 0..5 {
        let (status, body) = fleet[0].post("t", json!({"n": n}).to_string(), &[]).await;
        assert_eq!(status, 202, "{body}");
    }
    chat.wait_for(1, Duration::from_secs(30)).await;
    let paused = holder_index(&fleet, &url).await;
    let other = 1 - paused;
    fleet[paused].signal("STOP");
    fleet[other]
        .wait_until(Duration::from_secs(10), |l| {
            l.len() == 5 && l.iter().all(|d| d["status"] == "delivered")
        })
        .await;

    fleet[paused].signal("CONT");
    assert!(
        fleet[paused]
            .logs(
                "another replica took this target over",
                Duration::from_secs(30)
            )
            .await,
        "{}",
        fleet[paused].log()
    );
    let (status, body) = fleet[paused]
        .post("t", json!({"n": 5}).to_string(), &[])
        .await;
    assert_eq!(status, 202, "{body}");
    let received = chat.wait_for(7, Duration::from_secs(30)).await;
    let numbers: Vec<u64> = received.iter().map(number).collect();
    // Event 0 was in flight when the holder stopped: the new holder sends it again
    // (at least once); everything else goes out once, in order.
    assert_eq!(numbers, [0, 0, 1, 2, 3, 4, 5]);
    assert_ne!(lease_holder(&url, "chat").await, fleet[paused].replica);
}

/// A holder killed outright: its heartbeats stop, and the other replica delivers to
/// its target again within seconds rather than after the whole lease.
#[cfg_attr(
    no_test_pg,
    ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG (.ci/run does)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_target_is_delivered_again_within_ten_seconds() {
    let (mut fleet, chat, url, _database, _dir) = pair_on_one_target(Duration::ZERO).await;
    let (status, _) = fleet[0].post("t", json!({"n": 0}).to_string(), &[]).await;
    assert_eq!(status, 202);
    // Delivered and recorded, so nothing is in flight when the holder dies.
    fleet[0]
        .wait_until(Duration::from_secs(30), |l| {
            l.len() == 1 && l[0]["status"] == "delivered"
        })
        .await;
    let killed = holder_index(&fleet, &url).await;
    let other = 1 - killed;
    fleet[killed].kill();
    let (status, _) = fleet[other]
        .post("t", json!({"n": 1}).to_string(), &[])
        .await;
    assert_eq!(status, 202);
    // The lease itself would last 2 x 5 s + 10 s: only the silence lets it go sooner.
    let received = chat.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(received.iter().map(number).collect::<Vec<_>>(), [0, 1]);
}

/// A TCP relay to PostgreSQL that the test cuts and restores, to lose the store while
/// the gateway serves.
struct Relay {
    addr: SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let relay = Relay {
            addr,
            cut: Default::default(),
            links: Default::default(),
        };
        let (cut, links) = (relay.cut.clone(), relay.links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if cut.load(Ordering::SeqCst) {
                    continue;
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links.lock().unwrap().push(link);
            }
        });
        relay
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg_attr(
    no_test_pg,
    ignore = "needs PostgreSQL: set HOOKBRIDGE_TEST_PG (.ci/run does)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_postgresql_gives_503_and_both_sides_resume_when_it_returns() {
    let (url, _database) = fresh_database().await;
    let upstream = server_addr(&url)
        .parse()
        .expect("PostgreSQL at an IP address");
    let relay = Relay::start(upstream).await;
    let database = url.rsplit('/').next().expect("a database name");
    let relayed = url_at(&url, &relay.addr.to_string(), database);
    let chat = StandIn::service("ringcentral").await;
    let dir = scratch();
    let targets = target("chat", "ringcentral", &chat.webhook(), "");
    let yaml = config_with_store(&relayed, &targets, &numbered_route(&["chat"]));
    let gateway = Gateway::start(dir.path(), &yaml);
    let (status, _) = gateway.post("t", json!({"n": 1}).to_string(), &[]).await;
    assert_eq!(status, 202);
    gateway
        .wait_until(Duration::from_secs(10), |l| {
            crate::gateway::all_with_status(l, 1, "delivered")
        })
        .await;

    relay.cut();
    let (status, ready) = gateway.get("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    let (status, answer) = gateway.post("t", json!({"n": 2}).to_string(), &[]).await;
    assert_eq!(status, 503, "never 202 without a stored row: {answer}");
    assert_eq!(gateway.get("/healthz").await.0, 200, "the process lives on");

    relay.restore();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        let (status, answer) = gateway.post("t", json!({"n": 3}).to_string(), &[]).await;
        if status == 202 || std::time::Instant::now() > deadline {
            break (status, answer);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.0, 202, "ingress resumes by itself: {}", status.1);
    assert_eq!(gateway.get("/readyz").await.0, 200);
    let received = chat.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(received.iter().map(number).collect::<Vec<_>>(), [1, 3]);
}

#[tokio::test]
async fn postgresql_down_at_start_is_a_clear_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = scratch();
    let yaml = config_with_store(
        &format!("postgres://postgres@127.0.0.1:{port}/hookbridge"),
        "  preview: {kind: preview}\n",
        &numbered_route(&["preview"]),
    );
    std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
    let run = crate::support::hookbridge(dir.path(), &["serve", "--config", "config.yaml"], None);
    assert_eq!(run.status.code(), Some(1));
    let stderr = crate::support::text(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot reach PostgreSQL at 127.0.0.1:{port}/hookbridge"
        )),
        "{stderr}"
    );
}
