//! A stand-in chat service on loopback: records every request it receives, with the
//! time it arrived, and answers from a script the way the real services answer
//! (429 with Retry-After, 503, 404...), then 200 once the script runs out. Before the
//! script, it refuses what its service would (see `services.rs`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::services::Contract;

#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status and reason a service's stand-in refused it with.
    pub refused: Option<(u16, String)>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the gateway sends JSON")
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Hold the answer this long (a slow service).
    pub delay: Duration,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

struct State {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Answer>>,
    /// Answered once the script is empty.
    otherwise: Mutex<Option<Answer>>,
    arrived: Notify,
    contract: Contract,
}

#[derive(Clone)]
pub struct StandIn {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl StandIn {
    /// Takes only what the service of target `kind` takes, at [`StandIn::webhook`].
    pub async fn service(kind: &str) -> Self {
        let state = Arc::new(State {
            received: Mutex::default(),
            script: Mutex::default(),
            otherwise: Mutex::default(),
            arrived: Notify::new(),
            contract: Contract::of(kind),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port");
        let addr = listener.local_addr().expect("bound");
        let handler_state = Arc::clone(&state);
        let app = axum::Router::new().fallback(
            move |method: axum::http::Method,
                  uri: axum::http::Uri,
                  headers: HeaderMap,
                  body: Bytes| {
                let state = Arc::clone(&handler_state);
                let received = Received {
                    at: Instant::now(),
                    method: method.to_string(),
                    path: uri.path().to_string(),
                    query: uri.query().map(str::to_string),
                    headers,
                    body,
                    refused: None,
                };
                async move { answer(&state, received).await }
            },
        );
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("stand-in serves");
        });
        Self { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The webhook URL the service hands out, as a target's `url`.
    pub fn webhook(&self) -> String {
        self.url(&self.state.contract.url_path())
    }

    /// Answers these first, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.script.lock().unwrap().extend(answers);
    }

    /// What to answer once the script is used up (default 200).
    pub fn otherwise(&self, answer: Answer) {
        *self.state.otherwise.lock().unwrap() = Some(answer);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived (at `path`, when given); panics after
    /// `within` with what did arrive.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let arrived = self.state.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, arrived).await.is_err() {
                panic!(
                    "expected {count} requests within {within:?}, got {}: {:#?}",
                    received.len(),
                    received.iter().map(|r| &r.body).collect::<Vec<_>>()
                );
            }
        }
    }
}

async fn answer(state: &State, mut received: Received) -> Response {
    received.refused = state.contract.refuses(&received);
    let refused = received.refused.clone();
    state.received.lock().unwrap().push(received);
    state.arrived.notify_waiters();
    if let Some((status, why)) = refused {
        let status = StatusCode::from_u16(status).expect("valid status");
        return (status, why).into_response();
    }
    let next = state.script.lock().unwrap().pop_front();
    let answer = next
        .or_else(|| state.otherwise.lock().unwrap().clone())
        .unwrap_or_else(|| Answer::status(200).body("ok"));
    tokio::time::sleep(answer.delay).await;
    let mut response = (
        StatusCode::from_u16(answer.status).expect("valid status"),
        answer.body,
    )
        .into_response();
    for (name, value) in answer.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("valid header value"));
    }
    response
}
