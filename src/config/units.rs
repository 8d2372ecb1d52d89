//! Durations ("10s", "500ms", "24h") and sizes ("1MiB", "512KB", "1048576") as config
//! values, with messages that show a valid example.

use std::time::Duration;

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration such as 500ms, 10s, 5m or 24h");
    let signed: jiff::SignedDuration = text.trim().parse().map_err(|_| bad())?;
    Duration::try_from(signed).map_err(|_| bad())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("soon").unwrap_err().contains("500ms"));
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
