//! config.yaml: read, `${VAR}`-interpolated, validated into a model in one pass that
//! reports every problem at once as `file:line:col: message`. Relative paths resolve
//! against the config file's folder.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::diagnostic::{ConfigError, Diagnostics, Pos};
use crate::mapping::Mapping;
use crate::yaml::schema::Scalar;
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

/// hookbridge's config.yaml. `${VAR}` and `${VAR:-default}` in any string are read
/// from the environment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "hookbridge config.yaml")]
struct RawConfig {
    /// host:port to listen on (default 127.0.0.1:8080). On an address beyond loopback
    /// every route needs `verify` (or an explicit `verify: none`).
    #[schemars(with = "Option<String>")]
    listen: Option<Spanned<String>>,
    /// The outbox: `sqlite://PATH` (default `sqlite://data/hookbridge.db`, relative to
    /// this file) or `postgres://USER:PASSWORD@HOST:PORT/DB`, with `sslmode`
    /// (disable, prefer, require, verify-ca, verify-full; default prefer) and
    /// `sslrootcert=PATH`.
    #[schemars(with = "Option<String>")]
    store: Option<Spanned<String>>,
    /// Bearer (or Basic) token for `/api/*` and `/preview`; empty or absent: the admin
    /// API is off.
    #[schemars(with = "Option<String>")]
    admin_token: Option<Spanned<String>>,
    /// The gateway's address as sources reach it (https://hooks.example.com), from
    /// which `hookbridge connect` makes each route's URL.
    #[schemars(with = "Option<String>")]
    public_url: Option<Spanned<String>>,
    /// Limits that keep one misbehaving sender from taking the gateway down.
    #[schemars(with = "Option<RawServer>")]
    server: Option<Spanned<RawServer>>,
    /// How long finished deliveries stay listable before they are pruned.
    #[schemars(with = "Option<store::RawRetention>")]
    retention: Option<Spanned<store::RawRetention>>,
    /// PostgreSQL connections per replica and their time limits (ignored by SQLite).
    #[schemars(with = "Option<store::RawStorePool>")]
    store_pool: Option<Spanned<store::RawStorePool>>,
    /// Chat services and endpoints to deliver to, by name.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, target::RawTarget>")]
    targets: BTreeMap<String, Spanned<target::RawTarget>>,
    /// Webhook routes, by name: a source POSTs to `/hooks/{name}`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, route::RawRoute>")]
    routes: BTreeMap<String, Spanned<route::RawRoute>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Server")]
struct RawServer {
    /// Body limit: bytes, or with KB, KiB, MB, MiB (default 1MiB, up to 64MiB); a
    /// route may set its own.
    #[schemars(with = "Option<Scalar>")]
    max_body: Option<Spanned<String>>,
    /// Open connections at once, 1 to 65536 (default 1024); past it new ones wait in
    /// the kernel's backlog.
    #[schemars(with = "Option<Scalar>")]
    max_connections: Option<Spanned<String>>,
    /// One IP address's share of connections, 1 to 65536 (default 64). Behind a proxy
    /// every client is the proxy: raise it.
    #[schemars(with = "Option<Scalar>")]
    max_connections_per_client: Option<Spanned<String>>,
    /// How long a client gets for its headers, and again for its body: 100ms to 10m
    /// (default 10s).
    #[schemars(with = "Option<Scalar>")]
    read_timeout: Option<Spanned<String>>,
    /// After SIGTERM, how long requests and sends in flight may take, up to 10m
    /// (default 10s); what is still sending then stays pending for the next start.
    #[schemars(with = "Option<Scalar>")]
    shutdown_grace: Option<Spanned<String>>,
}

/// The JSON Schema of config.yaml, for editors (`hookbridge schema config`).
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(RawConfig).to_value()
}

#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub listen: SocketAddr,
    pub store: Store,
    /// `None`: the admin API is off.
    pub admin_token: Option<String>,
    /// Where sources reach the gateway, without a trailing slash.
    pub public_url: Option<String>,
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

/// A `${file:PATH}` secret, relative to the config's folder. A file others may read is
/// refused: the point of a secret file is that only the gateway's user can.
fn read_secret_file(config: &Path, path: &str) -> Result<String, String> {
    let file = base_dir(config).join(path);
    let shown = file.display();
    let cannot = |e: std::io::Error| format!("cannot read {shown}: {e}");
    let metadata = std::fs::metadata(&file).map_err(cannot)?;
    if let Some(mode) = readable_by_others(&metadata) {
        return Err(format!(
            "{shown} may be read by others (mode {mode:o}): `chmod 600 {shown}`"
        ));
    }
    std::fs::read_to_string(&file).map_err(cannot)
}

#[cfg(unix)]
fn readable_by_others(metadata: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn readable_by_others(_: &std::fs::Metadata) -> Option<u32> {
    None
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
        let file = self.file;
        let lookup = |reference: env::Reference| match reference {
            env::Reference::Variable(name) => Ok(std::env::var(name).ok()),
            env::Reference::File(path) => read_secret_file(file, path).map(Some),
        };
        match env::interpolate(&value.value, lookup) {
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
        public_url: public_url(&raw.public_url, loader)?,
        server: server?,
        retention: retention?,
        targets: targets?,
        routes: routes?,
    })
}

/// `public_url`, when given: an http(s) URL with nothing after its path.
fn public_url(value: &Option<Spanned<String>>, loader: &mut Loader) -> Option<Option<String>> {
    let Some(value) = value else {
        return Some(None);
    };
    let text = loader.interpolate(value)?;
    let url = text.trim().trim_end_matches('/');
    let web = url.starts_with("https://") || url.starts_with("http://");
    if url.is_empty() {
        return Some(None);
    }
    if !web || url.contains(['?', '#', ' ']) {
        loader.error(
            pos(value),
            format!(
                "public_url `{text}` is not an http(s) address such as https://hooks.example.com"
            ),
        );
        return None;
    }
    Some(Some(url.to_string()))
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
