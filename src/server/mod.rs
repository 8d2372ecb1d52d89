//! The gateway process: HTTP ingress and operations endpoints on hyper, the delivery
//! workers, and an orderly stop that leaves queued work in the store.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::Config;
use crate::deliver::{self, Crew, Fleet};
use crate::metrics::Metrics;
use crate::store::{self, Store};

mod files;
mod ingress;
mod ops;
pub mod reload;
mod retention;

/// What every handler shares.
pub struct Gateway {
    /// Swapped whole by a reload: a request holds the one it started with.
    config: std::sync::RwLock<Arc<Config>>,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub fleet: Fleet,
    pub clock: Clock,
    /// Verifying and planning events, a core each (see ingress).
    pub cpu: Cpu,
    /// The id this process holds target leases under.
    pub replica: String,
}

impl Gateway {
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn swap(&self, config: Arc<Config>) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
    }

    pub fn wake(&self, target: &str) {
        self.fleet.wakers().wake(target);
    }
}

/// One slot per core for verifying and planning, and a bounded line for them.
pub struct Cpu {
    pub slots: Arc<Semaphore>,
    pub line: Arc<Semaphore>,
}

impl Cpu {
    fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            slots: Arc::new(Semaphore::new(cores)),
            line: Arc::new(Semaphore::new(cores * 32)),
        }
    }
}

/// A started gateway: its address, and the handle that stops it.
pub struct Running {
    pub addr: SocketAddr,
    gateway: Arc<Gateway>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    /// Heartbeat and retention; the workers are the fleet's.
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, and gives requests and sends in flight `shutdown_grace` in all
    /// to finish. A send still running then is cut off: its delivery stays pending and
    /// goes out at the next start (at least once, as after a crash), and its lease is
    /// handed back. Queued work stays in the store.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::sleep(self.gateway.config().server.shutdown_grace);
        tokio::pin!(deadline);
        // A reload replacing a worker holds the fleet until that worker's attempt ends.
        let workers = tokio::select! {
            workers = self.gateway.fleet.stop() => workers,
            () = &mut deadline => Vec::new(),
        };
        let mut cut_off = 0;
        for mut task in std::iter::once(self.server)
            .chain(self.tasks)
            .chain(workers)
        {
            tokio::select! {
                _ = &mut task => {}
                () = &mut deadline => {
                    task.abort();
                    cut_off += 1;
                }
            }
        }
        if cut_off > 0 {
            tracing::warn!(
                cut_off,
                "work still in flight after shutdown_grace was cut off; its deliveries stay pending for the next start"
            );
            release_leases(&self.gateway).await;
        }
    }

    /// Reloads the config and its mappings, as SIGHUP does.
    pub async fn reload(&self) -> Result<reload::Reloaded, reload::Refused> {
        reload::reload(&self.gateway).await
    }
}

/// Hands every target's lease back, so that another replica (or the next start)
/// need not wait for it to run out. Bounded: a store that does not answer leaves them
/// to expire.
async fn release_leases(gateway: &Gateway) {
    let config = gateway.config();
    let all = async {
        for target in config.targets.keys() {
            let _ = gateway.store.release(target, &gateway.replica).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(1), all)
        .await
        .is_err()
    {
        tracing::warn!(
            "cannot give the targets' leases up; other replicas take them when they run out"
        );
    }
}

/// Why the gateway could not start or run, with what the operator checks.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] store::OpenError),
    #[error("the store does not answer at start")]
    StoreNotReady(#[source] store::StoreError),
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot build the HTTP client that delivers")]
    Client(#[from] reqwest::Error),
    #[error("cannot wait for SIGTERM or SIGINT")]
    Signal(#[source] std::io::Error),
    #[error("cannot watch the config's files (--watch)")]
    Watch(#[source] notify::Error),
}

pub async fn start(config: Config, watch_files: bool) -> Result<Running, ServerError> {
    let config = Arc::new(config);
    let clock = Clock::system();
    let store = store::open(&config.store, clock.clone(), store::Access::Serve).await?;
    store.ping().await.map_err(ServerError::StoreNotReady)?;
    let cannot_listen = |source| ServerError::Listen {
        addr: config.listen,
        source,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(cannot_listen)?;
    let addr = listener.local_addr().map_err(cannot_listen)?;
    let metrics = Arc::new(Metrics::default());
    let (stop, stopping) = watch::channel(false);
    deliver::warn_about_stranded(&config, store.as_ref()).await;
    let replica = uuid::Uuid::now_v7().to_string();
    let (fleet, tasks) = background(&replica, &config, &store, &metrics, &clock, &stopping).await?;
    let gateway = Arc::new(Gateway {
        config: std::sync::RwLock::new(Arc::clone(&config)),
        store,
        metrics,
        fleet,
        clock,
        cpu: Cpu::per_core(),
        replica: replica.clone(),
    });
    let mut tasks = tasks;
    if watch_files {
        let watching =
            files::spawn(Arc::clone(&gateway), stopping.clone()).map_err(ServerError::Watch)?;
        tasks.push(watching);
    }
    let server = tokio::spawn(accept_loop(
        listener,
        router(Arc::clone(&gateway)),
        config,
        stopping,
    ));
    tracing::info!(%addr, %replica, "listening");
    Ok(Running {
        addr,
        gateway,
        stop,
        server,
        tasks,
    })
}

/// The work beside the server: a worker per target (the fleet), the heartbeat, and
/// retention.
async fn background(
    replica: &str,
    config: &Config,
    store: &Arc<dyn Store>,
    metrics: &Arc<Metrics>,
    clock: &Clock,
    stopping: &watch::Receiver<bool>,
) -> Result<(Fleet, Vec<JoinHandle<()>>), ServerError> {
    // Alive before any lease is asked for, so no other replica takes this one's
    // targets for a dead one's.
    store
        .heartbeat(replica)
        .await
        .map_err(ServerError::StoreNotReady)?;
    let liveness = deliver::Liveness::beating(clock.instant());
    let fleet = Fleet::new(Crew {
        replica: replica.to_string(),
        store: Arc::clone(store),
        metrics: Arc::clone(metrics),
        liveness: Arc::clone(&liveness),
        clock: clock.clone(),
    })?;
    fleet.follow(&config.targets).await;
    let tasks = vec![
        deliver::heartbeat(replica, store, &liveness, clock, stopping.clone()),
        retention::spawn(
            Arc::clone(store),
            config.retention,
            Arc::clone(metrics),
            stopping.clone(),
        ),
    ];
    Ok((fleet, tasks))
}

fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route(
            "/hooks/{route}",
            post(ingress::hook).fallback(|| async {
                error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "webhooks are sent with POST",
                )
            }),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/preview", get(ops::preview))
        .route("/api/deliveries", get(ops::list))
        .route("/api/deliveries/replay", post(ops::replay_dead))
        .route("/api/deliveries/{id}/replay", post(ops::replay_one))
        .route("/api/reload", post(ops::reload))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not found: webhooks go to POST /hooks/{route}",
            )
        })
        .with_state(gateway)
}

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    config: Arc<Config>,
    mut stopping: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(config.server.max_connections));
    let clients = Arc::new(Clients::new(config.server.max_connections_per_client));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.server.read_timeout);
    loop {
        // At the connection limit, new clients wait in the kernel's backlog.
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => permit,
            _ = stopping.changed() => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.changed() => break,
        };
        let (stream, client) = match accepted {
            Ok((stream, peer)) => match clients.enter(peer.ip()) {
                Some(client) => (stream, client),
                // Closed at once: its slot goes back to everyone else.
                None => {
                    tracing::warn!(peer = %peer.ip(), "a client holds max_connections_per_client already; closing its new connection");
                    continue;
                }
            },
            Err(err) => {
                // Out of file descriptors and the like: back off rather than spin.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop((permit, client));
        });
    }
    drop(listener);
    tracing::info!("stopping: no new connections; finishing requests in flight");
    if tokio::time::timeout(config.server.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after shutdown_grace; closing them");
    }
}

/// Open connections per client address.
struct Clients {
    open: std::sync::Mutex<HashMap<IpAddr, usize>>,
    max: usize,
}

/// One open connection of a client; closing it (dropping this) frees its place.
struct ClientSlot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Clients {
    fn new(max: usize) -> Self {
        Self {
            open: std::sync::Mutex::default(),
            max,
        }
    }

    fn enter(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            clients: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Runs until SIGTERM or SIGINT, then stops in order; SIGHUP reloads the config.
pub async fn serve(config: Config, watch_files: bool) -> Result<(), ServerError> {
    let running = start(config, watch_files).await?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(ServerError::Signal)?;
    let stop = wait_for_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            stopped = &mut stop => {
                stopped?;
                break;
            }
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading the config");
                // Its outcome is logged and counted either way.
                let _ = running.reload().await;
            }
        }
    }
    tracing::info!("signal received; shutting down");
    running.stop().await;
    tracing::info!("stopped; queued deliveries stay in the store for the next start");
    Ok(())
}

async fn wait_for_signal() -> Result<(), ServerError> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(ServerError::Signal)?;
    tokio::select! {
        _ = terminate.recv() => Ok(()),
        result = tokio::signal::ctrl_c() => result.map_err(ServerError::Signal),
    }
}

pub(crate) fn reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Error bodies are `{"error": "..."}` and say what to do; they never hold a secret.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    reply(status, &json!({"error": message.into()}))
}
