//! Why a delivery attempt failed, as a stable code: the same word in logs, metrics,
//! the store, `deliveries list` and the API, so failures can be counted by cause.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// No answer within the target's timeout.
    Timeout,
    /// The host's name did not resolve.
    Dns,
    /// The TCP connection was refused or could not be made.
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The connection broke, or the answer was not HTTP.
    Io,
    /// 3xx: the webhook URL points elsewhere.
    Redirect(u16),
    /// 429, or a service's own signal that its rate bucket is empty.
    RateLimited,
    /// 413: the service refused the body's size.
    BodyRefused,
    /// Any other 4xx, by code.
    Client(u16),
    /// 5xx, by code.
    Server(u16),
    /// The stored request cannot be made (a header no HTTP allows).
    HeaderInvalid,
    /// Any other answer (1xx, a code past 599).
    Unexpected(u16),
}

impl Cause {
    /// The cause of an HTTP answer that was not a success.
    pub fn of_status(status: u16) -> Cause {
        match status {
            429 => Cause::RateLimited,
            413 => Cause::BodyRefused,
            300..=399 => Cause::Redirect(status),
            400..=499 => Cause::Client(status),
            500..=599 => Cause::Server(status),
            _ => Cause::Unexpected(status),
        }
    }

    /// The stable code: `timeout`, `dns`, `connect`, `tls`, `io`, `rate_limited`,
    /// `body_refused`, `header_invalid`, or `http_<status>` for other answers.
    pub fn code(self) -> String {
        match self {
            Cause::Timeout => "timeout".into(),
            Cause::Dns => "dns".into(),
            Cause::Connect => "connect".into(),
            Cause::Tls => "tls".into(),
            Cause::Io => "io".into(),
            Cause::RateLimited => "rate_limited".into(),
            Cause::BodyRefused => "body_refused".into(),
            Cause::HeaderInvalid => "header_invalid".into(),
            Cause::Redirect(status)
            | Cause::Client(status)
            | Cause::Server(status)
            | Cause::Unexpected(status) => format!("http_{status}"),
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl FromStr for Cause {
    type Err = String;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        let named = match code {
            "timeout" => Some(Cause::Timeout),
            "dns" => Some(Cause::Dns),
            "connect" => Some(Cause::Connect),
            "tls" => Some(Cause::Tls),
            "io" => Some(Cause::Io),
            "rate_limited" => Some(Cause::RateLimited),
            "body_refused" => Some(Cause::BodyRefused),
            "header_invalid" => Some(Cause::HeaderInvalid),
            _ => None,
        };
        named
            .or_else(|| {
                let status = code.strip_prefix("http_")?.parse::<u16>().ok()?;
                Some(Cause::of_status(status))
            })
            .ok_or_else(|| format!("`{code}` is not a failure cause"))
    }
}

impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.code())
    }
}

impl<'de> Deserialize<'de> for Cause {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_round_trips_through_its_code() {
        let causes = [
            Cause::Timeout,
            Cause::Dns,
            Cause::Connect,
            Cause::Tls,
            Cause::Io,
            Cause::Redirect(301),
            Cause::RateLimited,
            Cause::BodyRefused,
            Cause::Client(404),
            Cause::Server(503),
            Cause::HeaderInvalid,
            Cause::Unexpected(103),
        ];
        for cause in causes {
            assert_eq!(cause.code().parse::<Cause>(), Ok(cause), "{cause}");
        }
        assert!("http_abc".parse::<Cause>().is_err());
        assert!("slow".parse::<Cause>().is_err());
    }

    #[test]
    fn statuses_map_to_their_causes() {
        assert_eq!(Cause::of_status(429), Cause::RateLimited);
        assert_eq!(Cause::of_status(413), Cause::BodyRefused);
        assert_eq!(Cause::of_status(404).code(), "http_404");
        assert_eq!(Cause::of_status(502), Cause::Server(502));
        assert_eq!(Cause::of_status(302), Cause::Redirect(302));
    }
}
