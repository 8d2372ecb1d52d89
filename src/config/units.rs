//! Durations ("10s", "500ms", "24h") and sizes ("1MiB", "512KB", "1048576") as config
//! values, with messages that show a valid example.

use std::time::Duration;

/// A day is 24 hours here: retention counts elapsed time, not calendar days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration such as 500ms, 10s, 5m, 24h or 7d");
    let span: jiff::Span = text.trim().parse().map_err(|_| bad())?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| bad())?;
    Duration::try_from(signed).map_err(|_| bad())
}

/// A duration as the config writes it: `7d`, `1h 30m`, `500ms`.
pub fn show_duration(duration: Duration) -> String {
    let whole_days = duration.as_secs().is_multiple_of(86_400) && duration.subsec_nanos() == 0;
    match jiff::SignedDuration::try_from(duration) {
        Ok(_) if whole_days && duration.as_secs() > 0 => {
            format!("{}d", duration.as_secs() / 86_400)
        }
        Ok(signed) => format!("{signed:#}"),
        Err(_) => format!("{duration:?}"),
    }
}

pub fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!("`{text}` is not a size such as 1048576, 512KiB or 1MiB");
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let count: usize = digits.parse().map_err(|_| bad())?;
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1000,
        "KiB" => 1024,
        "MB" => 1000 * 1000,
        "MiB" => 1024 * 1024,
        _ => return Err(bad()),
    };
    count.checked_mul(scale).ok_or_else(bad)
}

/// Bodies are held whole in memory while they are verified and mapped.
pub const MAX_BODY: usize = 64 << 20;

/// [`parse_duration`] for `setting`, refused outside `min..=max` with the range.
pub fn duration_within(
    setting: &'static str,
    min: Duration,
    max: Duration,
) -> impl FnOnce(&str) -> Result<Duration, String> {
    move |text| {
        let value = parse_duration(text)?;
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(format!(
                "{setting} `{}` is outside what it takes: {} to {}",
                text.trim(),
                show_duration(min),
                show_duration(max)
            ))
        }
    }
}

/// [`parse_size`] for `setting`, refused outside `1..=max` with the range.
pub fn size_within(
    setting: &'static str,
    max: usize,
) -> impl FnOnce(&str) -> Result<usize, String> {
    move |text| {
        let value = parse_size(text)?;
        if (1..=max).contains(&value) {
            Ok(value)
        } else {
            Err(format!(
                "{setting} `{}` is outside what it takes: 1 byte to {} MiB",
                text.trim(),
                max >> 20
            ))
        }
    }
}

/// A whole number for `setting`, refused outside `min..=max` with the range.
pub fn count_within(
    setting: &'static str,
    min: usize,
    max: usize,
) -> impl FnOnce(&str) -> Result<usize, String> {
    move |text| match text.trim().parse::<usize>() {
        Ok(value) if (min..=max).contains(&value) => Ok(value),
        _ => Err(format!(
            "{setting} `{}` is not a whole number from {min} to {max}",
            text.trim()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_say_their_range() {
        let second = Duration::from_secs(1);
        let within = |text| duration_within("timeout", second, second * 60)(text);
        assert_eq!(within("30s"), Ok(second * 30));
        assert_eq!(
            within("2h"),
            Err("timeout `2h` is outside what it takes: 1s to 1m".into())
        );
        assert_eq!(within("1s"), Ok(second));
        assert!(within("59999ms").is_ok() && within("999ms").is_err());
        assert_eq!(size_within("max_body", MAX_BODY)("64MiB"), Ok(MAX_BODY));
        assert_eq!(
            size_within("max_body", MAX_BODY)("65MiB"),
            Err("max_body `65MiB` is outside what it takes: 1 byte to 64 MiB".into())
        );
        assert!(size_within("max_body", MAX_BODY)("0").is_err());
        let count = |text| count_within("max_connections", 1, 65_536)(text);
        assert_eq!(count("65536"), Ok(65_536));
        for bad in ["0", "65537", "-1", "lots"] {
            assert!(count(bad).unwrap_err().contains("from 1 to 65536"), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1d 12h"), Ok(Duration::from_secs(36 * 3600)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1y").is_err(), "a year has no fixed length");
        assert!(parse_duration("soon").unwrap_err().contains("500ms"));
    }

    #[test]
    fn durations_are_shown_as_written() {
        let show = |secs| show_duration(Duration::from_secs(secs));
        assert_eq!(show(30 * 86_400), "30d");
        assert_eq!(show(36 * 3600), "36h");
        assert_eq!(show(90), "1m 30s");
        assert_eq!(show_duration(Duration::from_millis(100)), "100ms");
        assert_eq!(show(0), "0s");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512KB"), Ok(512_000));
        assert_eq!(parse_size("2048"), Ok(2048));
        assert!(parse_size("1 GB").is_err());
        assert!(parse_size("99999999999999999999MiB").is_err());
    }
}
