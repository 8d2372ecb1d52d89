//! Each scheme's reading of a request: which headers carry what, what is signed, and
//! the constant-time comparison that decides.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::{Algorithm, Preset, Rejected, TokenAt, Verify, REPLAY_WINDOW};

/// The request as each scheme reads it.
pub(super) struct Request<'a> {
    pub headers: &'a ::http::HeaderMap,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

pub(super) const GITHUB_SIGNATURE: &str = "X-Hub-Signature-256";
pub(super) const WEBSUB_SIGNATURE: &str = "X-Hub-Signature";
pub(super) const GITLAB_TOKEN: &str = "X-Gitlab-Token";
pub(super) const CHATWOOT_SIGNATURE: &str = "X-Chatwoot-Signature";
pub(super) const CHATWOOT_TIMESTAMP: &str = "X-Chatwoot-Timestamp";
pub(super) const SENTRY_SIGNATURE: &str = "Sentry-Hook-Signature";
/// Grafana's documented default first; the second is what grafana/alerting's `http/hmac.go`
/// actually sends when the contact point's "Header" field is left empty.
pub(super) const GRAFANA_SIGNATURE: [&str; 2] =
    ["X-Grafana-Alerting-Signature", "X-Grafana-Alert-Signature"];
/// Grafana has no default timestamp header: the contact point names it. These are the names
/// its provisioning docs and Terraform provider use; a timestamp sent under another name is
/// not seen, and the signature (which then covers `"{timestamp}:{body}"`) fails to match.
pub(super) const GRAFANA_TIMESTAMP: [&str; 2] = [
    "X-Grafana-Alerting-Signature-Timestamp",
    "X-Grafana-Alerting-Timestamp",
];
/// How many of one request's signatures are compared: a sender rotating its own key
/// sends two or three; more is a request trying to make the gateway work.
pub(super) const MAX_CANDIDATES: usize = 8;
/// A longer `webhook-signature` is refused unread: eight `v1` and eight `v1a` entries
/// fit in half of it.
pub(super) const MAX_SIGNATURE_HEADER: usize = 2048;
/// Gitea's name first; Forgejo sends both names with one value, Forgejo-only builds the second.
pub(super) const GITEA_SIGNATURE: [&str; 2] = ["X-Gitea-Signature", "X-Forgejo-Signature"];
pub(super) const PAGERDUTY_SIGNATURE: &str = "X-PagerDuty-Signature";
pub(super) const AUTHORIZATION: &str = "Authorization";
pub(super) const WEBHOOK_ID: &str = "webhook-id";
pub(super) const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub(super) const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Checks `request`; on success, what identifies it among requests signed with the
/// same secret (its signature, or its signed id), so that a replay is recognised.
/// `None` for a token, which signs nothing.
pub(super) fn check(
    verify: &Verify,
    request: &Request,
    now: Timestamp,
) -> Result<Option<String>, Rejected> {
    match verify {
        Verify::Preset { preset, secrets } => check_preset(*preset, secrets, request, now),
        Verify::Hmac {
            header,
            secrets,
            algorithm,
            prefix,
        } => {
            let signature = hex_digest(header, required(request, header)?, prefix, *algorithm)?;
            signed_with(*algorithm, secrets, &[request.body], signature)
        }
        Verify::Token {
            at: TokenAt::Header(name),
            values,
        } => token_matches(required(request, name)?, values).map(|()| None),
        Verify::Token {
            at: TokenAt::Query(name),
            values,
        } => {
            let query = request.query.unwrap_or_default().as_bytes();
            let presented = form_urlencoded::parse(query)
                .find(|(key, _)| key == name)
                .map(|(_, value)| value)
                .ok_or_else(|| Rejected::MissingQuery(name.clone()))?;
            token_matches(&presented, values).map(|()| None)
        }
        Verify::Basic { user, passwords } => basic(
            required(request, AUTHORIZATION)?,
            user.as_deref(),
            passwords,
        )
        .map(|()| None),
    }
}

fn check_preset(
    preset: Preset,
    secrets: &[String],
    request: &Request,
    now: Timestamp,
) -> Result<Option<String>, Rejected> {
    use Algorithm::Sha256;
    let body = request.body;
    let body_hex = |header: &str, prefix: &str| {
        let signature = hex_digest(header, required(request, header)?, prefix, Sha256)?;
        signed_with(Sha256, secrets, &[body], signature)
    };
    match preset {
        Preset::Github => body_hex(GITHUB_SIGNATURE, "sha256="),
        // Atlassian and Bitbucket document only sha256 in WebSub's `method=hex` form; GitHub's
        // legacy `sha1=` would need an `hmac:` block with `algorithm: sha1`.
        Preset::Jira | Preset::Bitbucket => body_hex(WEBSUB_SIGNATURE, "sha256="),
        Preset::Sentry => body_hex(SENTRY_SIGNATURE, ""),
        Preset::Gitlab => token_matches(required(request, GITLAB_TOKEN)?, secrets).map(|()| None),
        Preset::Chatwoot => {
            let value = required(request, CHATWOOT_SIGNATURE)?;
            let signature = hex_digest(CHATWOOT_SIGNATURE, value, "sha256=", Sha256)?;
            let timestamp = required(request, CHATWOOT_TIMESTAMP)?;
            fresh(CHATWOOT_TIMESTAMP, timestamp, now)?;
            let signed = format!("{timestamp}.");
            signed_with(Sha256, secrets, &[signed.as_bytes(), body], signature)
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
                    signed_with(Sha256, secrets, &[signed.as_bytes(), body], signature)
                }
                None => signed_with(Sha256, secrets, &[body], signature),
            }
        }
        Preset::StandardWebhooks => standard_webhooks(secrets, request, now),
        Preset::Gitea => {
            let (header, value) = first_of(request, &GITEA_SIGNATURE)?
                .ok_or_else(|| Rejected::MissingHeader(GITEA_SIGNATURE[0].into()))?;
            signed_with(
                Sha256,
                secrets,
                &[body],
                hex_digest(header, value, "", Sha256)?,
            )
        }
        Preset::Pagerduty => pagerduty(secrets, request),
    }
}

/// PagerDuty lists one `v1=<hex>` per secret of the subscription while it rotates them,
/// comma-separated; entries of other versions are not ours to check.
fn pagerduty(secrets: &[String], request: &Request) -> Result<Option<String>, Rejected> {
    let v1 = signature_list(request, PAGERDUTY_SIGNATURE, ',', "v1=")?;
    if v1.is_empty() {
        return Err(Rejected::NoV1In(PAGERDUTY_SIGNATURE.into()));
    }
    let signatures: Vec<Vec<u8>> = v1.iter().filter_map(|hex| hex::decode(hex).ok()).collect();
    if signatures.is_empty() {
        return Err(Rejected::NotHex(PAGERDUTY_SIGNATURE.into()));
    }
    let mac = signed_by_any(Algorithm::Sha256, secrets, &[request.body], &signatures)?;
    Ok(Some(format!("signature:{}", hex::encode(mac))))
}

/// The entries of a list of signatures in `header` that start with `prefix` (the
/// version this gateway checks), without it: at most [`MAX_CANDIDATES`], from a header
/// refused unread beyond [`MAX_SIGNATURE_HEADER`].
fn signature_list<'r>(
    request: &'r Request,
    header: &str,
    separator: char,
    prefix: &str,
) -> Result<Vec<&'r str>, Rejected> {
    let list = required(request, header)?;
    if list.len() > MAX_SIGNATURE_HEADER {
        return Err(Rejected::TooLong {
            header: header.into(),
            limit: MAX_SIGNATURE_HEADER,
        });
    }
    Ok(list
        .split(separator)
        .filter_map(|entry| entry.trim().strip_prefix(prefix))
        .take(MAX_CANDIDATES)
        .collect())
}

/// `Basic base64(user:password)`. The user name and the password are both compared
/// whatever the other's result, so the time taken does not say which one was wrong.
fn basic(value: &str, user: Option<&str>, passwords: &[String]) -> Result<(), Rejected> {
    let not_basic = || Rejected::NotBasic(AUTHORIZATION.into());
    let (scheme, encoded) = value.split_once(' ').ok_or_else(not_basic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(not_basic());
    }
    let decoded = BASE64
        .decode(encoded.trim())
        .map_err(|_| Rejected::NotBase64(AUTHORIZATION.into()))?;
    let credentials = String::from_utf8(decoded).map_err(|_| not_basic())?;
    let (given_user, given_password) = credentials.split_once(':').ok_or_else(not_basic)?;
    let user_matches = match user {
        Some(user) => digest_eq(given_user, user),
        None => subtle::Choice::from(1),
    };
    let password_matches = any_digest_eq(given_password, passwords);
    if bool::from(user_matches & password_matches) {
        Ok(())
    } else {
        Err(Rejected::BasicMismatch)
    }
}

/// The Standard Webhooks spec: `webhook-signature` is a space-separated list of
/// `version,base64` entries (several during the sender's own key rotation); only `v1`
/// (HMAC-SHA256) is ours to check, `v1a` (ed25519) and unknown versions are skipped.
fn standard_webhooks(
    secrets: &[String],
    request: &Request,
    now: Timestamp,
) -> Result<Option<String>, Rejected> {
    let id = required(request, WEBHOOK_ID)?;
    let timestamp = required(request, WEBHOOK_TIMESTAMP)?;
    let v1 = signature_list(request, WEBHOOK_SIGNATURE, ' ', "v1,")?;
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
    signed_by_any(Algorithm::Sha256, &keys, &message, &signatures)?;
    // The id is signed, and a sender keeps it across its own retries.
    Ok(Some(format!("webhook-id:{id}")))
}

/// A scheme of one signature: checked, it is the request's replay key, since the same
/// signature can only come again with the same signed bytes.
fn signed_with(
    algorithm: Algorithm,
    keys: &[String],
    message: &[&[u8]],
    signature: Vec<u8>,
) -> Result<Option<String>, Rejected> {
    let mac = signed_by_any(algorithm, keys, message, &[signature])?;
    Ok(Some(format!("signature:{}", hex::encode(mac))))
}

/// The HMAC key a Standard Webhooks secret stands for: base64 after an optional `whsec_`
/// (the reference libraries base64-decode with or without the prefix; the raw text is never
/// the key). `None` if it is not base64, which config checks may also use.
pub fn standard_webhooks_key(secret: &str) -> Option<Vec<u8>> {
    BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .ok()
}

/// Whether any key's HMAC over the concatenated `message` parts equals any of the
/// `signatures`, and if so that MAC. Each key's MAC is computed once, whatever the request
/// holds, and every candidate of the MAC's length is compared to it in constant time.
fn signed_by_any<K: AsRef<[u8]>>(
    algorithm: Algorithm,
    keys: &[K],
    message: &[&[u8]],
    signatures: &[Vec<u8>],
) -> Result<Vec<u8>, Rejected> {
    let mut found = None;
    for key in keys {
        let Some(expected) = mac(algorithm, key.as_ref(), message) else {
            continue;
        };
        let mut matched = subtle::Choice::from(0);
        for candidate in signatures.iter().filter(|s| s.len() == expected.len()) {
            matched |= expected.as_slice().ct_eq(candidate);
        }
        // Every key is still tried after a match: the time taken says nothing of which.
        if bool::from(matched) && found.is_none() {
            found = Some(expected);
        }
    }
    found.ok_or(Rejected::SignatureMismatch)
}

fn mac(algorithm: Algorithm, key: &[u8], message: &[&[u8]]) -> Option<Vec<u8>> {
    match algorithm {
        Algorithm::Sha1 => mac_with::<Hmac<Sha1>>(key, message),
        Algorithm::Sha256 => mac_with::<Hmac<Sha256>>(key, message),
        Algorithm::Sha512 => mac_with::<Hmac<Sha512>>(key, message),
    }
}

/// HMAC takes keys of any length, so this is never `None` in practice.
fn mac_with<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[&[u8]]) -> Option<Vec<u8>> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).ok()?;
    for part in message {
        mac.update(part);
    }
    Some(mac.finalize().into_bytes().to_vec())
}

/// Compares digests of the token and each value, so neither the time taken nor an early exit
/// on a length difference tells the sender anything about a configured value; every value is
/// compared, so nor does which one matched.
fn token_matches(presented: &str, values: &[String]) -> Result<(), Rejected> {
    if bool::from(any_digest_eq(presented, values)) {
        Ok(())
    } else {
        Err(Rejected::TokenMismatch)
    }
}

fn any_digest_eq(presented: &str, values: &[String]) -> subtle::Choice {
    values.iter().fold(subtle::Choice::from(0), |found, value| {
        found | digest_eq(presented, value)
    })
}

fn digest_eq(presented: &str, value: &str) -> subtle::Choice {
    Sha256::digest(presented.as_bytes()).ct_eq(&Sha256::digest(value.as_bytes()))
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
