//! This process's workers, one per target that sends, kept in step with the config:
//! a reload starts workers for new targets, stops those of removed ones, and replaces
//! a changed target's worker once its current attempt has ended, so that one target
//! never has two senders here.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::{sends, spacing, Liveness, Worker};
use crate::clock::Clock;
use crate::config::Target;
use crate::http;
use crate::metrics::Metrics;
use crate::store::Store;

/// Wakes a target's worker when ingress queued something for it; a worker started
/// later for the same target finds the same bell.
#[derive(Debug, Clone, Default)]
pub struct Wakers(Arc<Mutex<HashMap<String, Arc<Notify>>>>);

impl Wakers {
    pub fn wake(&self, target: &str) {
        if let Some(notify) = self.lock().get(target) {
            notify.notify_one();
        }
    }

    fn bell(&self, target: &str) -> Arc<Notify> {
        Arc::clone(self.lock().entry(target.to_string()).or_default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What every worker of this process shares.
pub struct Crew {
    pub replica: String,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub liveness: Arc<Liveness>,
    pub clock: Clock,
}

struct Hand {
    target: Target,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

pub struct Fleet {
    crew: Crew,
    client: http::Client,
    wakers: Wakers,
    /// `None` once stopped: a reload racing the stop hires no one.
    hands: tokio::sync::Mutex<Option<HashMap<String, Hand>>>,
}

impl Fleet {
    pub fn new(crew: Crew) -> Result<Self, reqwest::Error> {
        Ok(Self {
            crew,
            client: http::Client::new()?,
            wakers: Wakers::default(),
            hands: tokio::sync::Mutex::new(Some(HashMap::new())),
        })
    }

    pub fn wakers(&self) -> &Wakers {
        &self.wakers
    }

    /// Makes the workers those of `targets`: a target that is off (no url) keeps its
    /// queue in the store for when it is on. Returns when changed targets' old workers
    /// have ended (each after its current attempt) and their new ones run.
    pub async fn follow(&self, targets: &BTreeMap<String, Target>) {
        let mut guard = self.hands.lock().await;
        let Some(hands) = guard.as_mut() else { return };
        let stale: Vec<String> = hands
            .iter()
            .filter(|(name, hand)| {
                targets
                    .get(*name)
                    .is_none_or(|target| *target != hand.target || !sends(target))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            if let Some(hand) = hands.remove(&name) {
                let _ = hand.stop.send(true);
                let _ = hand.task.await;
                tracing::info!(target_name = %name, "the target's worker stopped for the new config");
            }
        }
        for (name, target) in targets {
            if sends(target) && !hands.contains_key(name) {
                hands.insert(name.clone(), self.hire(name, target));
            }
        }
    }

    fn hire(&self, name: &str, target: &Target) -> Hand {
        let (stop, stopping) = watch::channel(false);
        let crew = &self.crew;
        let worker = Worker {
            name: name.to_string(),
            target: target.clone(),
            store: Arc::clone(&crew.store),
            client: self.client.clone(),
            metrics: Arc::clone(&crew.metrics),
            spacing: target.rate_limit.map(spacing),
            owner: crew.replica.clone(),
            lease: None,
            liveness: Arc::clone(&crew.liveness),
            bucket_refills_at: None,
            wake: self.wakers.bell(name),
            clock: crew.clock.clone(),
        };
        Hand {
            target: target.clone(),
            stop,
            task: tokio::spawn(worker.run(stopping)),
        }
    }

    /// Asks every worker to stop after its current attempt; their tasks, to await.
    pub async fn stop(&self) -> Vec<JoinHandle<()>> {
        let hands = self.hands.lock().await.take().unwrap_or_default();
        hands
            .into_values()
            .map(|hand| {
                let _ = hand.stop.send(true);
                hand.task
            })
            .collect()
    }
}
