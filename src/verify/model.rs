//! What a route's `verify:` block asks for, as the checks read it. `config` builds it
//! from YAML; nothing here knows YAML.

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
    /// `X-Gitea-Signature` (or Forgejo's `X-Forgejo-Signature`): bare hex HMAC-SHA256
    Gitea,
    /// `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`: any entry may match
    Pagerduty,
}

/// The presets by the name a config gives them.
pub const PRESETS: [(&str, Preset); 10] = [
    ("github", Preset::Github),
    ("jira", Preset::Jira),
    ("bitbucket", Preset::Bitbucket),
    ("gitlab", Preset::Gitlab),
    ("chatwoot", Preset::Chatwoot),
    ("sentry", Preset::Sentry),
    ("grafana", Preset::Grafana),
    ("standard-webhooks", Preset::StandardWebhooks),
    ("gitea", Preset::Gitea),
    ("pagerduty", Preset::Pagerduty),
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
    /// `Authorization: Basic`, as Azure DevOps service hooks send it. Without a `user`,
    /// any user name is taken with a right password.
    Basic {
        user: Option<String>,
        passwords: Vec<String>,
    },
}

impl Verify {
    /// Every secret came from an empty variable: nothing to check against.
    pub fn is_off(&self) -> bool {
        match self {
            Verify::Preset { secrets, .. } | Verify::Hmac { secrets, .. } => secrets.is_empty(),
            Verify::Token { values, .. } => values.is_empty(),
            Verify::Basic { passwords, .. } => passwords.is_empty(),
        }
    }
}

/// Every kind a `verify:` block may name, for error messages.
pub const KINDS: &str = "github, jira, bitbucket, gitlab, chatwoot, sentry, grafana, gitea, pagerduty, standard-webhooks, hmac, token, basic or none";
