//! Reloading config.yaml and every mapping it names, on SIGHUP or `POST /api/reload`.
//! Everything is loaded and checked first; on any problem the gateway keeps serving
//! the config it has. Otherwise the new one is swapped in whole (a request in flight
//! keeps the one it started with) and the workers follow it. Queued deliveries are
//! untouched: a removed target's rows wait in the store for it to come back.

use serde::Serialize;

use super::Gateway;
use crate::config::Config;

/// A reload that took: what it could not apply without a restart.
#[derive(Debug, Serialize)]
pub struct Reloaded {
    pub restart_needed: Vec<String>,
}

/// A reload refused: every problem, as `file:line:col: message`.
#[derive(Debug, Serialize)]
pub struct Refused {
    pub problems: Vec<String>,
}

pub async fn reload(gateway: &Gateway) -> Result<Reloaded, Refused> {
    let current = gateway.config();
    let loaded = Config::load(&current.file);
    let (mut next, warnings) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => {
            let problems: Vec<String> = err.0.iter().map(ToString::to_string).collect();
            for problem in &problems {
                tracing::error!("{problem}");
            }
            tracing::error!("the config was not reloaded; the gateway serves the one it had");
            gateway.metrics.reload(false, gateway.clock.now());
            return Err(Refused { problems });
        }
    };
    for warning in warnings.iter() {
        tracing::warn!("{warning}");
    }
    let restart_needed = keep_restart_settings(&current, &mut next);
    for setting in &restart_needed {
        tracing::warn!(
            "{setting} changed: restart the gateway to apply it; it keeps the old value until then"
        );
    }
    let next = std::sync::Arc::new(next);
    gateway.swap(std::sync::Arc::clone(&next));
    gateway.fleet.follow(&next.targets).await;
    crate::deliver::warn_about_stranded(&next, gateway.store.as_ref()).await;
    gateway.metrics.reload(true, gateway.clock.now());
    tracing::info!("config reloaded");
    Ok(Reloaded { restart_needed })
}

/// Settings read once at start stay as they were; their names, when they changed.
fn keep_restart_settings(current: &Config, next: &mut Config) -> Vec<String> {
    let mut changed = Vec::new();
    if next.listen != current.listen {
        changed.push("listen".to_string());
        next.listen = current.listen;
    }
    if next.store != current.store {
        changed.push("store".to_string());
        next.store = current.store.clone();
    }
    if next.retention != current.retention {
        changed.push("retention".to_string());
        next.retention = current.retention;
    }
    // The accept loop sizes its limits and its header timeout once.
    let (now, was) = (&mut next.server, &current.server);
    if now.max_connections != was.max_connections
        || now.max_connections_per_client != was.max_connections_per_client
        || now.read_timeout != was.read_timeout
    {
        changed
            .push("server.max_connections, max_connections_per_client, read_timeout".to_string());
        now.max_connections = was.max_connections;
        now.max_connections_per_client = was.max_connections_per_client;
        now.read_timeout = was.read_timeout;
    }
    changed
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config(listen: &str, read_timeout: &str, token: &str) -> Config {
        let yaml = format!(
            "listen: {listen}\nadmin_token: {token}\nserver: {{read_timeout: {read_timeout}}}\n\
             targets:\n  p: {{kind: preview}}\nroutes: {{}}\n"
        );
        Config::from_source(Path::new("config.yaml"), &yaml)
            .unwrap()
            .0
    }

    #[test]
    fn settings_read_once_keep_their_value_and_are_named_the_rest_apply() {
        let current = config("127.0.0.1:8080", "10s", "old");
        let mut next = config("127.0.0.1:9090", "20s", "new");
        let changed = keep_restart_settings(&current, &mut next);
        assert_eq!(changed.len(), 2, "{changed:?}");
        assert!(changed[0] == "listen" && changed[1].contains("read_timeout"));
        assert_eq!(next.listen, current.listen);
        assert_eq!(next.server.read_timeout, current.server.read_timeout);
        assert_eq!(
            next.admin_token.as_deref(),
            Some("new"),
            "the token applies at once"
        );
        let mut same = config("127.0.0.1:8080", "10s", "new");
        assert!(keep_restart_settings(&current, &mut same).is_empty());
    }
}
