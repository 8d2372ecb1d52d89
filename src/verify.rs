//! Signature and token checks of a route's `verify:` block, over the raw body bytes.
//!
//! [`check`] runs before the body is parsed: every scheme signs the exact bytes the sender
//! transmitted, and re-serialised JSON would not verify. A [`Rejected`] says what the sender
//! must fix and is safe to return in a 401 body: it names headers, never secrets or the
//! expected signature (that would turn the gateway into a signing oracle).
//!
//! Several configured secrets (or token values) mean rotation: any one that verifies accepts.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::config::verify::{Algorithm, Preset, TokenAt, Verify};

/// How far a signed timestamp may be from the gateway's clock, either way: long enough for
/// clock skew and a sender's first retry, short enough that a captured request soon goes stale.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(5 * 60);

/// What the ingress knows of a request, before its route's check.
pub struct Unverified<'a> {
    pub headers: &'a hyper::HeaderMap,
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
}

impl Verified {
    /// Input the local user hands to `render` or `test`: their own files, which need
    /// no signature.
    pub fn local(body: Bytes, headers: Vec<(String, String)>) -> Self {
        Self { body, headers }
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
    if let Some(verify) = verify {
        let view = Request {
            headers: request.headers,
            query: request.query,
            body: &request.body,
        };
        check_scheme(verify, &view, now)?;
    }
    let headers = request
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
        .collect();
    Ok(Verified {
        body: request.body,
        headers,
    })
}

/// The request as each scheme reads it.
struct Request<'a> {
    headers: &'a hyper::HeaderMap,
    query: Option<&'a str>,
    body: &'a [u8],
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
    #[error("webhook-signature has no v1 signature")]
    NoV1Signature,
    #[error("signature does not match any configured secret")]
    SignatureMismatch,
    #[error("token does not match any configured value")]
    TokenMismatch,
    /// The fault is the receiver's, but the sender still gets a 401 and needs to know that
    /// re-signing will not help.
    #[error("no standard-webhooks secret configured on this route is base64 (with or without `whsec_`); the receiver must fix its configuration")]
    UnusableSecret,
}

const GITHUB_SIGNATURE: &str = "X-Hub-Signature-256";
const WEBSUB_SIGNATURE: &str = "X-Hub-Signature";
const GITLAB_TOKEN: &str = "X-Gitlab-Token";
const CHATWOOT_SIGNATURE: &str = "X-Chatwoot-Signature";
const CHATWOOT_TIMESTAMP: &str = "X-Chatwoot-Timestamp";
const SENTRY_SIGNATURE: &str = "Sentry-Hook-Signature";
/// Grafana's documented default first; the second is what grafana/alerting's `http/hmac.go`
/// actually sends when the contact point's "Header" field is left empty.
const GRAFANA_SIGNATURE: [&str; 2] = ["X-Grafana-Alerting-Signature", "X-Grafana-Alert-Signature"];
/// Grafana has no default timestamp header: the contact point names it. These are the names
/// its provisioning docs and Terraform provider use; a timestamp sent under another name is
/// not seen, and the signature (which then covers `"{timestamp}:{body}"`) fails to match.
const GRAFANA_TIMESTAMP: [&str; 2] = [
    "X-Grafana-Alerting-Signature-Timestamp",
    "X-Grafana-Alerting-Timestamp",
];
const WEBHOOK_ID: &str = "webhook-id";
const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
const WEBHOOK_SIGNATURE: &str = "webhook-signature";

fn check_scheme(verify: &Verify, request: &Request, now: Timestamp) -> Result<(), Rejected> {
    match verify {
        Verify::Preset { preset, secrets } => check_preset(*preset, secrets, request, now),
        Verify::Hmac {
            header,
            secrets,
            algorithm,
            prefix,
        } => {
            let signature = hex_digest(header, required(request, header)?, prefix, *algorithm)?;
            signed_by_any(*algorithm, secrets, &[request.body], &[signature])
        }
        Verify::Token {
            at: TokenAt::Header(name),
            values,
        } => token_matches(required(request, name)?, values),
        Verify::Token {
            at: TokenAt::Query(name),
            values,
        } => {
            let query = request.query.unwrap_or_default().as_bytes();
            let presented = form_urlencoded::parse(query)
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
                .ok_or_else(|| Rejected::MissingQuery(name.clone()))?;
            token_matches(&presented, values)
        }
    }
}

fn check_preset(
    preset: Preset,
    secrets: &[String],
    request: &Request,
    now: Timestamp,
) -> Result<(), Rejected> {
    use Algorithm::Sha256;
    let body = request.body;
    let body_hex = |header: &str, prefix: &str| {
        let signature = hex_digest(header, required(request, header)?, prefix, Sha256)?;
        signed_by_any(Sha256, secrets, &[body], &[signature])
    };
    match preset {
        Preset::Github => body_hex(GITHUB_SIGNATURE, "sha256="),
        // Atlassian and Bitbucket document only sha256 in WebSub's `method=hex` form; GitHub's
        // legacy `sha1=` would need an `hmac:` block with `algorithm: sha1`.
        Preset::Jira | Preset::Bitbucket => body_hex(WEBSUB_SIGNATURE, "sha256="),
        Preset::Sentry => body_hex(SENTRY_SIGNATURE, ""),
        Preset::Gitlab => token_matches(required(request, GITLAB_TOKEN)?, secrets),
        Preset::Chatwoot => {
            let value = required(request, CHATWOOT_SIGNATURE)?;
            let signature = hex_digest(CHATWOOT_SIGNATURE, value, "sha256=", Sha256)?;
            let timestamp = required(request, CHATWOOT_TIMESTAMP)?;
            fresh(CHATWOOT_TIMESTAMP, timestamp, now)?;
            let signed = format!("{timestamp}.");
            signed_by_any(Sha256, secrets, &[signed.as_bytes(), body], &[signature])
        }
        Preset::Grafana => {
            let (header, value) = first_of(request, &GRAFANA_SIGNATURE)?
                .ok_or_else(|| Rejected::MissingHeader(GRAFANA_SIGNATURE[0].into()))?;
            let signature = hex_digest(header, value, "", Sha256)?;
            // A timestamp cannot be stripped to dodge the window: Grafana then signed
            // "{timestamp}:{body}", so the body alone does not verify.
            match first_of(request, &GRAFANA_TIMESTAMP)? {
                Some((header, timestamp)) => {
                    fresh(header, timestamp, now)?;
                    let signed = format!("{timestamp}:");
                    signed_by_any(Sha256, secrets, &[signed.as_bytes(), body], &[signature])
                }
                None => signed_by_any(Sha256, secrets, &[body], &[signature]),
            }
        }
        Preset::StandardWebhooks => standard_webhooks(secrets, request, now),
    }
}

/// The Standard Webhooks spec: `webhook-signature` is a space-separated list of
/// `version,base64` entries (several during the sender's own key rotation); only `v1`
/// (HMAC-SHA256) is ours to check, `v1a` (ed25519) and unknown versions are skipped.
fn standard_webhooks(
    secrets: &[String],
    request: &Request,
    now: Timestamp,
) -> Result<(), Rejected> {
    let id = required(request, WEBHOOK_ID)?;
    let timestamp = required(request, WEBHOOK_TIMESTAMP)?;
    let list = required(request, WEBHOOK_SIGNATURE)?;
    let v1: Vec<&str> = list
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .collect();
    if v1.is_empty() {
        return Err(Rejected::NoV1Signature);
    }
    let signatures: Vec<Vec<u8>> = v1.iter().filter_map(|s| BASE64.decode(s).ok()).collect();
    if signatures.is_empty() {
        return Err(Rejected::NotBase64(WEBHOOK_SIGNATURE.into()));
    }
    fresh(WEBHOOK_TIMESTAMP, timestamp, now)?;
    let keys: Vec<Vec<u8>> = secrets
        .iter()
        .filter_map(|s| standard_webhooks_key(s))
        .collect();
    if keys.is_empty() {
        return Err(Rejected::UnusableSecret);
    }
    let signed = format!("{id}.{timestamp}.");
    let message = [signed.as_bytes(), request.body];
    signed_by_any(Algorithm::Sha256, &keys, &message, &signatures)
}

/// The HMAC key a Standard Webhooks secret stands for: base64 after an optional `whsec_`
/// (the reference libraries base64-decode with or without the prefix; the raw text is never
/// the key). `None` if it is not base64, which config checks may also use.
pub fn standard_webhooks_key(secret: &str) -> Option<Vec<u8>> {
    BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()
}

/// Whether any key's HMAC over the concatenated `message` parts equals any `signatures`.
fn signed_by_any<K: AsRef<[u8]>>(
    algorithm: Algorithm,
    keys: &[K],
    message: &[&[u8]],
    signatures: &[Vec<u8>],
) -> Result<(), Rejected> {
    let verifies = |key: &K, signature: &Vec<u8>| match algorithm {
        Algorithm::Sha1 => hmac_verifies::<Hmac<Sha1>>(key.as_ref(), message, signature),
        Algorithm::Sha256 => hmac_verifies::<Hmac<Sha256>>(key.as_ref(), message, signature),
        Algorithm::Sha512 => hmac_verifies::<Hmac<Sha512>>(key.as_ref(), message, signature),
    };
    if keys
        .iter()
        .any(|k| signatures.iter().any(|s| verifies(k, s)))
    {
        Ok(())
    } else {
        Err(Rejected::SignatureMismatch)
    }
}

/// `verify_slice` compares in constant time, so timing reveals nothing of the expected MAC.
fn hmac_verifies<M: Mac + hmac::digest::KeyInit>(
    key: &[u8],
    message: &[&[u8]],
    signature: &[u8],
) -> bool {
    // HMAC accepts keys of any length, so this never fails; treat it as a mismatch if it did.
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
        return false;
    };
    for part in message {
        mac.update(part);
    }
    mac.verify_slice(signature).is_ok()
}

/// Compares digests of the token and each value, so neither the time taken nor an early exit
/// on a length difference tells the sender anything about a configured value; every value is
/// compared, so nor does which one matched.
fn token_matches(presented: &str, values: &[String]) -> Result<(), Rejected> {
    let presented = Sha256::digest(presented.as_bytes());
    let matched = values.iter().fold(subtle::Choice::from(0), |found, value| {
        found | presented.ct_eq(&Sha256::digest(value.as_bytes()))
    });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(Rejected::TokenMismatch)
    }
}

/// The digest in `value` (from `header`), after `prefix`. Hex case is not significant: what
/// is compared is the decoded bytes, so accepting `757107EA…` for `757107ea…` (as the
/// corpus's uppercase vector leaves to us) weakens nothing and spares senders whose hex
/// encoder is uppercase.
fn hex_digest(
    header: &str,
    value: &str,
    prefix: &str,
    algorithm: Algorithm,
) -> Result<Vec<u8>, Rejected> {
    let digits = value
        .strip_prefix(prefix)
        .ok_or_else(|| Rejected::MissingPrefix {
            header: header.into(),
            prefix: prefix.into(),
        })?;
    let digest = hex::decode(digits).map_err(|_| Rejected::NotHex(header.into()))?;
    let (name, expected) = match algorithm {
        Algorithm::Sha1 => ("SHA1", 20),
        Algorithm::Sha256 => ("SHA256", 32),
        Algorithm::Sha512 => ("SHA512", 64),
    };
    if digest.len() != expected {
        return Err(Rejected::WrongLength {
            header: header.into(),
            algorithm: name,
            found: digest.len(),
            expected,
        });
    }
    Ok(digest)
}

/// Digits only: `str::parse` would also take `+300`, a form no sender produces, and the
/// timestamp text is signed as received.
fn fresh(header: &str, value: &str, now: Timestamp) -> Result<(), Rejected> {
    let not_timestamp = || Rejected::NotTimestamp(header.into());
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_timestamp());
    }
    let sent: i64 = value.parse().map_err(|_| not_timestamp())?;
    let age = i128::from(now.as_second()) - i128::from(sent);
    let window = REPLAY_WINDOW.as_secs();
    let seconds = |n: i128| u64::try_from(n).unwrap_or(u64::MAX);
    if age > i128::from(window) {
        Err(Rejected::Stale {
            age: seconds(age),
            window,
        })
    } else if -age > i128::from(window) {
        Err(Rejected::Future {
            ahead: seconds(-age),
            window,
        })
    } else {
        Ok(())
    }
}

fn required<'r>(request: &'r Request, header: &str) -> Result<&'r str, Rejected> {
    first_of(request, &[header])?
        .map(|(_, value)| value)
        .ok_or_else(|| Rejected::MissingHeader(header.into()))
}

/// The first of `names` present, with its value as text.
fn first_of<'r, 'n>(
    request: &'r Request,
    names: &[&'n str],
) -> Result<Option<(&'n str, &'r str)>, Rejected> {
    for &name in names {
        if let Some(value) = request.headers.get(name) {
            let text = value.to_str().map_err(|_| Rejected::NotText(name.into()))?;
            return Ok(Some((name, text)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderName, HeaderValue};
    use hyper::HeaderMap;
    use serde_json::Value;

    const VECTORS: &str = include_str!("../fixtures/signatures/vectors.json");

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    fn run(verify: &Verify, map: &HeaderMap, body: &[u8], now: Timestamp) -> Result<(), Rejected> {
        let request = Request {
            headers: map,
            query: None,
            body,
        };
        check_scheme(verify, &request, now)
    }

    fn preset(preset: Preset, secrets: &[&str]) -> Verify {
        Verify::Preset {
            preset,
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Signs independently of the code under test's `signed_by_any`.
    fn sign(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    fn hex256(key: &str, message: &[u8]) -> String {
        hex::encode(sign(key.as_bytes(), message))
    }

    #[test]
    fn corpus_vectors() {
        let corpus: Value = serde_json::from_str(VECTORS).unwrap();
        let (mut ran, mut skipped) = (0, 0);
        for v in corpus["vectors"].as_array().unwrap() {
            let id = v["id"].as_str().unwrap();
            let provider = v["provider"].as_str().unwrap().split(' ').next().unwrap();
            let chosen = match provider {
                "github" => Preset::Github,
                "gitlab" => Preset::Gitlab,
                "standard-webhooks" => Preset::StandardWebhooks,
                // Not presets of ours: Slack signs "v0:{ts}:{body}", PagerDuty a `v1=` list.
                "slack" | "pagerduty" => {
                    skipped += 1;
                    continue;
                }
                other => panic!("{id}: provider `{other}` is neither run nor skipped"),
            };
            let secret = v["secret"].as_str().or(v["secret_token"].as_str()).unwrap();
            let body = match v["body_base64"].as_str() {
                Some(b64) => BASE64.decode(b64).unwrap(),
                None => v["payload"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec(),
            };
            if let Some(len) = v["body_length"].as_u64() {
                assert_eq!(body.len() as u64, len, "{id}");
            }
            let mut map = HeaderMap::new();
            if let Some(given) = v["headers"].as_object() {
                for (name, value) in given {
                    let pair = [(name.as_str(), value.as_str().unwrap())];
                    map.extend(headers(&pair));
                }
            } else {
                let sig = v["x_hub_signature_256"]
                    .as_str()
                    .or(v["expected_x_hub_signature_256"].as_str())
                    .unwrap();
                map = headers(&[(GITHUB_SIGNATURE, sig)]);
            }
            // The standard-webhooks vectors are valid only with the clock at their timestamp.
            let signed_at = map
                .get(WEBHOOK_TIMESTAMP)
                .map(|t| t.to_str().unwrap().parse().unwrap());
            let now = at(signed_at.unwrap_or(1_700_000_000));
            let expect_valid = match &v["expect_valid"] {
                Value::Bool(b) => *b,
                // Only the uppercase-hex edge case: our policy accepts it (see `hex_digest`).
                Value::Null => true,
                // A clock caveat, or (gitlab) an `expected` sentence: valid at `now`.
                _ => true,
            };
            let result = run(&preset(chosen, &[secret]), &map, &body, now);
            assert_eq!(result.is_ok(), expect_valid, "{id}: {result:?}");
            // The captures' legacy SHA-1 header exercises the `hmac` kind on real bytes.
            if let Some(sha1) = v["expected_x_hub_signature"].as_str() {
                let legacy = Verify::Hmac {
                    header: WEBSUB_SIGNATURE.into(),
                    secrets: vec![secret.into()],
                    algorithm: Algorithm::Sha1,
                    prefix: "sha1=".into(),
                };
                assert_eq!(map.get(WEBSUB_SIGNATURE).unwrap(), sha1, "{id}");
                assert_eq!(run(&legacy, &map, &body, now), Ok(()), "{id}");
            }
            if let Some(ts) = signed_at {
                let late = run(&preset(chosen, &[secret]), &map, &body, at(ts + 412));
                assert_eq!(
                    late,
                    Err(Rejected::Stale {
                        age: 412,
                        window: 300
                    }),
                    "{id}"
                );
            }
            ran += 1;
        }
        // 5 GitHub docs vectors, 9 GitHub captures, 1 GitLab capture, 2 Standard Webhooks.
        assert_eq!((ran, skipped), (17, 2));
    }

    #[test]
    fn github_vector_negatives_fail_for_the_right_reason() {
        let secret = "It's a Secret to Everybody";
        let good = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let github = preset(Preset::Github, &[secret]);
        let now = at(0);
        let bare = headers(&[(GITHUB_SIGNATURE, good)]);
        assert_eq!(
            run(&github, &bare, b"Hello, World!", now),
            Err(Rejected::MissingPrefix {
                header: GITHUB_SIGNATURE.into(),
                prefix: "sha256=".into()
            })
        );
        let signed = headers(&[(GITHUB_SIGNATURE, &format!("sha256={good}"))]);
        assert_eq!(
            run(&github, &signed, b"Hello, World?", now),
            Err(Rejected::SignatureMismatch)
        );
    }

    #[test]
    fn second_secret_verifies() {
        let body = b"{\"event\":\"rotated\"}";
        let github = preset(Preset::Github, &["old", "new"]);
        let map = headers(&[(GITHUB_SIGNATURE, &format!("sha256={}", hex256("new", body)))]);
        assert_eq!(run(&github, &map, body, at(0)), Ok(()));
        let map = headers(&[(
            GITHUB_SIGNATURE,
            &format!("sha256={}", hex256("other", body)),
        )]);
        assert_eq!(
            run(&github, &map, body, at(0)),
            Err(Rejected::SignatureMismatch)
        );

        let key = b"0123456789abcdef0123456789abcdef";
        let secret = format!("whsec_{}", BASE64.encode(key));
        let sw = preset(
            Preset::StandardWebhooks,
            &["whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &secret],
        );
        let sig = BASE64.encode(sign(key, b"msg_1.1700000000.{}"));
        let map = headers(&[
            (WEBHOOK_ID, "msg_1"),
            (WEBHOOK_TIMESTAMP, "1700000000"),
            (WEBHOOK_SIGNATURE, &format!("v1,{sig}")),
        ]);
        assert_eq!(run(&sw, &map, b"{}", at(1_700_000_000)), Ok(()));
    }

    #[test]
    fn websub_and_sentry_presets() {
        let body = b"{\"webhookEvent\":\"jira:issue_created\"}";
        let sig = hex256("s3cret", body);
        for chosen in [Preset::Jira, Preset::Bitbucket] {
            let map = headers(&[(WEBSUB_SIGNATURE, &format!("sha256={sig}"))]);
            assert_eq!(run(&preset(chosen, &["s3cret"]), &map, body, at(0)), Ok(()));
            // GitHub's legacy sha1 form is not what Atlassian sends.
            let sha1 = headers(&[(
                WEBSUB_SIGNATURE,
                "sha1=4eed03b187daf43a8dd08ee5b97abd529b778f31",
            )]);
            assert!(matches!(
                run(&preset(chosen, &["s3cret"]), &sha1, body, at(0)),
                Err(Rejected::MissingPrefix { .. })
            ));
        }
        let map = headers(&[(SENTRY_SIGNATURE, &sig)]);
        assert_eq!(
            run(&preset(Preset::Sentry, &["s3cret"]), &map, body, at(0)),
            Ok(())
        );
    }

    fn chatwoot(ts: i64, body: &[u8]) -> HeaderMap {
        let message = [ts.to_string().as_bytes(), b".", body].concat();
        headers(&[
            (CHATWOOT_TIMESTAMP, &ts.to_string()),
            (
                CHATWOOT_SIGNATURE,
                &format!("sha256={}", hex256("cw", &message)),
            ),
        ])
    }

    #[test]
    fn chatwoot_signs_timestamp_dot_body_within_the_window() {
        let body = b"{\"event\":\"message_created\"}";
        let cw = preset(Preset::Chatwoot, &["cw"]);
        let ts = 1_700_000_000;
        assert_eq!(run(&cw, &chatwoot(ts, body), body, at(ts + 300)), Ok(()));
        assert_eq!(run(&cw, &chatwoot(ts, body), body, at(ts - 300)), Ok(()));
        let stale = run(&cw, &chatwoot(ts, body), body, at(ts + 412)).unwrap_err();
        assert_eq!(
            stale.to_string(),
            "timestamp is 412 s old, outside the 300 s replay window"
        );
        let future = run(&cw, &chatwoot(ts, body), body, at(ts - 301)).unwrap_err();
        assert_eq!(
            future,
            Rejected::Future {
                ahead: 301,
                window: 300
            }
        );
        // Replaying the signature under a fresh timestamp does not verify.
        let mut moved = chatwoot(ts, body);
        moved.insert(CHATWOOT_TIMESTAMP, HeaderValue::from_static("1700000100"));
        assert_eq!(
            run(&cw, &moved, body, at(ts)),
            Err(Rejected::SignatureMismatch)
        );
    }

    fn standard(ts: i64, signature: &str) -> HeaderMap {
        headers(&[
            (WEBHOOK_ID, "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            (WEBHOOK_TIMESTAMP, &ts.to_string()),
            (WEBHOOK_SIGNATURE, signature),
        ])
    }

    #[test]
    fn standard_webhooks_window_and_signature_list() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        let sw = preset(Preset::StandardWebhooks, &[secret]);
        let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let ts = 1_614_265_330;
        assert_eq!(
            run(&sw, &standard(ts, good), body, at(ts - 412)),
            Err(Rejected::Future {
                ahead: 412,
                window: 300
            })
        );
        assert_eq!(
            run(&sw, &standard(ts, good), body, at(ts + 301)),
            Err(Rejected::Stale {
                age: 301,
                window: 300
            })
        );
        // The same key without the prefix is still base64, as in the reference libraries.
        let unprefixed = preset(
            Preset::StandardWebhooks,
            &["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        );
        assert_eq!(run(&unprefixed, &standard(ts, good), body, at(ts)), Ok(()));
        // v1a (ed25519) and unknown versions are skipped, not errors.
        let list = format!("v1a,AAAA v2,AAAA {good}");
        assert_eq!(run(&sw, &standard(ts, &list), body, at(ts)), Ok(()));
        assert_eq!(
            run(&sw, &standard(ts, "v1a,AAAA v2,AAAA"), body, at(ts)),
            Err(Rejected::NoV1Signature)
        );
        assert_eq!(
            run(&sw, &standard(ts, "v1,not*base64"), body, at(ts)),
            Err(Rejected::NotBase64(WEBHOOK_SIGNATURE.into()))
        );
        let unusable = preset(Preset::StandardWebhooks, &["whsec_not base64!"]);
        assert_eq!(
            run(&unusable, &standard(ts, good), body, at(ts)),
            Err(Rejected::UnusableSecret)
        );
        assert_eq!(standard_webhooks_key("whsec_AAAA"), Some(vec![0, 0, 0]));
    }

    #[test]
    fn grafana_body_or_timestamp_colon_body() {
        let body = b"{\"status\":\"firing\"}";
        let grafana = preset(Preset::Grafana, &["gf"]);
        let map = headers(&[(GRAFANA_SIGNATURE[0], &hex256("gf", body))]);
        assert_eq!(run(&grafana, &map, body, at(0)), Ok(()));
        // grafana/alerting's fallback header name when none is configured.
        let map = headers(&[(GRAFANA_SIGNATURE[1], &hex256("gf", body))]);
        assert_eq!(run(&grafana, &map, body, at(0)), Ok(()));

        let ts = 1_700_000_000_i64;
        let signed = hex256("gf", &[ts.to_string().as_bytes(), b":", body].concat());
        for ts_header in GRAFANA_TIMESTAMP {
            let map = headers(&[
                (GRAFANA_SIGNATURE[0], &signed),
                (ts_header, &ts.to_string()),
            ]);
            assert_eq!(run(&grafana, &map, body, at(ts + 10)), Ok(()));
            assert_eq!(
                run(&grafana, &map, body, at(ts + 301)),
                Err(Rejected::Stale {
                    age: 301,
                    window: 300
                })
            );
        }
        // Dropping the timestamp header leaves a signature over more than the body.
        let map = headers(&[(GRAFANA_SIGNATURE[0], &signed)]);
        assert_eq!(
            run(&grafana, &map, body, at(ts)),
            Err(Rejected::SignatureMismatch)
        );
    }

    #[test]
    fn hmac_kind_with_each_algorithm() {
        // RFC 4231 test case 2 and its SHA-1 counterpart (RFC 2202 test case 2).
        let body = b"what do ya want for nothing?";
        let cases = [
            (Algorithm::Sha1, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
            (Algorithm::Sha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (Algorithm::Sha512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
        ];
        for (algorithm, digest) in cases {
            let verify = Verify::Hmac {
                header: "X-Signature".into(),
                secrets: vec!["Jefe".into()],
                algorithm,
                prefix: "hmac=".into(),
            };
            let map = headers(&[("x-signature", &format!("hmac={digest}"))]);
            assert_eq!(run(&verify, &map, body, at(0)), Ok(()), "{algorithm:?}");
            let wrong_prefix = headers(&[("x-signature", &format!("sha256={digest}"))]);
            assert_eq!(
                run(&verify, &wrong_prefix, body, at(0)),
                Err(Rejected::MissingPrefix {
                    header: "X-Signature".into(),
                    prefix: "hmac=".into()
                })
            );
        }
        let sha256 = Verify::Hmac {
            header: "X-Signature".into(),
            secrets: vec!["Jefe".into()],
            algorithm: Algorithm::Sha256,
            prefix: String::new(),
        };
        let sha1_digest = headers(&[("X-Signature", cases[0].1)]);
        assert_eq!(
            run(&sha256, &sha1_digest, body, at(0))
                .unwrap_err()
                .to_string(),
            "header `X-Signature` holds a 20-byte digest; HMAC-SHA256 gives 32 bytes"
        );
        let not_hex = headers(&[("X-Signature", "zz")]);
        assert_eq!(
            run(&sha256, &not_hex, body, at(0)),
            Err(Rejected::NotHex("X-Signature".into()))
        );
    }

    #[test]
    fn token_in_header_or_query() {
        let in_query = Verify::Token {
            at: TokenAt::Query("token".into()),
            values: vec!["first".into(), "s3 cr/t".into()],
        };
        let map = HeaderMap::new();
        let with = |query| Request {
            headers: &map,
            query,
            body: b"",
        };
        assert_eq!(
            check_scheme(&in_query, &with(Some("a=1&token=s3+cr%2Ft")), at(0)),
            Ok(())
        );
        assert_eq!(
            check_scheme(&in_query, &with(Some("token=s3")), at(0)),
            Err(Rejected::TokenMismatch)
        );
        assert_eq!(
            check_scheme(&in_query, &with(Some("tok=first")), at(0)),
            Err(Rejected::MissingQuery("token".into()))
        );
        assert_eq!(
            check_scheme(&in_query, &with(None), at(0)),
            Err(Rejected::MissingQuery("token".into()))
        );

        let in_header = Verify::Token {
            at: TokenAt::Header("X-Token".into()),
            values: vec!["first".into()],
        };
        assert_eq!(
            run(&in_header, &headers(&[("x-token", "first")]), b"", at(0)),
            Ok(())
        );
        assert_eq!(
            run(&in_header, &headers(&[("x-token", "firs")]), b"", at(0)),
            Err(Rejected::TokenMismatch)
        );
        assert_eq!(
            run(&in_header, &HeaderMap::new(), b"", at(0)),
            Err(Rejected::MissingHeader("X-Token".into()))
        );
    }

    #[test]
    fn missing_header_for_each_preset() {
        let cases = [
            (Preset::Github, GITHUB_SIGNATURE),
            (Preset::Jira, WEBSUB_SIGNATURE),
            (Preset::Bitbucket, WEBSUB_SIGNATURE),
            (Preset::Gitlab, GITLAB_TOKEN),
            (Preset::Chatwoot, CHATWOOT_SIGNATURE),
            (Preset::Sentry, SENTRY_SIGNATURE),
            (Preset::Grafana, GRAFANA_SIGNATURE[0]),
            (Preset::StandardWebhooks, WEBHOOK_ID),
        ];
        for (chosen, header) in cases {
            let result = run(&preset(chosen, &["x"]), &HeaderMap::new(), b"{}", at(0));
            assert_eq!(
                result,
                Err(Rejected::MissingHeader(header.into())),
                "{chosen:?}"
            );
        }
        let body = b"{}";
        let no_ts = headers(&[(CHATWOOT_SIGNATURE, &format!("sha256={}", hex256("x", body)))]);
        let result = run(&preset(Preset::Chatwoot, &["x"]), &no_ts, body, at(0));
        assert_eq!(
            result,
            Err(Rejected::MissingHeader(CHATWOOT_TIMESTAMP.into()))
        );
        let no_sig = headers(&[(WEBHOOK_ID, "m"), (WEBHOOK_TIMESTAMP, "0")]);
        let result = run(
            &preset(Preset::StandardWebhooks, &["x"]),
            &no_sig,
            body,
            at(0),
        );
        assert_eq!(
            result,
            Err(Rejected::MissingHeader(WEBHOOK_SIGNATURE.into()))
        );
    }

    #[test]
    fn malformed_timestamps_and_header_text() {
        let cw = preset(Preset::Chatwoot, &["cw"]);
        let sig = format!("sha256={}", "00".repeat(32));
        for bad in [
            "",
            "+1700000000",
            "-5",
            "1.5",
            "17e8",
            "99999999999999999999",
        ] {
            let map = headers(&[(CHATWOOT_SIGNATURE, &sig), (CHATWOOT_TIMESTAMP, bad)]);
            let result = run(&cw, &map, b"", at(1_700_000_000));
            assert_eq!(
                result,
                Err(Rejected::NotTimestamp(CHATWOOT_TIMESTAMP.into())),
                "{bad:?}"
            );
        }
        let mut map = HeaderMap::new();
        map.insert(
            "x-gitlab-token",
            HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
        );
        let result = run(&preset(Preset::Gitlab, &["x"]), &map, b"", at(0));
        assert_eq!(result, Err(Rejected::NotText(GITLAB_TOKEN.into())));
        // Far-off clocks and timestamps do not overflow.
        let map = headers(&[
            (CHATWOOT_SIGNATURE, &sig),
            (CHATWOOT_TIMESTAMP, "9223372036854775807"),
        ]);
        assert!(matches!(
            run(&cw, &map, b"", Timestamp::MIN),
            Err(Rejected::Future { .. })
        ));
    }

    #[test]
    fn no_message_reveals_a_secret_or_the_expected_signature() {
        let secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
        let key = standard_webhooks_key(secret).unwrap();
        let body = b"{\"k\":1}";
        let hex_expected = hex::encode(sign(secret.as_bytes(), body));
        let b64_expected = BASE64.encode(sign(&key, b"m.0.{\"k\":1}"));
        let mut rejections = Vec::new();
        for chosen in [
            Preset::Github,
            Preset::Jira,
            Preset::Bitbucket,
            Preset::Gitlab,
            Preset::Chatwoot,
            Preset::Sentry,
            Preset::Grafana,
            Preset::StandardWebhooks,
        ] {
            let verify = preset(chosen, &[secret]);
            for map in [
                HeaderMap::new(),
                headers(&[
                    (GITHUB_SIGNATURE, "sha256=00"),
                    (WEBSUB_SIGNATURE, &format!("sha256={}", "ab".repeat(32))),
                    (GITLAB_TOKEN, &secret[..secret.len() - 1]),
                    (CHATWOOT_SIGNATURE, "sha256=zz"),
                    (CHATWOOT_TIMESTAMP, "1"),
                    (SENTRY_SIGNATURE, "ab"),
                    (GRAFANA_SIGNATURE[0], &"cd".repeat(32)),
                    (WEBHOOK_ID, "m"),
                    (WEBHOOK_TIMESTAMP, "0"),
                    (WEBHOOK_SIGNATURE, "v1,AAAA"),
                ]),
            ] {
                rejections.extend(run(&verify, &map, body, at(0)).err());
            }
        }
        let token = Verify::Token {
            at: TokenAt::Query("t".into()),
            values: vec![secret.into()],
        };
        let map = HeaderMap::new();
        let request = Request {
            headers: &map,
            query: Some("t=guess"),
            body,
        };
        rejections.extend(check_scheme(&token, &request, at(0)).err());
        rejections.push(Rejected::UnusableSecret);
        assert!(rejections.len() >= 17, "{rejections:?}");
        for rejected in rejections {
            let message = rejected.to_string();
            for needle in [secret, &secret[6..], &hex_expected, &b64_expected, "guess"] {
                assert!(!message.contains(needle), "{message}");
            }
        }
    }
}
