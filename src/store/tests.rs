//! What every [`Store`] must do, as one test body that each implementation runs.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::clock::Clock;
use crate::config::Retention;

use super::*;

pub fn event(id: &str, key: Option<&str>, targets: &[&str]) -> NewEvent {
    NewEvent {
        id: id.into(),
        route: "jira".into(),
        dedup_keys: key.into_iter().map(Into::into).collect(),
        deliveries: targets
            .iter()
            .map(|t| NewDelivery {
                target: (*t).into(),
                rule: "rule".into(),
                bodies: vec![format!("{{\"event\":\"{id}\"}}"), "{}".into()],
                // Target "b" stands for an `http` target whose rule names its request.
                request: (*t == "b").then(|| Request {
                    method: Some("PUT".into()),
                    headers: vec![("X-Key".into(), id.into())],
                }),
                stored_only: false,
            })
            .collect(),
    }
}

async fn head_event(store: &dyn Store, target: &str) -> Option<String> {
    store.head(target).await.unwrap().map(|d| d.event_id)
}

pub async fn behaves(store: &dyn Store) {
    store.ping().await.unwrap();
    assert_eq!(
        store
            .accept(event("e1", Some("k1"), &["a", "b"]))
            .await
            .unwrap(),
        Accepted::Stored
    );
    assert_eq!(
        store.accept(event("e2", Some("k2"), &["a"])).await.unwrap(),
        Accepted::Stored
    );
    assert_eq!(
        store.accept(event("e3", Some("k1"), &["a"])).await.unwrap(),
        Accepted::Duplicate {
            original: "e1".into()
        },
        "a repeated delivery id queues nothing"
    );

    let ttl = std::time::Duration::from_secs(30);
    store.heartbeat("me").await.unwrap();
    let fence = store
        .lease("a", "me", ttl)
        .await
        .unwrap()
        .expect("a is free");
    // FIFO per target: a failing head stays the head.
    let first = store.head("a").await.unwrap().unwrap();
    assert_eq!((first.event_id.as_str(), first.parts_sent), ("e1", 0));
    assert_eq!(first.bodies.len(), 2);
    assert_eq!(first.request, None);
    let on_b = store.head("b").await.unwrap().unwrap();
    assert_eq!(
        on_b.request.map(|r| (r.method, r.headers)),
        Some((Some("PUT".into()), vec![("X-Key".into(), "e1".into())]))
    );
    let later = crate::clock::Clock::system().now() + SignedDuration::from_secs(60);
    store
        .update(
            first.id,
            Update::Retry {
                parts_sent: 1,
                next_at: later,
                cause: Cause::Server(503),
                error: "HTTP 503".into(),
            },
            &fence,
        )
        .await
        .unwrap();
    let retried = store.head("a").await.unwrap().unwrap();
    assert_eq!(retried.id, first.id);
    assert_eq!((retried.parts_sent, retried.attempts), (1, 1));
    assert_eq!(retried.next_at.as_millisecond(), later.as_millisecond());
    assert_eq!(retried.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(retried.last_cause, Some(Cause::Server(503)));
    // Progress on a message of many parts keeps the last failure on record.
    let progress = Update::Progress { parts_sent: 1 };
    store.update(first.id, progress, &fence).await.unwrap();
    let progressed = store.head("a").await.unwrap().unwrap();
    assert_eq!(
        (progressed.attempts, progressed.last_cause),
        (1, Some(Cause::Server(503)))
    );

    store
        .update(
            first.id,
            Update::Dead {
                parts_sent: 1,
                cause: Cause::Client(404),
                error: "HTTP 404".into(),
            },
            &fence,
        )
        .await
        .unwrap();
    assert_eq!(head_event(store, "a").await.as_deref(), Some("e2"));
    assert_eq!(head_event(store, "b").await.as_deref(), Some("e1"));

    // A replay goes to the tail, resuming after the parts already taken.
    assert!(matches!(
        store.replay(Replay::Ids(vec![first.id + 1])).await,
        Err(StoreError::StillPending(_))
    ));
    assert!(matches!(
        store.replay(Replay::Ids(vec![9999])).await,
        Err(StoreError::NotFound(9999))
    ));
    assert_eq!(store.replay(Replay::AllDead).await.unwrap(), vec![first.id]);
    assert_eq!(head_event(store, "a").await.as_deref(), Some("e2"));
    let e2 = store.head("a").await.unwrap().unwrap();
    store
        .update(e2.id, Update::Delivered { parts: 2 }, &fence)
        .await
        .unwrap();
    let replayed = store.head("a").await.unwrap().unwrap();
    assert_eq!(replayed.id, first.id);
    assert_eq!((replayed.parts_sent, replayed.attempts), (1, 0));

    let queues = store.queues().await.unwrap();
    let depth = |t: &str| queues.iter().find(|q| q.target == t).map(|q| q.depth);
    assert_eq!((depth("a"), depth("b")), (Some(1), Some(1)));

    let delivered = store
        .list(&Filter {
            status: Some(Status::Delivered),
            targets: vec!["a".into()],
            limit: 0,
            before: None,
        })
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].event_id, "e2");
    assert_eq!(delivered[0].parts_sent, 2);
    assert_eq!(store.list(&Filter::default()).await.unwrap().len(), 3);
    assert!(matches!(
        store
            .update(9999, Update::Delivered { parts: 1 }, &fence)
            .await,
        Err(StoreError::NotFound(9999))
    ));
    assert!(
        matches!(
            store
                .update(e2.id, Update::Progress { parts_sent: 1 }, &fence)
                .await,
            Err(StoreError::Stale(id)) if id == e2.id
        ),
        "a delivered row is settled: a late update changes nothing"
    );

    // A send slot is taken once per spacing, whoever asks.
    let spacing = std::time::Duration::from_millis(500);
    let zero = std::time::Duration::ZERO;
    assert_eq!(store.take_send_slot("a", spacing).await.unwrap(), zero);
    let wait = store.take_send_slot("a", spacing).await.unwrap();
    assert!(wait > zero && wait <= spacing, "{wait:?}");
    assert_eq!(
        store.take_send_slot("b", spacing).await.unwrap(),
        zero,
        "targets are paced apart"
    );
    // The end of a send paces the next from then on.
    store.end_send("c", spacing).await.unwrap();
    let wait = store.take_send_slot("c", spacing).await.unwrap();
    assert!(wait > zero && wait <= spacing, "{wait:?}");
    assert_eq!(store.take_send_slot("d", spacing).await.unwrap(), zero);
    store.end_send("d", spacing).await.unwrap();
    let wait = store.take_send_slot("d", spacing).await.unwrap();
    assert!(
        wait > spacing / 2 && wait <= spacing,
        "a send's end moves its slot on: {wait:?}"
    );
    assert_eq!(
        store.lease("a", "me", ttl).await.unwrap(),
        Some(fence),
        "renewing keeps the epoch"
    );
    store.release("a", "me").await.unwrap();
}

/// A source's delivery id is a duplicate for [`DEDUP_WINDOW`] after it was first
/// seen, and new again after: measured on the store's own clock, which the test moves.
pub async fn forgets_ids_after_the_window(store: &dyn Store, clock: &Clock) {
    let on_route = |id: &str| NewEvent {
        route: "window".into(),
        ..event(id, Some("delivery-1"), &["w"])
    };
    assert_eq!(
        store.accept(on_route("w1")).await.unwrap(),
        Accepted::Stored
    );
    clock.advance(Duration::from_secs(23 * 3600));
    assert_eq!(
        store.accept(on_route("w2")).await.unwrap(),
        Accepted::Duplicate {
            original: "w1".into()
        }
    );
    clock.advance(Duration::from_secs(3600 + 1));
    assert_eq!(
        store.accept(on_route("w3")).await.unwrap(),
        Accepted::Stored
    );
    // Rows are stamped by the store's clock, not the machine's.
    let queued = store.head("w").await.unwrap().unwrap();
    assert_eq!(queued.created_at, start());
}

/// Where the manual clocks of these tests start: a day the machine's clock is not at.
pub fn start() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

async fn settle(store: &dyn Store, target: &str, update: Update) {
    let head = store.head(target).await.unwrap().expect("queued");
    let fence = holder(store, target).await;
    store.update(head.id, update, &fence).await.unwrap();
}

/// This test's lease on `target`.
pub async fn holder(store: &dyn Store, target: &str) -> Fence {
    let ttl = Duration::from_secs(30);
    store.heartbeat("tests").await.unwrap();
    let fence = store.lease(target, "tests", ttl).await.unwrap();
    fence.expect("the target is free")
}

async fn left(store: &dyn Store) -> Vec<(String, String, Status)> {
    let all = store.list(&Filter::default()).await.unwrap();
    all.into_iter()
        .map(|d| (d.event_id, d.target, d.status))
        .collect()
}

/// Retention on the store's own clock, in batches: finished rows go once they are older
/// than their kind's retention, dedup keys after their window, pending rows never.
pub async fn prunes_only_what_retention_lets_go(store: &dyn Store, clock: &Clock) {
    const DAY: Duration = Duration::from_secs(86_400);
    let retention = Retention::default();
    store
        .accept(event("old", Some("k1"), &["a", "b", "c"]))
        .await
        .unwrap();
    settle(store, "a", Update::Delivered { parts: 2 }).await;
    let dead = Update::Dead {
        parts_sent: 0,
        cause: Cause::Client(404),
        error: "gone".into(),
    };
    settle(store, "b", dead).await;
    clock.advance(DAY * 6);
    store.accept(event("recent", None, &["a"])).await.unwrap();
    settle(store, "a", Update::Delivered { parts: 2 }).await;
    assert_eq!(
        store.prune(&retention, 1).await.unwrap(),
        Pruned {
            dedup_keys: 1,
            ..Pruned::default()
        },
        "only the key is past its day"
    );

    clock.advance(DAY * 2);
    let first = store.prune(&retention, 1).await.unwrap();
    assert_eq!(
        first,
        Pruned {
            delivered: 1,
            ..Pruned::default()
        },
        "the delivered row past its week"
    );
    assert!(first.filled(1), "a full batch: the caller asks again");
    let second = store.prune(&retention, 1).await.unwrap();
    assert_eq!(second, Pruned::default());
    assert!(!second.filled(1));
    assert_eq!(
        left(store).await,
        [
            ("recent".into(), "a".into(), Status::Delivered),
            ("old".into(), "c".into(), Status::Pending),
            ("old".into(), "b".into(), Status::Dead),
        ]
    );
    assert_eq!(
        store
            .accept(event("again", Some("k1"), &["a"]))
            .await
            .unwrap(),
        Accepted::Stored,
        "a forgotten key is new again"
    );
    settle(store, "a", Update::Delivered { parts: 2 }).await;

    clock.advance(DAY * 30);
    let later = store.prune(&retention, 100).await.unwrap();
    assert_eq!((later.delivered, later.dead), (2, 1));
    assert_eq!(
        left(store).await,
        [("old".into(), "c".into(), Status::Pending)],
        "a pending row stays however old"
    );
}
