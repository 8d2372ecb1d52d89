//! The `verify:` block of a route, read from YAML into [`crate::verify::Verify`], with
//! every mistake at its line; the checks themselves run in the gateway's ingress.

use crate::verify::{standard_webhooks_key, Algorithm, Preset, TokenAt, Verify, KINDS, PRESETS};
use crate::yaml::{pos, Spanned, Tree};

use super::{env, Loader};

/// What a route's `verify:` asks for.
pub(super) enum Guard {
    Checked(Verify),
    /// `verify: none`: unsigned requests are taken, on purpose.
    Off,
}

pub(super) fn compile(tree: &Spanned<Tree>, loader: &mut Loader) -> Option<Guard> {
    if matches!(&tree.value, Tree::String(word) if word == "none") {
        loader.warning(
            pos(tree),
            "`verify: none`: this route takes unsigned requests from anyone who can reach it",
        );
        return Some(Guard::Off);
    }
    compile_check(tree, loader).map(Guard::Checked)
}

fn compile_check(tree: &Spanned<Tree>, loader: &mut Loader) -> Option<Verify> {
    let Tree::Map(entries) = &tree.value else {
        loader.error(pos(tree), format!("`verify` takes one of: {KINDS}"));
        return None;
    };
    let [(kind, value)] = entries.as_slice() else {
        loader.error(pos(tree), format!("`verify` takes exactly one of: {KINDS}"));
        return None;
    };
    if let Some((_, preset)) = PRESETS.iter().find(|(name, _)| name == kind) {
        return compile_preset(*preset, value, loader);
    }
    if kind == "basic" && !matches!(value.value, Tree::Map(_)) {
        let passwords = secrets(value, loader)?;
        return Some(Verify::Basic {
            user: None,
            passwords,
        });
    }
    let known: &[&str] = match kind.as_str() {
        "hmac" => &["header", "secret", "secrets", "algorithm", "prefix"],
        "token" => &["header", "query", "value", "values"],
        "basic" => &["user", "password", "passwords"],
        _ => {
            loader.error(
                pos(tree),
                format!("unknown verify kind `{kind}`: use one of {KINDS}"),
            );
            return None;
        }
    };
    let settings = Settings::read(kind, known, value, loader)?;
    match kind.as_str() {
        "token" => compile_token(&settings, loader),
        "basic" => {
            let user = match settings.get("user") {
                Some(node) => {
                    let user = loader.string(node)?;
                    if user.is_empty() {
                        loader.warning(
                            pos(node),
                            "`user` is empty: any user name is taken with the password",
                        );
                    }
                    Some(user).filter(|user| !user.is_empty())
                }
                None => None,
            };
            Some(Verify::Basic {
                user,
                passwords: settings.secrets,
            })
        }
        _ => compile_hmac(&settings, loader),
    }
}

fn compile_preset(preset: Preset, value: &Spanned<Tree>, loader: &mut Loader) -> Option<Verify> {
    let secrets = secrets(value, loader)?;
    if preset == Preset::StandardWebhooks
        && secrets.iter().any(|s| standard_webhooks_key(s).is_none())
    {
        loader.error(
            pos(value),
            "a Standard Webhooks secret is base64, usually with a `whsec_` prefix, as the sender shows it",
        );
        return None;
    }
    Some(Verify::Preset { preset, secrets })
}

/// An `hmac`, `token` or `basic` block's settings, each known, with its secrets read.
struct Settings<'t> {
    block: &'t Spanned<Tree>,
    fields: &'t [(String, Spanned<Tree>)],
    secrets: Vec<String>,
}

impl<'t> Settings<'t> {
    fn read(
        kind: &str,
        known: &[&str],
        block: &'t Spanned<Tree>,
        loader: &mut Loader,
    ) -> Option<Self> {
        let Tree::Map(fields) = &block.value else {
            loader.error(pos(block), format!("`{kind}` takes a map of settings"));
            return None;
        };
        if let Some((key, v)) = fields.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            let known = known.join(", ");
            loader.error(
                pos(v),
                format!("`{key}` is not a `{kind}` setting: use {known}"),
            );
            return None;
        }
        let (one, many) = match kind {
            "hmac" => ("secret", "secrets"),
            "basic" => ("password", "passwords"),
            _ => ("value", "values"),
        };
        let mut settings = Self {
            block,
            fields,
            secrets: Vec::new(),
        };
        let node = match (settings.get(one), settings.get(many)) {
            (Some(node), None) | (None, Some(node)) => node,
            (Some(_), Some(both)) => {
                loader.error(
                    pos(both),
                    format!("`{kind}` takes `{one}` or `{many}`, not both: list every one under `{many}`"),
                );
                return None;
            }
            (None, None) => {
                loader.error(pos(block), format!("`{kind}` needs `{one}` (or `{many}`)"));
                return None;
            }
        };
        settings.secrets = secrets(node, loader)?;
        Some(settings)
    }

    fn get(&self, key: &str) -> Option<&'t Spanned<Tree>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn compile_token(settings: &Settings, loader: &mut Loader) -> Option<Verify> {
    let at = match (settings.get("header"), settings.get("query")) {
        (Some(h), None) => TokenAt::Header(loader.string(h)?),
        (None, Some(q)) => TokenAt::Query(loader.string(q)?),
        _ => {
            loader.error(
                pos(settings.block),
                "`token` needs exactly one of `header` or `query`",
            );
            return None;
        }
    };
    Some(Verify::Token {
        at,
        values: settings.secrets.clone(),
    })
}

fn compile_hmac(settings: &Settings, loader: &mut Loader) -> Option<Verify> {
    let Some(header) = settings.get("header") else {
        loader.error(
            pos(settings.block),
            "`hmac` needs `header`, the header that carries the signature",
        );
        return None;
    };
    let header = loader.string(header)?;
    let algorithm = match settings.get("algorithm") {
        None => Algorithm::Sha256,
        Some(node) => match loader.string(node)?.as_str() {
            "sha1" => Algorithm::Sha1,
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => {
                loader.error(
                    pos(node),
                    format!("unknown algorithm `{other}`: use sha1, sha256 or sha512"),
                );
                return None;
            }
        },
    };
    let prefix = match settings.get("prefix") {
        Some(p) => loader.string(p)?,
        None => String::new(),
    };
    Some(Verify::Hmac {
        header,
        secrets: settings.secrets.clone(),
        algorithm,
        prefix,
    })
}

/// One secret or a list of them, none empty.
fn secrets(node: &Spanned<Tree>, loader: &mut Loader) -> Option<Vec<String>> {
    let items: Vec<&Spanned<Tree>> = match &node.value {
        Tree::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut out = Vec::new();
    for item in items {
        let secret = loader.string(item)?;
        let raw = match &item.value {
            Tree::String(raw) => raw.as_str(),
            _ => "",
        };
        let from_env = raw.contains("${");
        if let Some(path) = env::first_without_default(raw)
            .filter(|_| secret.is_empty())
            .and_then(|name| name.strip_prefix("file:"))
        {
            loader.error(
                pos(item),
                format!("the secret file {path} is empty: the route would accept anyone"),
            );
            return None;
        }
        if let Some(name) = env::first_without_default(raw).filter(|_| secret.is_empty()) {
            loader.error(
                pos(item),
                format!("{name} is set but empty: the route would accept anyone; set the secret, or write `${{{name}:-}}` or `verify: none` to take unsigned requests on purpose"),
            );
            return None;
        }
        if secret.is_empty() && from_env {
            // Like a target's empty url: the default config can name a secret that
            // an environment variable switches on.
            loader.warning(
                pos(item),
                "this secret's variable is empty: the route accepts unsigned requests until it is set",
            );
            continue;
        }
        if secret.is_empty() {
            loader.error(
                pos(item),
                "this secret is empty: a route would accept anyone; set it or remove `verify`",
            );
            return None;
        }
        out.push(secret);
    }
    Some(out)
}
