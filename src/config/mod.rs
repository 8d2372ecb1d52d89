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
use crate::target::{self, Kind, Overflow};
use crate::yaml::{pos, Spanned, Tree};

mod env;
pub mod verify;

pub use env::interpolate;
pub use verify::Verify;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<Spanned<String>>,
    store: Option<Spanned<String>>,
    admin_token: Option<Spanned<String>>,
    #[serde(default)]
    targets: BTreeMap<String, Spanned<RawTarget>>,
    #[serde(default)]
    routes: BTreeMap<String, Spanned<RawRoute>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    kind: Spanned<String>,
    url: Option<Spanned<String>>,
    rate_limit: Option<Spanned<String>>,
    max_size: Option<Spanned<usize>>,
    overflow: Option<Spanned<String>>,
    max_parts: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    mappings: Spanned<Vec<Spanned<String>>>,
    targets: Spanned<Vec<Spanned<String>>>,
    verify: Option<Spanned<Tree>>,
}

#[derive(Debug)]
pub struct Config {
    pub file: PathBuf,
    pub listen: SocketAddr,
    pub store: Store,
    /// `None`: the admin API is off.
    pub admin_token: Option<String>,
    pub targets: BTreeMap<String, Target>,
    pub routes: BTreeMap<String, Route>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug)]
pub struct Target {
    pub kind: Kind,
    /// `None` when the URL interpolated to "": the target is configured but off.
    pub url: Option<String>,
    pub rate_limit: Option<Rate>,
    pub options: target::Options,
}

/// At most `count` messages per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

#[derive(Debug)]
pub struct Route {
    pub mappings: Vec<Arc<Mapping>>,
    pub targets: Vec<String>,
    pub verify: Option<Verify>,
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
        let mut loader = Loader {
            file,
            diags: Diagnostics::default(),
        };
        let config = match std::fs::read_to_string(file) {
            Ok(source) => crate::yaml::parse::<RawConfig>(file, &source, &mut loader.diags)
                .and_then(|raw| compile(raw, file, &mut loader)),
            Err(err) => {
                loader.error(Pos::new(1, 1), format!("cannot read config: {err}"));
                None
            }
        };
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
    let store = setting(&raw.store, DEFAULT_STORE, loader)
        .and_then(|(text, at)| parse_store(&text, base, at, loader));
    let admin_token = match &raw.admin_token {
        Some(t) => loader
            .interpolate(t)
            .map(|t| Some(t).filter(|t| !t.is_empty())),
        None => Some(None),
    };
    let targets: BTreeMap<String, Option<Target>> = raw
        .targets
        .iter()
        .map(|(name, t)| (name.clone(), compile_target(name, t, loader)))
        .collect();
    let mut mappings: BTreeMap<PathBuf, Option<Arc<Mapping>>> = BTreeMap::new();
    let routes: BTreeMap<String, Option<Route>> = raw
        .routes
        .iter()
        .map(|(name, r)| {
            (
                name.clone(),
                compile_route(name, r, &raw.targets, base, &mut mappings, loader),
            )
        })
        .collect();
    if raw.routes.is_empty() {
        loader.warning(
            Pos::new(1, 1),
            "no `routes`: the gateway will answer 404 to every hook",
        );
    }
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

fn parse_store(text: &str, base: &Path, at: Pos, loader: &mut Loader) -> Option<Store> {
    if let Some(path) = text.strip_prefix("sqlite://") {
        if path.is_empty() {
            loader.error(
                at,
                "`sqlite://` needs a file path, such as sqlite://data/hookbridge.db",
            );
            return None;
        }
        return Some(Store::Sqlite(base.join(path)));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        return Some(Store::Postgres(text.to_string()));
    }
    loader.error(
        at,
        format!("store `{text}` is neither sqlite://PATH nor postgres://USER@HOST/DB"),
    );
    None
}

fn compile_target(name: &str, raw: &Spanned<RawTarget>, loader: &mut Loader) -> Option<Target> {
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
    let rate_limit = match &t.rate_limit {
        Some(r) => loader
            .interpolate(r)
            .and_then(|text| parse_rate(&text).map_err(|e| loader.error(pos(r), e)).ok())
            .map(Some),
        None => Some(None),
    };
    let overflow = match &t.overflow {
        Some(o) => o
            .value
            .parse::<Overflow>()
            .map_err(|e| loader.error(pos(o), e))
            .ok(),
        None => Some(Overflow::Split),
    };
    let (kind, url) = (kind?, url?);
    check_url(name, kind, url.as_deref(), raw, loader)?;
    let defaults = target::Options::default();
    Some(Target {
        kind,
        url,
        rate_limit: rate_limit?,
        options: target::Options {
            max_size: t.max_size.as_ref().map(|m| m.value),
            overflow: overflow?,
            max_parts: t
                .max_parts
                .as_ref()
                .map_or(defaults.max_parts, |m| m.value.max(1)),
        },
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

fn compile_route(
    name: &str,
    raw: &Spanned<RawRoute>,
    targets: &BTreeMap<String, Spanned<RawTarget>>,
    base: &Path,
    mappings: &mut BTreeMap<PathBuf, Option<Arc<Mapping>>>,
    loader: &mut Loader,
) -> Option<Route> {
    let r = &raw.value;
    let mut ok = true;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        loader.error(pos(raw), format!("route name `{name}` must be letters, digits, `-` or `_`: it is the URL path /hooks/{name}"));
        ok = false;
    }
    for t in &r.targets.value {
        if !targets.contains_key(&t.value) {
            let known: Vec<_> = targets.keys().map(String::as_str).collect();
            loader.error(
                pos(t),
                format!(
                    "route `{name}` names target `{}`, which is not under `targets` (targets: {})",
                    t.value,
                    known.join(", ")
                ),
            );
            ok = false;
        }
    }
    if r.mappings.value.is_empty() {
        loader.error(
            pos(&r.mappings),
            format!("route `{name}` has no mappings: list at least one file"),
        );
        ok = false;
    }
    let loaded: Vec<Option<Arc<Mapping>>> = r
        .mappings
        .value
        .iter()
        .map(|m| load_mapping(m, base, mappings, loader))
        .collect();
    let verify = r.verify.as_ref().map(|v| verify::compile(v, loader));
    let loaded = loaded.into_iter().collect::<Option<Vec<_>>>();
    if !ok {
        return None;
    }
    Some(Route {
        mappings: loaded?,
        targets: r.targets.value.iter().map(|t| t.value.clone()).collect(),
        verify: match verify {
            Some(v) => Some(v?),
            None => None,
        },
    })
}

/// Each mapping file is compiled once, however many routes name it.
fn load_mapping(
    entry: &Spanned<String>,
    base: &Path,
    cache: &mut BTreeMap<PathBuf, Option<Arc<Mapping>>>,
    loader: &mut Loader,
) -> Option<Arc<Mapping>> {
    let path = base.join(loader.interpolate(entry)?);
    if let Some(done) = cache.get(&path) {
        return done.clone();
    }
    let loaded = if path.is_file() {
        match Mapping::load(&path) {
            Ok((mapping, warnings)) => {
                loader.diags.extend(warnings);
                Some(Arc::new(mapping))
            }
            Err(ConfigError(errors)) => {
                loader.diags.extend(errors);
                None
            }
        }
    } else {
        loader.error(
            pos(entry),
            format!("mapping file {} does not exist", path.display()),
        );
        None
    };
    cache.insert(path, loaded.clone());
    loaded
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
