//! After the source is asked for a test delivery: did it reach the running gateway,
//! did its signature verify, and which rule took it? Read from the gateway's own
//! `/metrics` (what each route did with each request) and its admin API (the rule).

use std::process::ExitCode;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::api::Api;
use super::Settings;

/// The source's own retries start after about this long; a delivery that has not come
/// by then is not coming.
const PATIENCE: Duration = Duration::from_secs(30);
const POLL_EVERY: Duration = Duration::from_millis(250);

/// What one route has done so far, by outcome, as `hookbridge_events_total` counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Seen {
    accepted: u64,
    unverified: u64,
    /// Dropped by a rule, matched by none, or a repeat: it arrived, nothing to send.
    quiet: u64,
}

pub(super) async fn test_delivery(
    api: &Api,
    path: &str,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let before = seen(&client, settings).await;
    let newest_before = newest_delivery(&client, settings).await.map(|(id, _)| id);
    api.call(Method::POST, path, None).await?;
    println!("asked the source for a test delivery");
    let Some(before) = before else {
        println!(
            "cannot read {}/metrics: start the gateway (or give --gateway) to see the delivery arrive",
            settings.gateway
        );
        return Ok(ExitCode::SUCCESS);
    };
    let waited = tokio::time::timeout(PATIENCE, async {
        loop {
            tokio::time::sleep(POLL_EVERY).await;
            match seen(&client, settings).await {
                Some(now) if now != before => return now,
                _ => continue,
            }
        }
    })
    .await;
    let newest = match &waited {
        Ok(now) if now.accepted > before.accepted => newest_delivery(&client, settings)
            .await
            .filter(|(id, _)| Some(*id) != newest_before),
        _ => None,
    };
    Ok(verdict(waited.ok(), before, newest, settings))
}

/// What the change in the route's counts says: nothing came, it was refused, or it
/// was taken (by which rule, when the admin API said).
fn verdict(
    now: Option<Seen>,
    before: Seen,
    newest: Option<(i64, String)>,
    settings: &Settings,
) -> ExitCode {
    let route = &settings.route;
    match now {
        None => {
            eprintln!(
                "✗ nothing reached route `{route}` at {} within {} s: the source cannot reach {} (DNS, firewall, TLS, or a proxy in front of the gateway?)",
                settings.gateway,
                PATIENCE.as_secs(),
                settings.url
            );
            ExitCode::FAILURE
        }
        Some(now) if now.unverified > before.unverified => {
            eprintln!(
                "✗ the gateway refused it (401): route `{route}` checks another secret; set {} to the one above where the gateway runs and reload it",
                settings.secret_variable
            );
            ExitCode::FAILURE
        }
        Some(now) if now.accepted > before.accepted => {
            match newest {
                Some((id, rule)) => println!("received ✓ (rule `{rule}`, delivery {id})"),
                None => println!("received ✓ (set HOOKBRIDGE_ADMIN_TOKEN to see the rule)"),
            }
            ExitCode::SUCCESS
        }
        Some(_) => {
            println!("received ✓ (a rule dropped it or none matched: nothing to send for a test)");
            ExitCode::SUCCESS
        }
    }
}

/// `None` when the gateway does not answer.
async fn seen(client: &reqwest::Client, settings: &Settings) -> Option<Seen> {
    let url = format!("{}/metrics", settings.gateway);
    let text = client.get(url).send().await.ok()?.text().await.ok()?;
    Some(count(&text, &settings.route))
}

fn count(metrics: &str, route: &str) -> Seen {
    let prefix = format!("hookbridge_events_total{{route=\"{route}\",outcome=\"");
    let mut seen = Seen::default();
    for line in metrics.lines() {
        let Some((outcome, value)) = line
            .strip_prefix(&prefix)
            .and_then(|r| r.split_once("\"} "))
        else {
            continue;
        };
        let value = value.trim().parse::<f64>().unwrap_or(0.0) as u64;
        match outcome {
            "accepted" => seen.accepted += value,
            "unverified" => seen.unverified += value,
            "dropped" | "no_match" | "duplicate" => seen.quiet += value,
            _ => {}
        }
    }
    seen
}

/// The newest delivery of the route, by the admin API: its id and rule.
async fn newest_delivery(client: &reqwest::Client, settings: &Settings) -> Option<(i64, String)> {
    let token = settings.admin_token.as_deref()?;
    let url = format!("{}/api/deliveries?limit=50", settings.gateway);
    let response = client.get(url).bearer_auth(token).send().await.ok()?;
    let answer: Value = serde_json::from_slice(&response.bytes().await.ok()?).ok()?;
    answer["deliveries"]
        .as_array()?
        .iter()
        .find(|d| d["route"] == settings.route.as_str())
        .and_then(|d| Some((d["id"].as_i64()?, d["rule"].as_str()?.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_one_routes_outcomes_from_the_metrics_text() {
        let text = "# TYPE hookbridge_events_total counter\n\
            hookbridge_events_total{route=\"github\",outcome=\"accepted\"} 3\n\
            hookbridge_events_total{route=\"github\",outcome=\"unverified\"} 1\n\
            hookbridge_events_total{route=\"github\",outcome=\"dropped\"} 2\n\
            hookbridge_events_total{route=\"gitlab\",outcome=\"accepted\"} 9\n";
        assert_eq!(
            count(text, "github"),
            Seen {
                accepted: 3,
                unverified: 1,
                quiet: 2
            }
        );
        assert_eq!(count(text, "jira"), Seen::default());
    }
}
