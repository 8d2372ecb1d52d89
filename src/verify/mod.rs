//! Signature and token checks of a route's `verify:` block, over the raw body bytes.
//!
//! [`check`] runs before the body is parsed: every scheme signs the exact bytes the sender
//! transmitted, and re-serialised JSON would not verify. A [`Rejected`] says what the sender
//! must fix and is safe to return in a 401 body: it names headers, never secrets or the
//! expected signature (that would turn the gateway into a signing oracle).
//!
//! Several configured secrets (or token values) mean rotation: any one that verifies accepts.

mod model;
mod schemes;
#[cfg(test)]
mod tests;

use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;

pub use model::{Algorithm, Preset, TokenAt, Verify, KINDS, PRESETS};
pub use schemes::standard_webhooks_key;

/// How far a signed timestamp may be from the gateway's clock, either way: long enough for
/// clock skew and a sender's first retry, short enough that a captured request soon goes stale.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60);

/// What the ingress knows of a request, before its route's check.
pub struct Unverified<'a> {
    pub headers: &'a ::http::HeaderMap,
    /// The raw query string, without the `?`.
    pub query: Option<&'a str>,
    pub body: Bytes,
}

/// A request that passed its route's check (or whose route has none): the only input
/// the plan step takes, so nothing unverified can be mapped.
#[derive(Debug, Clone)]
pub struct Verified {
    body: Bytes,
    headers: Vec<(String, String)>,
    replay_key: Option<String>,
}

impl Verified {
    /// Input the local user hands to `render` or `test`: their own files, which need
    /// no signature.
    pub fn local(body: Bytes, headers: Vec<(String, String)>) -> Self {
        Self {
            body,
            headers,
            replay_key: None,
        }
    }

    /// What the route's scheme signed that identifies this request (its signature, or
    /// a signed id): the same key again is a replay. `None` without a signature.
    pub fn replay_key(&self) -> Option<&str> {
        self.replay_key.as_deref()
    }

    /// The raw bytes, as signed.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The headers whose values are text, as the mapping's conditions read them.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

/// Checks `request` against the route's `verify` (none: it passes as it is), judging
/// timestamps against `now`.
pub fn check(
    verify: Option<&Verify>,
    request: Unverified,
    now: Timestamp,
) -> Result<Verified, Rejected> {
    let mut replay_key = None;
    if let Some(verify) = verify {
        let view = schemes::Request {
            headers: request.headers,
            query: request.query,
            body: &request.body,
        };
        replay_key = schemes::check(verify, &view, now)?;
    }
    let headers = request
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    Ok(Verified {
        body: request.body,
        headers,
        replay_key,
    })
}

/// Why a request was refused. The message is meant for the sender.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejected {
    #[error("missing header `{0}`")]
    MissingHeader(String),
    #[error("missing query parameter `{0}`")]
    MissingQuery(String),
    #[error("header `{0}` is not visible ASCII text")]
    NotText(String),
    #[error("header `{header}` must start with `{prefix}`")]
    MissingPrefix { header: String, prefix: String },
    #[error("header `{0}` is not a hex digest")]
    NotHex(String),
    #[error(
        "header `{header}` holds a {found}-byte digest; HMAC-{algorithm} gives {expected} bytes"
    )]
    WrongLength {
        header: String,
        algorithm: &'static str,
        found: usize,
        expected: usize,
    },
    #[error("header `{0}` has no valid base64 signature")]
    NotBase64(String),
    #[error("header `{0}` is not a unix timestamp in seconds")]
    NotTimestamp(String),
    #[error("timestamp is {age} s old, outside the {window} s replay window")]
    Stale { age: u64, window: u64 },
    #[error("timestamp is {ahead} s in the future, outside the {window} s replay window")]
    Future { ahead: u64, window: u64 },
    #[error("header `{header}` is over {limit} bytes")]
    TooLong { header: String, limit: usize },
    #[error("webhook-signature has no v1 signature")]
    NoV1Signature,
    #[error("header `{0}` has no `v1=` signature")]
    NoV1In(String),
    #[error("header `{0}` must hold `Basic` and base64 of `user:password`")]
    NotBasic(String),
    #[error("user name or password does not match")]
    BasicMismatch,
    #[error("signature does not match any configured secret")]
    SignatureMismatch,
    #[error("token does not match any configured value")]
    TokenMismatch,
    /// The fault is the receiver's, but the sender still gets a 401 and needs to know that
    /// re-signing will not help.
    #[error("no standard-webhooks secret configured on this route is base64 (with or without `whsec_`); the receiver must fix its configuration")]
    UnusableSecret,
}
