//! A route: its name (a URL path segment), the targets and mapping files it names,
//! its `verify` block and its own body limit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::{target, units, verify, Loader, Route};
use crate::diagnostic::{ConfigError, Pos};
use crate::mapping::Mapping;
use crate::verify::Verify;
use crate::yaml::{pos, Spanned, Tree};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Route")]
pub(super) struct RawRoute {
    /// Mapping files, relative to this file; the first rule that matches, in order,
    /// makes the message.
    #[schemars(with = "Vec<String>")]
    mappings: Spanned<Vec<Spanned<String>>>,
    /// Names under `targets:` each message goes to.
    #[schemars(with = "Vec<String>")]
    targets: Spanned<Vec<Spanned<String>>>,
    /// How requests prove their sender: a preset with its secret(s), `hmac`, `token`,
    /// or `none`.
    #[schemars(with = "Option<VerifySchema>")]
    verify: Option<Spanned<Tree>>,
    /// This route's body limit, up to 64MiB (default: `server.max_body`).
    #[schemars(with = "Option<crate::yaml::schema::Scalar>")]
    max_body: Option<Spanned<String>>,
}

/// `verify:` in the schema: `none`, or one key naming the scheme.
struct VerifySchema;

impl JsonSchema for VerifySchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Verify".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let secret = serde_json::json!({
            "description": "the secret, or a list of them while rotating",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
        });
        let mut schemes: serde_json::Map<String, serde_json::Value> = crate::verify::PRESETS
            .iter()
            .map(|(name, _)| ((*name).to_string(), secret.clone()))
            .collect();
        schemes.insert(
            "hmac".into(),
            serde_json::json!({
                "type": "object",
                "description": "a hex HMAC of the body in a header of your choosing",
                "properties": {"header": {"type": "string"}, "secret": secret, "secrets": secret,
                    "algorithm": {"enum": ["sha1", "sha256", "sha512"]}, "prefix": {"type": "string"}},
                "additionalProperties": false
            }),
        );
        schemes.insert(
            "token".into(),
            serde_json::json!({
                "type": "object",
                "description": "a shared token in a header or a query parameter",
                "properties": {"header": {"type": "string"}, "query": {"type": "string"},
                    "value": secret, "values": secret},
                "additionalProperties": false
            }),
        );
        schemes.insert(
            "basic".into(),
            serde_json::json!({
                "description": "HTTP Basic credentials: the password(s) for any user name, or a user and password(s)",
                "anyOf": [secret, {"type": "object",
                    "properties": {"user": {"type": "string"}, "password": secret, "passwords": secret},
                    "additionalProperties": false}]
            }),
        );
        schemars::json_schema!({
            "oneOf": [
                {"const": "none", "description": "no verification: the route takes anyone's requests"},
                {"type": "object", "properties": schemes, "additionalProperties": false,
                 "minProperties": 1, "maxProperties": 1}
            ]
        })
    }
}

/// What every route is compiled against.
pub(super) struct RouteScope<'a> {
    pub targets: &'a BTreeMap<String, Spanned<target::RawTarget>>,
    pub base: &'a Path,
    pub default_body: usize,
    /// The gateway listens beyond loopback: a route without `verify` must say so.
    pub public: bool,
}

/// Each route, with the mapping files they name loaded once however many share one.
pub(super) fn compile_routes(
    routes: &BTreeMap<String, Spanned<RawRoute>>,
    scope: &RouteScope,
    loader: &mut Loader,
) -> BTreeMap<String, Option<Route>> {
    let mut mappings: BTreeMap<PathBuf, Option<Arc<Mapping>>> = BTreeMap::new();
    let compiled = routes
        .iter()
        .map(|(name, r)| {
            let route = compile_route(name, r, scope, &mut mappings, loader);
            (name.clone(), route)
        })
        .collect();
    if routes.is_empty() {
        loader.warning(
            Pos::new(1, 1),
            "no `routes`: the gateway will answer 404 to every hook",
        );
    }
    compiled
}

fn compile_route(
    name: &str,
    raw: &Spanned<RawRoute>,
    scope: &RouteScope,
    mappings: &mut BTreeMap<PathBuf, Option<Arc<Mapping>>>,
    loader: &mut Loader,
) -> Option<Route> {
    let r = &raw.value;
    let mut ok = route_names_check(name, raw, scope.targets, loader);
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
        .map(|m| load_mapping(m, scope.base, mappings, loader))
        .collect();
    let verify = route_verify(name, raw, scope.public, loader);
    let max_body = loader.parsed(&r.max_body, units::size_within("max_body", units::MAX_BODY));
    let loaded = loaded.into_iter().collect::<Option<Vec<_>>>();
    if !ok {
        return None;
    }
    Some(Route {
        mappings: loaded?,
        targets: r.targets.value.iter().map(|t| t.value.clone()).collect(),
        verify: verify?,
        max_body: max_body?.unwrap_or(scope.default_body),
    })
}

/// The route's check; `Some(None)` when it takes unsigned requests, which beyond
/// loopback it must say with `verify: none` (or an explicitly empty `${VAR:-}`).
fn route_verify(
    name: &str,
    raw: &Spanned<RawRoute>,
    public: bool,
    loader: &mut Loader,
) -> Option<Option<Verify>> {
    match raw
        .value
        .verify
        .as_ref()
        .map(|v| verify::compile(v, loader))
    {
        None if public => {
            loader.error(
                pos(raw),
                format!("route `{name}` has no `verify` and the gateway listens beyond loopback, so anyone could post to it: add a verify preset, or `verify: none` to take unsigned requests on purpose"),
            );
            None
        }
        None | Some(Some(verify::Guard::Off)) => Some(None),
        Some(None) => None,
        Some(Some(verify::Guard::Checked(check))) => Some(Some(check).filter(|v| !v.is_off())),
    }
}

/// The route's own name is a URL path segment, and the targets it names exist.
fn route_names_check(
    name: &str,
    raw: &Spanned<RawRoute>,
    targets: &BTreeMap<String, Spanned<target::RawTarget>>,
    loader: &mut Loader,
) -> bool {
    let mut ok = true;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        loader.error(pos(raw), format!("route name `{name}` must be letters, digits, `-` or `_`: it is the URL path /hooks/{name}"));
        ok = false;
    }
    for t in &raw.value.targets.value {
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
    ok
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
