//! `targets:` entries: the chat service, where it is, how fast it may be sent to and
//! how long a delivery may keep trying.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::target::{self, Kind, Overflow};
use crate::yaml::schema::Scalar;
use crate::yaml::{pos, Spanned};

use super::units::duration_within;
use super::Loader;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Target")]
pub(super) struct RawTarget {
    /// The service, which sets the body, the size budget and the default rate.
    #[schemars(with = "KindName")]
    kind: Spanned<String>,
    /// The incoming webhook URL; empty (e.g. an unset `${VAR:-}`): configured but off.
    #[schemars(with = "Option<String>")]
    url: Option<Spanned<String>>,
    /// COUNT/s, /min or /h (default per kind: chime 1/s, slack 1/s, google-chat 60/min,
    /// teams 4/s, discord 30/min, mattermost 10/s, ringcentral 1/s; none for http and
    /// preview).
    #[schemars(with = "Option<Scalar>")]
    rate_limit: Option<Spanned<String>>,
    /// A stricter size budget than the kind's own, in bytes.
    #[schemars(with = "Option<usize>")]
    max_size: Option<Spanned<usize>>,
    /// Past the budget: `split` into numbered parts (default) or `trim` with
    /// "…and N more lines".
    #[schemars(with = "Option<OverflowName>")]
    overflow: Option<Spanned<String>>,
    /// Parts per message before the rest is trimmed, 1 to 100.
    #[schemars(with = "Option<usize>")]
    max_parts: Option<Spanned<usize>>,
    /// One attempt, connect to last byte: 100ms to 5m (default 10s).
    #[schemars(with = "Option<Scalar>")]
    timeout: Option<Spanned<String>>,
    /// Backoff between attempts, and how long a delivery keeps trying.
    #[schemars(with = "Option<RawRetry>")]
    retry: Option<Spanned<RawRetry>>,
    /// `http` targets only: the method (default POST; a rule's `http.method` wins).
    #[schemars(with = "Option<String>")]
    method: Option<Spanned<String>>,
    /// Headers sent with every delivery, e.g. `Authorization: Bearer ${TOKEN}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    headers: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Retry")]
struct RawRetry {
    /// The first wait, up to 1h (default 1s); each next one doubles, with jitter.
    #[schemars(with = "Option<Scalar>")]
    initial: Option<Spanned<String>>,
    /// The longest wait, up to 24h (default 10m).
    #[schemars(with = "Option<Scalar>")]
    max_delay: Option<Spanned<String>>,
    /// After this long since the first attempt the delivery is dead, up to 30d
    /// (default 24h).
    #[schemars(with = "Option<Scalar>")]
    budget: Option<Spanned<String>>,
}

/// `kind:` in the schema: the target kinds by name.
struct KindName;

impl JsonSchema for KindName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TargetKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        schemars::json_schema!({"type": "string", "enum": kinds})
    }
}

/// `overflow:` in the schema.
struct OverflowName;

impl JsonSchema for OverflowName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Overflow".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "enum": ["split", "trim"]})
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub kind: Kind,
    /// `None` when the URL interpolated to "": the target is configured but off.
    pub url: Option<String>,
    /// `None`: no limit (preview, or a kind with none).
    pub rate_limit: Option<Rate>,
    pub options: target::Options,
    /// One attempt's limit, connect to last byte.
    pub timeout: Duration,
    pub retry: Retry,
    /// `http` targets: the method when the rule names none (POST otherwise).
    pub method: Option<String>,
    /// Sent with every request, such as an `Authorization` an endpoint wants; a rule's
    /// own headers come after these.
    pub headers: reqwest::header::HeaderMap,
}

/// At most `count` messages per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

/// Exponential backoff with full jitter: attempt n waits a random time up to
/// `initial * 2^n`, capped at `max_delay`; after `budget` the delivery is dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub initial: Duration,
    pub max_delay: Duration,
    pub budget: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max_delay: Duration::from_secs(600),
            budget: Duration::from_secs(24 * 3600),
        }
    }
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Safe defaults per kind, from each service's documented limits: Chime and Slack 1
/// message/s per webhook; Google Chat 60/min per space; Teams 4/s (its connectors'
/// limit; Workflows document none); Discord about 30/min per channel; Mattermost 10/s
/// when its server limits rates. RingCentral documents no limit for incoming webhooks,
/// so it gets the pace a channel's readers can follow. `http` and preview have none.
pub fn default_rate(kind: Kind) -> Option<Rate> {
    let rate = |count, secs| {
        Some(Rate {
            count,
            per: Duration::from_secs(secs),
        })
    };
    match kind {
        Kind::Chime | Kind::RingCentral | Kind::RingCentralLegacy | Kind::Slack => rate(1, 1),
        Kind::Teams => rate(4, 1),
        Kind::GoogleChat => rate(60, 60),
        Kind::Discord => rate(30, 60),
        Kind::Mattermost => rate(10, 1),
        Kind::Http | Kind::Preview => None,
    }
}

pub(super) fn compile_target(
    name: &str,
    raw: &Spanned<RawTarget>,
    loader: &mut Loader,
) -> Option<Target> {
    let t = &raw.value;
    let kind = t
        .kind
        .value
        .parse::<Kind>()
        .map_err(|e| loader.error(pos(&t.kind), e))
        .ok();
    let url = match &t.url {
        Some(u) => loader
            .interpolate(u)
            .map(|u| Some(u).filter(|u| !u.trim().is_empty())),
        None => Some(None),
    };
    let rate_limit = loader.parsed(&t.rate_limit, parse_rate);
    let overflow = loader.parsed(&t.overflow, str::parse::<Overflow>);
    let second = Duration::from_secs(1);
    let timeout = loader.parsed(
        &t.timeout,
        duration_within("timeout", second / 10, second * 300),
    );
    let retry = match &t.retry {
        Some(r) => compile_retry(&r.value, loader),
        None => Some(Retry::default()),
    };
    let headers = compile_headers(&t.headers, loader);
    let method = compile_method(name, kind, &t.method, loader);
    let (kind, url) = (kind?, url?);
    check_url(name, kind, url.as_deref(), raw, loader)?;
    let url = url.map(|u| with_thread_reply(kind, u));
    let defaults = target::Options::default();
    Some(Target {
        kind,
        url,
        rate_limit: rate_limit?.or_else(|| default_rate(kind)),
        options: target::Options {
            max_size: t.max_size.as_ref().map(|m| m.value),
            overflow: overflow?.unwrap_or(defaults.overflow),
            max_parts: max_parts(t, loader)?.unwrap_or(defaults.max_parts),
        },
        timeout: timeout?.unwrap_or(DEFAULT_TIMEOUT),
        retry: retry?,
        method: method?,
        headers: headers?,
    })
}

fn compile_headers(
    raw: &BTreeMap<String, Spanned<String>>,
    loader: &mut Loader,
) -> Option<reqwest::header::HeaderMap> {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut ok = true;
    for (name, value) in raw {
        let Some(text) = loader.interpolate(value) else {
            ok = false;
            continue;
        };
        let parsed = crate::http::parse_header_name(name)
            .and_then(|n| Ok((n, crate::http::parse_header_value(name, &text)?)));
        match parsed {
            Ok((name, value)) => {
                headers.insert(name, value);
            }
            Err(e) => {
                loader.error(pos(value), e);
                ok = false;
            }
        }
    }
    ok.then_some(headers)
}

fn compile_method(
    name: &str,
    kind: Option<Kind>,
    raw: &Option<Spanned<String>>,
    loader: &mut Loader,
) -> Option<Option<String>> {
    let Some(method) = raw else {
        return Some(None);
    };
    if kind.is_some_and(|k| k != Kind::Http) {
        loader.error(
            pos(method),
            format!("target `{name}`: `method` is for `http` targets; a chat service takes POST"),
        );
        return None;
    }
    crate::http::parse_method(&method.value)
        .map(Some)
        .map_err(|e| loader.error(pos(method), e))
        .ok()
}

/// Google Chat uses a message's `thread.threadKey` only when the URL asks it to reply
/// in that thread; with this option it starts the thread when none has that key yet.
fn with_thread_reply(kind: Kind, url: String) -> String {
    const OPTION: &str = "messageReplyOption";
    if kind != Kind::GoogleChat || url.contains(OPTION) {
        return url;
    }
    let join = if url.contains('?') { '&' } else { '?' };
    format!("{url}{join}{OPTION}=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
}

/// A warning for a URL whose service has retired it, or is about to.
fn retired(kind: Kind, url: &reqwest::Url) -> Option<&'static str> {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let office_connector = host.ends_with(".webhook.office.com")
        || (host == "outlook.office.com" && url.path().starts_with("/webhook"));
    if office_connector {
        return Some("this is an Office 365 connector URL, and Microsoft has retired those connectors: in Teams, create a Workflows webhook (\"Post to a channel when a webhook request is received\") and use its URL with `kind: teams`");
    }
    if kind == Kind::Chime || host.ends_with(".chime.aws") {
        return Some("Amazon Chime reached end of support on 2026-02-20; its webhooks may stop at any time, plan a move to another chat service");
    }
    None
}

/// Parts one message may become: past a hundred, a room is better served by a link.
fn max_parts(t: &RawTarget, loader: &mut Loader) -> Option<Option<usize>> {
    match &t.max_parts {
        Some(parts) if !(1..=100).contains(&parts.value) => {
            let message = format!("max_parts `{}` is not from 1 to 100", parts.value);
            loader.error(pos(parts), message);
            None
        }
        parts => Some(parts.as_ref().map(|p| p.value)),
    }
}

fn compile_retry(raw: &RawRetry, loader: &mut Loader) -> Option<Retry> {
    let defaults = Retry::default();
    let (ms, hour) = (Duration::from_millis(1), Duration::from_secs(3600));
    let initial = loader.parsed(&raw.initial, duration_within("initial", ms, hour));
    let max_delay = loader.parsed(&raw.max_delay, duration_within("max_delay", ms, hour * 24));
    let budget = loader.parsed(
        &raw.budget,
        duration_within("budget", Duration::from_secs(1), hour * 24 * 30),
    );
    Some(Retry {
        initial: initial?.unwrap_or(defaults.initial),
        max_delay: max_delay?.unwrap_or(defaults.max_delay),
        budget: budget?.unwrap_or(defaults.budget),
    })
}

/// A target that sends needs an http(s) URL; one whose URL is empty is off (warned),
/// so a default config can name targets that environment variables switch on.
fn check_url(
    name: &str,
    kind: Kind,
    url: Option<&str>,
    raw: &Spanned<RawTarget>,
    loader: &mut Loader,
) -> Option<()> {
    let at = raw.value.url.as_ref().map_or(pos(raw), pos);
    match (kind, url) {
        (Kind::Preview, _) => Some(()),
        (_, None) if raw.value.url.is_some() => {
            loader.warning(
                at,
                format!("target `{name}` has an empty url: it is off until one is set"),
            );
            Some(())
        }
        (_, None) => {
            loader.error(pos(raw), format!("target `{name}` ({kind}) needs a `url`"));
            None
        }
        (_, Some(url)) => {
            let parsed = reqwest::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
            let Some(parsed) = parsed else {
                loader.error(
                    at,
                    format!("target `{name}`: url must be a full URL starting with https:// (or http://)"),
                );
                return None;
            };
            if let Some(warning) = retired(kind, &parsed) {
                loader.warning(at, format!("target `{name}`: {warning}"));
            }
            Some(())
        }
    }
}

/// "1/s", "60/min", "100/h".
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let bad = || format!("rate_limit `{text}` is not COUNT/UNIT such as 1/s, 60/min or 100/h");
    let (count, unit) = text.split_once('/').ok_or_else(bad)?;
    let count: u32 = count.trim().parse().map_err(|_| bad())?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        _ => return Err(bad()),
    };
    if count == 0 {
        return Err(format!(
            "rate_limit `{text}` would never send: use at least 1"
        ));
    }
    Ok(Rate { count, per })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(
            parse_rate("1/s").unwrap(),
            Rate {
                count: 1,
                per: Duration::from_secs(1)
            }
        );
        assert_eq!(parse_rate("60/min").unwrap().per, Duration::from_secs(60));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("3/week").is_err());
    }
}
