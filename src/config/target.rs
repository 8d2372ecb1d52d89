//! `targets:` entries: the chat service, where it is, how fast it may be sent to and
//! how long a delivery may keep trying.

use std::time::Duration;

use serde::Deserialize;

use crate::target::{self, Kind, Overflow};
use crate::yaml::{pos, Spanned};

use super::units::parse_duration;
use super::Loader;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    rate_limit: Option<Spanned<String>>,
    max_size: Option<Spanned<usize>>,
    overflow: Option<Spanned<String>>,
    max_parts: Option<Spanned<usize>>,
    timeout: Option<Spanned<String>>,
    retry: Option<Spanned<RawRetry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    initial: Option<Spanned<String>>,
    max_delay: Option<Spanned<String>>,
    budget: Option<Spanned<String>>,
}

#[derive(Debug, Clone)]
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

/// Safe defaults per kind. Chime documents 1 message/s per webhook; RingCentral
/// documents no limit for incoming webhooks, so it gets the same pace a channel's
/// readers can follow. Preview is local and unlimited.
pub fn default_rate(kind: Kind) -> Option<Rate> {
    let per_second = Some(Rate {
        count: 1,
        per: Duration::from_secs(1),
    });
    match kind {
        Kind::Chime | Kind::RingCentral | Kind::RingCentralLegacy => per_second,
        Kind::Preview => None,
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
    let timeout = loader.parsed(&t.timeout, parse_duration);
    let retry = match &t.retry {
        Some(r) => compile_retry(&r.value, loader),
        None => Some(Retry::default()),
    };
    let (kind, url) = (kind?, url?);
    check_url(name, kind, url.as_deref(), raw, loader)?;
    let defaults = target::Options::default();
    Some(Target {
        kind,
        url,
        rate_limit: rate_limit?.or_else(|| default_rate(kind)),
        options: target::Options {
            max_size: t.max_size.as_ref().map(|m| m.value),
            overflow: overflow?.unwrap_or(defaults.overflow),
            max_parts: t
                .max_parts
                .as_ref()
                .map_or(defaults.max_parts, |m| m.value.max(1)),
        },
        timeout: timeout?.unwrap_or(DEFAULT_TIMEOUT),
        retry: retry?,
    })
}

fn compile_retry(raw: &RawRetry, loader: &mut Loader) -> Option<Retry> {
    let defaults = Retry::default();
    let initial = loader.parsed(&raw.initial, parse_duration);
    let max_delay = loader.parsed(&raw.max_delay, parse_duration);
    let budget = loader.parsed(&raw.budget, parse_duration);
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
        (_, Some(url)) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            loader.error(
                at,
                format!("target `{name}`: url must start with https:// (or http://)"),
            );
            None
        }
        (Kind::Chime, Some(_)) => {
            loader.warning(at, format!("target `{name}`: Amazon Chime reached end of support on 2026-02-20; its webhooks may stop at any time, plan a move to another chat service"));
            Some(())
        }
        _ => Some(()),
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
