//! config.yaml: read, `${VAR}`-interpolated, validated into a model in one pass that
//! reports every problem at once as `file:line:col: message`. Relative paths resolve
//! against the config file's folder.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::diagnostic::{ConfigError, Diagnostics, Pos};
use crate::mapping::Mapping;
use crate::yaml::{pos, Spanned, Tree};

mod env;
mod route;
mod store;
mod target;
mod units;
mod verify;

pub use crate::verify::Verify;
pub use env::interpolate;
pub use store::{Retention, Store, StorePool};

pub use target::{default_rate, parse_rate, Rate, Retry, Target};
pub use units::{parse_duration, parse_size};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<Spanned<String>>,
    store: Option<Spanned<String>>,
    admin_token: Option<Spanned<String>>,
    server: Option<Spanned<RawServer>>,
    retention: Option<Spanned<store::RawRetention>>,
    store_pool: Option<Spanned<store::RawStorePool>>,
    #[serde(default)]
    targets: BTreeMap<String, Spanned<target::RawTarget>>,
    #[serde(default)]
    routes: BTreeMap<String, Spanned<route::RawRoute>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    max_body: Option<Spanned<String>>,
    max_connections: Option<Spanned<String>>,
    max_connections_per_client: Option<Spanned<String>>,
    read_timeout: Option<Spanned<String>>,
    shutdown_grace: Option<Spanned<String>>,
}

#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub listen: SocketAddr,
    pub store: Store,
    /// `None`: the admin API is off.
    pub admin_token: Option<String>,
    pub server: Server,
    pub retention: Retention,
    pub targets: BTreeMap<String, Target>,
    pub routes: BTreeMap<String, Route>,
}

/// Limits that keep one misbehaving sender from taking the gateway down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Default body limit; a route may set its own.
    pub max_body: usize,
    pub max_connections: usize,
    /// Connections one IP address may hold at once, so one client cannot take every
    /// slot (behind a proxy, every client is the proxy: raise it to max_connections).
    pub max_connections_per_client: usize,
    /// A client gets this long to send its headers, and again its body.
    pub read_timeout: Duration,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            max_body: 1 << 20,
            max_connections: 1024,
            max_connections_per_client: 64,
            read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
pub struct Route {
    pub mappings: Vec<Arc<Mapping>>,
    pub targets: Vec<String>,
    pub verify: Option<Verify>,
    /// Body limit in bytes; the server's `max_body` unless the route sets its own.
    pub max_body: usize,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_STORE: &str = "sqlite://data/hookbridge.db";

/// Reads problems into one list and resolves `${VAR}` in every string it hands out.
pub(crate) struct Loader<'a> {
    file: &'a Path,
    diags: Diagnostics,
}

impl Loader<'_> {
    fn error(&mut self, at: Pos, message: impl Into<String>) {
        self.diags.error(self.file, at, message);
    }

    fn warning(&mut self, at: Pos, message: impl Into<String>) {
        self.diags.warning(self.file, at, message);
    }

    /// The scalar at `node`, interpolated.
    fn string(&mut self, node: &Spanned<Tree>) -> Option<String> {
        let text = match &node.value {
            Tree::String(s) => s.clone(),
            Tree::Number(n) => n.to_string(),
            Tree::Bool(b) => b.to_string(),
            _ => {
                self.error(pos(node), "expected a string here");
                return None;
            }
        };
        self.interpolate(&Spanned::new(text, node.referenced, node.defined))
    }

    /// An optional setting, interpolated and parsed: `Some(None)` when absent, `None`
    /// when present but wrong (reported at its position).
    fn parsed<T, E: Into<String>>(
        &mut self,
        value: &Option<Spanned<String>>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        let Some(value) = value else {
            return Some(None);
        };
        let text = self.interpolate(value)?;
        match parse(&text) {
            Ok(v) => Some(Some(v)),
            Err(e) => {
                self.error(pos(value), e);
                None
            }
        }
    }

    fn interpolate(&mut self, value: &Spanned<String>) -> Option<String> {
        match env::interpolate(&value.value, |name| std::env::var(name).ok()) {
            Ok(s) => Some(s),
            Err(message) => {
                self.error(pos(value), message);
                None
            }
        }
    }
}

impl Config {
    /// Loads the config and every mapping it names. `Ok` carries warnings.
    pub fn load(file: &Path) -> Result<(Config, Diagnostics), ConfigError> {
        match std::fs::read_to_string(file) {
            Ok(source) => Self::from_source(file, &source),
            Err(err) => {
                let mut diags = Diagnostics::default();
                diags.error(file, Pos::new(1, 1), format!("cannot read config: {err}"));
                Err(ConfigError(diags))
            }
        }
    }

    /// The config in `source`, as if read from `file` (whose folder relative paths
    /// start from).
    pub fn from_source(file: &Path, source: &str) -> Result<(Config, Diagnostics), ConfigError> {
        let mut loader = Loader {
            file,
            diags: Diagnostics::default(),
        };
        let config = crate::yaml::parse::<RawConfig>(file, source, &mut loader.diags)
            .and_then(|raw| compile(raw, file, &mut loader));
        let diags = loader.diags.into_result()?;
        match config {
            Some(c) => Ok((c, diags)),
            None => {
                let mut d = Diagnostics::default();
                d.error(
                    file,
                    Pos::new(1, 1),
                    "config failed to load without a reported cause",
                );
                Err(ConfigError(d))
            }
        }
    }

    pub fn base_dir(&self) -> &Path {
        base_dir(&self.file)
    }
}

/// The folder relative paths start from ("" for a file named without one, so joined
/// paths read as the user wrote them).
fn base_dir(file: &Path) -> &Path {
    file.parent()
        .filter(|p| *p != Path::new("."))
        .unwrap_or(Path::new(""))
}

fn compile(raw: RawConfig, file: &Path, loader: &mut Loader) -> Option<Config> {
    let base = base_dir(file);
    let listen = setting(&raw.listen, DEFAULT_LISTEN, loader).and_then(|(text, at)| {
        text.parse::<SocketAddr>()
            .map_err(|_| loader.error(at, format!("listen `{text}` is not host:port with an IP address, such as 127.0.0.1:8080")))
            .ok()
    });
    let store = store::compile_store(&raw.store, raw.store_pool.as_ref(), base, loader);
    let admin_token = match &raw.admin_token {
        Some(t) => loader
            .interpolate(t)
            .map(|t| Some(t).filter(|t| !t.is_empty())),
        None => Some(None),
    };
    let targets: BTreeMap<String, Option<Target>> = raw
        .targets
        .iter()
        .map(|(name, t)| (name.clone(), target::compile_target(name, t, loader)))
        .collect();
    let server = match &raw.server {
        Some(s) => compile_server(&s.value, loader),
        None => Some(Server::default()),
    };
    let retention = match &raw.retention {
        Some(r) => store::compile_retention(&r.value, loader),
        None => Some(Retention::default()),
    };
    let default_body = server
        .as_ref()
        .map_or(Server::default().max_body, |s| s.max_body);
    let scope = route::RouteScope {
        targets: &raw.targets,
        base,
        default_body,
        public: listen.is_some_and(|addr| !addr.ip().is_loopback()),
    };
    let routes = route::compile_routes(&raw.routes, &scope, loader);
    let targets = targets
        .into_iter()
        .map(|(n, t)| t.map(|t| (n, t)))
        .collect::<Option<_>>();
    let routes = routes
        .into_iter()
        .map(|(n, r)| r.map(|r| (n, r)))
        .collect::<Option<_>>();
    Some(Config {
        file: file.to_path_buf(),
        listen: listen?,
        store: store?,
        admin_token: admin_token?,
        server: server?,
        retention: retention?,
        targets: targets?,
        routes: routes?,
    })
}

/// A top-level setting, interpolated, or its default; with where it stands.
fn setting(
    value: &Option<Spanned<String>>,
    default: &str,
    loader: &mut Loader,
) -> Option<(String, Pos)> {
    match value {
        Some(v) => loader.interpolate(v).map(|s| (s, pos(v))),
        None => Some((default.to_string(), Pos::new(1, 1))),
    }
}

fn compile_server(raw: &RawServer, loader: &mut Loader) -> Option<Server> {
    let defaults = Server::default();
    let second = Duration::from_secs(1);
    let max_body = loader.parsed(
        &raw.max_body,
        units::size_within("max_body", units::MAX_BODY),
    );
    let max_connections = loader.parsed(
        &raw.max_connections,
        units::count_within("max_connections", 1, 65_536),
    );
    let per_client = loader.parsed(
        &raw.max_connections_per_client,
        units::count_within("max_connections_per_client", 1, 65_536),
    );
    let read_timeout = loader.parsed(
        &raw.read_timeout,
        units::duration_within("read_timeout", second / 10, second * 600),
    );
    let shutdown_grace = loader.parsed(
        &raw.shutdown_grace,
        units::duration_within("shutdown_grace", Duration::ZERO, second * 600),
    );
    Some(Server {
        max_body: max_body?.unwrap_or(defaults.max_body),
        max_connections: max_connections?.unwrap_or(defaults.max_connections),
        max_connections_per_client: per_client?.unwrap_or(defaults.max_connections_per_client),
        read_timeout: read_timeout?.unwrap_or(defaults.read_timeout),
        shutdown_grace: shutdown_grace?.unwrap_or(defaults.shutdown_grace),
    })
}
