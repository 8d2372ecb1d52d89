//! hookbridge turns webhooks from Jira, GitHub, GitLab, Chatwoot, Alertmanager and
//! anything else that POSTs JSON into chat messages.
//!
//! A request moves one way through the crate, each arrow naming the module that
//! does that step:
//!
//! ```text
//! POST /hooks/{route}
//!   -> server::ingress  read the body within its limits, content type   (404/405/408/413/415)
//!   -> verify           signature or token over the raw bytes           (401) -> Verified
//!   -> plan             pure: parse the JSON, let the mapping match and  (400/500)
//!                       render (mapping), shape each target's bodies (target)
//!   -> store            one durable row per (event, target), then 202    (503)
//!   -> deliver          per-target FIFO: lease, rate, retry policy, dead letters
//!   -> http             the outgoing request and what its answer means (a Cause)
//! ```
//!
//! Beside the flow: `config` loads config.yaml and the mapping files it names into a
//! checked model (every problem at once, as file:line:col: message); `markdown` holds
//! the chat dialects; `clock` is the one source of time; `metrics` counts; `cli` and
//! `server` are the edges that drive the stages. `mapping`, `target`, `markdown`,
//! `plan` and the retry policy do no I/O, so `render`, `test` and the gateway share
//! [`plan::plan`] and what a mapping author tries locally is what a chat service
//! receives.
//!
//! A module uses only modules before it in this order, never one after, so the
//! imports have no cycle (`tests/it/structure.rs` holds the crate to it):
//!
//! ```text
//! clock, diagnostic, yaml, markdown   time, errors at file:line:col, YAML, chat dialects
//! http, verify                        the outgoing request; the incoming check
//! mapping, target                     pure rendering and shaping
//! config                              config.yaml and mapping files -> the checked model
//! store, metrics                      the outbox; counters and gauges
//! plan                                Verified -> mapping -> target -> NewDelivery
//! deliver                             workers: store + http + the retry policy
//! server, cli                         the edges
//! ```
pub mod cli;
pub mod clock;
pub mod config;
pub mod deliver;
pub mod diagnostic;
pub mod http;
pub mod mapping;
pub mod markdown;
pub mod metrics;
pub mod plan;
pub mod server;
pub mod store;
pub mod target;
pub mod verify;
pub mod yaml;
