//! `date`: ISO 8601 strings (with or without a colon in the offset, as Jira and GitLab
//! write them) and epoch seconds or milliseconds, shown in any time zone.

use jiff::fmt::strtime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::Value;

use super::Args;

pub const DEFAULT_FORMAT: &str = "%Y-%m-%d %H:%M %Z";

/// `date value [format] [tz="Europe/Berlin"]`; empty when the value is not a time.
pub fn date(a: &Args) -> Value {
    let Some(at) = parse_time(a.param(0)) else {
        return Value::String(String::new());
    };
    let format = if a.has(1) {
        a.text(1).into_owned()
    } else {
        DEFAULT_FORMAT.to_string()
    };
    let zone = a.hash_text("tz").map(|z| z.into_owned());
    format_time(at, &format, zone.as_deref())
        .unwrap_or_default()
        .into()
}

pub fn format_time(at: Timestamp, format: &str, zone: Option<&str>) -> Option<String> {
    let tz = match zone {
        Some(name) => TimeZone::get(name).ok()?,
        None => TimeZone::UTC,
    };
    strtime::format(format, &at.to_zoned(tz)).ok()
}

pub fn is_time_zone(name: &str) -> bool {
    TimeZone::get(name).is_ok()
}

const LAYOUTS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S%z",
];

pub fn parse_time(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => from_epoch(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<f64>() {
                return from_epoch(n);
            }
            if let Ok(t) = s.parse::<Timestamp>() {
                return Some(t);
            }
            // Jira versions carry a calendar date alone ("2024-11-30"): its midnight, UTC.
            if let Ok(day) = s.parse::<jiff::civil::Date>() {
                return day.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp());
            }
            // GitLab writes "2021-02-24 09:19:53 UTC".
            let s = s
                .strip_suffix(" UTC")
                .map_or(s.to_string(), |d| format!("{d} +0000"));
            LAYOUTS
                .iter()
                .find_map(|layout| strtime::parse(layout, &s).ok()?.to_timestamp().ok())
        }
        _ => None,
    }
}

/// Epochs above 10^11 are milliseconds: seconds would be past the year 5000.
fn from_epoch(n: f64) -> Option<Timestamp> {
    let millis = if n.abs() > 1e11 { n } else { n * 1000.0 };
    Timestamp::from_millisecond(millis as i64).ok()
}

#[cfg(test)]
mod tests {
    use super::super::tests::render;
    use serde_json::json;

    #[test]
    fn parses_the_formats_sources_send() {
        let cases = [
            ("2019-08-06T14:45:22.000+0300", "2019-08-06 11:45 UTC"),
            ("2019-08-06T14:45:22Z", "2019-08-06 14:45 UTC"),
            ("2021-02-24 09:19:53 UTC", "2021-02-24 09:19 UTC"),
            ("2021-02-24 09:19:53 +0100", "2021-02-24 08:19 UTC"),
            ("1565092522", "2019-08-06 11:55 UTC"),
            ("2024-11-30", "2024-11-30 00:00 UTC"),
        ];
        for (input, want) in cases {
            assert_eq!(render("{{date t}}", json!({"t": input})), want, "{input}");
        }
        assert_eq!(
            render("{{date t}}", json!({"t": 1565092522000u64})),
            "2019-08-06 11:55 UTC"
        );
    }

    #[test]
    fn formats_in_a_time_zone() {
        let data = json!({"t": "2019-08-06T14:45:22Z"});
        assert_eq!(
            render(
                "{{date t \"%a %d %b %H:%M %Z\" tz=\"Europe/Berlin\"}}",
                data
            ),
            "Tue 06 Aug 16:45 CEST"
        );
    }

    #[test]
    fn not_a_time_is_empty() {
        assert_eq!(render("[{{date t}}]", json!({"t": "soon"})), "[]");
        assert_eq!(render("[{{date t}}]", json!({"t": "2024-02-30"})), "[]");
        assert_eq!(render("[{{date t}}]", json!({})), "[]");
        assert_eq!(
            render("[{{date t tz=\"Nowhere/City\"}}]", json!({"t": 0})),
            "[]"
        );
    }
}
