//! hookbridge turns webhooks from Jira, GitHub, GitLab, Chatwoot, Alertmanager and
//! anything else that POSTs JSON into chat messages.
//!
//! Data moves one way through the crate:
//!
//! ```text
//! config     config.yaml and the mapping files it names -> checked, compiled model
//!   |        (every problem reported at once as file:line:col: message)
//! mapping    pure: match a rule, extract with JSONPath, render Handlebars templates
//!   |        -> Message { text (markdown), card (Adaptive Card), title, ... }
//! target     pure: shape a Message into the HTTP bodies one chat service accepts,
//!            in its markdown dialect and within its size budget
//! ```
//!
//! `cli` drives these stages for `check`, `render` and `test`; `render`, `test` and the
//! gateway share one path (`mapping::Mapping::apply` then `target::build`), so what a
//! mapping author tries locally is exactly what a chat service receives.

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
