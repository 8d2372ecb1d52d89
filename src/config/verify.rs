//! The `verify:` block of a route: which signature or token check guards it.
//! Checked here; the checks themselves run in the gateway's ingress.

use crate::yaml::{pos, Spanned, Tree};

use super::Loader;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>`
    Github,
    /// `X-Hub-Signature: sha256=<hex>`
    Jira,
    Bitbucket,
    /// `X-Gitlab-Token: <secret>`
    Gitlab,
    /// `X-Chatwoot-Signature: sha256=HMAC(secret, "{X-Chatwoot-Timestamp}.{body}")`
    Chatwoot,
    Sentry,
    Grafana,
    StandardWebhooks,
}

const PRESETS: [(&str, Preset); 8] = [
    ("github", Preset::Github),
    ("jira", Preset::Jira),
    ("bitbucket", Preset::Bitbucket),
    ("gitlab", Preset::Gitlab),
    ("chatwoot", Preset::Chatwoot),
    ("sentry", Preset::Sentry),
    ("grafana", Preset::Grafana),
    ("standard-webhooks", Preset::StandardWebhooks),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAt {
    Header(String),
    Query(String),
}

/// Several secrets are accepted at once so a secret can be rotated without downtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    Preset {
        preset: Preset,
        secrets: Vec<String>,
    },
    Hmac {
        header: String,
        secrets: Vec<String>,
        algorithm: Algorithm,
        prefix: String,
    },
    Token {
        at: TokenAt,
        values: Vec<String>,
    },
}

impl Verify {
    /// Every secret came from an empty variable: nothing to check against.
    pub fn is_off(&self) -> bool {
        match self {
            Verify::Preset { secrets, .. } | Verify::Hmac { secrets, .. } => secrets.is_empty(),
            Verify::Token { values, .. } => values.is_empty(),
        }
    }
}

const KINDS: &str =
    "github, jira, bitbucket, gitlab, chatwoot, sentry, grafana, standard-webhooks, hmac or token";

pub(super) fn compile(tree: &Spanned<Tree>, loader: &mut Loader) -> Option<Verify> {
    let Tree::Map(entries) = &tree.value else {
        loader.error(pos(tree), format!("`verify` takes one of: {KINDS}"));
        return None;
    };
    let [(kind, value)] = entries.as_slice() else {
        loader.error(pos(tree), format!("`verify` takes exactly one of: {KINDS}"));
        return None;
    };
    if let Some((_, preset)) = PRESETS.iter().find(|(name, _)| name == kind) {
        let secrets = secrets(value, loader)?;
        if *preset == Preset::StandardWebhooks
            && secrets
                .iter()
                .any(|s| crate::verify::standard_webhooks_key(s).is_none())
        {
            loader.error(
                pos(value),
                "a Standard Webhooks secret is base64, usually with a `whsec_` prefix, as the sender shows it",
            );
            return None;
        }
        return Some(Verify::Preset {
            preset: *preset,
            secrets,
        });
    }
    let Tree::Map(fields) = &value.value else {
        loader.error(pos(value), format!("`{kind}` takes a map of settings"));
        return None;
    };
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let known: &[&str] = match kind.as_str() {
        "hmac" => &["header", "secret", "secrets", "algorithm", "prefix"],
        "token" => &["header", "query", "value", "values"],
        _ => {
            loader.error(
                pos(tree),
                format!("unknown verify kind `{kind}`: use one of {KINDS}"),
            );
            return None;
        }
    };
    if let Some((key, v)) = fields.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        loader.error(
            pos(v),
            format!(
                "`{key}` is not a `{kind}` setting: use {}",
                known.join(", ")
            ),
        );
        return None;
    }
    let (one, many) = if kind == "hmac" {
        ("secret", "secrets")
    } else {
        ("value", "values")
    };
    let Some(secret_node) = get(one).or_else(|| get(many)) else {
        loader.error(pos(value), format!("`{kind}` needs `{one}` (or `{many}`)"));
        return None;
    };
    let secret_list = secrets(secret_node, loader)?;
    if kind == "token" {
        let at = match (get("header"), get("query")) {
            (Some(h), None) => TokenAt::Header(loader.string(h)?),
            (None, Some(q)) => TokenAt::Query(loader.string(q)?),
            _ => {
                loader.error(
                    pos(value),
                    "`token` needs exactly one of `header` or `query`",
                );
                return None;
            }
        };
        return Some(Verify::Token {
            at,
            values: secret_list,
        });
    }
    let Some(header) = get("header") else {
        loader.error(
            pos(value),
            "`hmac` needs `header`, the header that carries the signature",
        );
        return None;
    };
    let header = loader.string(header)?;
    let algorithm = match get("algorithm") {
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
    let prefix = match get("prefix") {
        Some(p) => loader.string(p)?,
        None => String::new(),
    };
    Some(Verify::Hmac {
        header,
        secrets: secret_list,
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
        let from_env = matches!(&item.value, Tree::String(raw) if raw.contains("${"));
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
