//! `hookbridge connect jira|github|gitlab`: registers this gateway's webhook in the
//! source through its REST API (or updates the one already there, lists or removes it),
//! with a fresh secret that both sides then share, and proves a test delivery arrives.
//! Nothing prints a token, and the secret only in the one `export` line (or file) the
//! user asked for.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use reqwest::Method;
use serde_json::Value;

use api::{Api, Credentials};

mod api;
mod github;
mod gitlab;
mod jira;
mod proof;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Product {
    Jira,
    Github,
    Gitlab,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source to register the webhook in.
    #[arg(value_enum)]
    source: Product,
    /// The route's public URL, as the source will call it (default: the config's
    /// `public_url` and /hooks/ROUTE).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The gateway route the hook feeds (default: the source's name).
    #[arg(long)]
    route: Option<String>,
    /// GitHub: the repository, OWNER/NAME.
    #[arg(long, value_name = "OWNER/NAME")]
    repo: Option<String>,
    /// GitHub: an organization, for a hook on all its repositories.
    #[arg(long, value_name = "NAME", conflicts_with = "repo")]
    org: Option<String>,
    /// GitHub's API (default https://api.github.com; Enterprise: https://HOST/api/v3).
    #[arg(long, value_name = "URL")]
    api_url: Option<String>,
    /// GitLab: the project, by id or path (group/name).
    #[arg(long, value_name = "ID|PATH")]
    project: Option<String>,
    /// GitLab: a group, for a hook on all its projects.
    #[arg(long, value_name = "ID|PATH", conflicts_with = "project")]
    group: Option<String>,
    /// GitLab's address (default https://gitlab.com).
    #[arg(long, value_name = "URL")]
    url_base: Option<String>,
    /// Jira: the site, https://x.atlassian.net or a Data Center base URL.
    #[arg(long, value_name = "URL")]
    site: Option<String>,
    /// Jira: only issues this JQL selects.
    #[arg(long)]
    jql: Option<String>,
    /// The events to subscribe (default: those the shipped mapping turns into messages).
    #[arg(long, value_delimiter = ',')]
    events: Vec<String>,
    /// Save the secret to this file (mode 600) instead of printing an `export` line;
    /// config reads it with `${file:PATH}`.
    #[arg(long, value_name = "FILE")]
    write_secret: Option<PathBuf>,
    /// List the source's hooks that point at this gateway, and change nothing.
    #[arg(long, conflicts_with_all = ["remove", "write_secret"])]
    list: bool,
    /// Delete the hook that points at the URL.
    #[arg(long, conflicts_with = "write_secret")]
    remove: bool,
    /// The running gateway that should receive the test delivery (default: the
    /// config's `listen`); its admin API (HOOKBRIDGE_ADMIN_TOKEN) names the rule.
    #[arg(long, value_name = "URL")]
    gateway: Option<String>,
    /// Register only: ask for no test delivery.
    #[arg(long)]
    no_test: bool,
}

/// One source's webhook endpoints and bodies, as its REST API documents them.
trait Source {
    /// The collection a hook is created in.
    fn hooks(&self) -> String;
    /// The request that lists the hooks.
    fn list(&self) -> String;
    /// What creates or updates the hook.
    fn body(&self, url: &str, secret: &str) -> Value;
    /// A listed hook's id and URL.
    fn hook(&self, listed: &Value) -> Option<Hook>;
    fn update_method(&self) -> Method;
    /// Where to POST for a test delivery, if the source offers one.
    fn test(&self, id: &str) -> Option<String>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Hook {
    id: String,
    url: String,
}

pub fn run(config: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    let settings = Settings::read(config, args)?;
    let (api, source) = connect_to(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let hooks = listed(&api, source.as_ref()).await?;
        if args.list {
            print_hooks(&hooks, &settings.url);
            return Ok(ExitCode::SUCCESS);
        }
        let existing = hooks.iter().find(|h| h.url == settings.url);
        if args.remove {
            let hook = existing.ok_or_else(|| anyhow!("no hook points at {}", settings.url))?;
            let path = format!("{}/{}", source.hooks(), hook.id);
            api.call(Method::DELETE, &path, None).await?;
            println!("removed hook {} ({})", hook.id, hook.url);
            return Ok(ExitCode::SUCCESS);
        }
        let secret = new_secret()?;
        let body = source.body(&settings.url, &secret);
        let hook = match existing {
            Some(hook) => {
                let path = format!("{}/{}", source.hooks(), hook.id);
                api.call(source.update_method(), &path, Some(&body)).await?;
                println!("updated hook {} → {}", hook.id, settings.url);
                hook.clone()
            }
            None => {
                let created = api.call(Method::POST, &source.hooks(), Some(&body)).await?;
                let hook = source
                    .hook(&created)
                    .ok_or_else(|| anyhow!("the API created a hook but did not say its id"))?;
                println!("created hook {} → {}", hook.id, settings.url);
                hook
            }
        };
        hand_over(&secret, &settings, args.write_secret.as_deref())?;
        match source.test(&hook.id).filter(|_| !args.no_test) {
            Some(path) => proof::test_delivery(&api, &path, &settings).await,
            None => Ok(ExitCode::SUCCESS),
        }
    })
}

async fn listed(api: &Api, source: &dyn Source) -> anyhow::Result<Vec<Hook>> {
    let answer = api.call(Method::GET, &source.list(), None).await?;
    let items = answer
        .as_array()
        .ok_or_else(|| anyhow!("the API listed its hooks in an unexpected shape"))?;
    Ok(items.iter().filter_map(|item| source.hook(item)).collect())
}

fn print_hooks(hooks: &[Hook], url: &str) {
    let origin = url.split("/hooks/").next().unwrap_or(url);
    let ours: Vec<&Hook> = hooks.iter().filter(|h| h.url.starts_with(origin)).collect();
    if ours.is_empty() {
        println!("no hook points at {origin}");
    }
    for hook in ours {
        println!("{}  {}", hook.id, hook.url);
    }
}

/// What `connect` needs of the config: where the route is served and how to reach the
/// running gateway.
pub(super) struct Settings {
    url: String,
    route: String,
    /// The `verify` preset of the route: the source's name.
    preset: &'static str,
    secret_variable: &'static str,
    gateway: String,
    admin_token: Option<String>,
}

impl Settings {
    fn read(config: &Path, args: &Args) -> anyhow::Result<Self> {
        let loaded = crate::config::Config::load(config).ok().map(|(c, _)| c);
        let route = args
            .route
            .clone()
            .unwrap_or_else(|| default_route(args.source).to_string());
        let url = match (&args.url, loaded.as_ref().and_then(|c| c.public_url.as_ref())) {
            (Some(url), _) => url.clone(),
            (None, Some(public)) => format!("{}/hooks/{route}", public.trim_end_matches('/')),
            (None, None) => bail!(
                "give the route's public URL: --url https://your-host/hooks/{route} (or set `public_url` in the config)"
            ),
        };
        if crate::markdown::safe_url(&url).is_none() || url.starts_with("mailto:") {
            bail!("--url must be an http(s) URL the source can reach, such as https://your-host/hooks/{route}");
        }
        let gateway = match (&args.gateway, &loaded) {
            (Some(gateway), _) => gateway.clone(),
            (None, Some(config)) => format!("http://{}", config.listen),
            (None, None) => "http://127.0.0.1:8080".to_string(),
        };
        Ok(Self {
            url,
            route,
            preset: default_route(args.source),
            secret_variable: secret_variable(args.source),
            gateway,
            admin_token: std::env::var("HOOKBRIDGE_ADMIN_TOKEN")
                .ok()
                .filter(|t| !t.is_empty())
                .or_else(|| loaded.and_then(|c| c.admin_token)),
        })
    }
}

fn default_route(product: Product) -> &'static str {
    match product {
        Product::Jira => "jira",
        Product::Github => "github",
        Product::Gitlab => "gitlab",
    }
}

/// The variable the default config reads the route's secret from.
fn secret_variable(product: Product) -> &'static str {
    match product {
        Product::Jira => "JIRA_WEBHOOK_SECRET",
        Product::Github => "GITHUB_WEBHOOK_SECRET",
        Product::Gitlab => "GITLAB_WEBHOOK_TOKEN",
    }
}

fn connect_to(args: &Args) -> anyhow::Result<(Api, Box<dyn Source>)> {
    let events = |default: &[&str]| -> Vec<String> {
        if args.events.is_empty() {
            default.iter().map(|e| (*e).to_string()).collect()
        } else {
            args.events.clone()
        }
    };
    match args.source {
        Product::Github => {
            let owner_path = match (&args.repo, &args.org) {
                (Some(repo), None) if repo.split('/').count() == 2 => format!("/repos/{repo}"),
                (None, Some(org)) => format!("/orgs/{org}"),
                _ => bail!("give --repo OWNER/NAME or --org NAME"),
            };
            let base = args.api_url.as_deref().unwrap_or("https://api.github.com");
            let source = github::Github {
                owner_path,
                events: events(github::EVENTS),
            };
            Ok((github::api(base, token("GITHUB_TOKEN")?)?, Box::new(source)))
        }
        Product::Gitlab => {
            let owner_path = match (&args.project, &args.group) {
                (Some(project), None) => format!("/projects/{}", encode(project)),
                (None, Some(group)) => format!("/groups/{}", encode(group)),
                _ => bail!("give --project ID|PATH or --group ID|PATH"),
            };
            let base = args.url_base.as_deref().unwrap_or("https://gitlab.com");
            let source = gitlab::Gitlab {
                owner_path,
                events: events(gitlab::EVENTS),
            };
            Ok((gitlab::api(base, token("GITLAB_TOKEN")?)?, Box::new(source)))
        }
        Product::Jira => {
            let site = args.site.as_deref().ok_or_else(|| {
                anyhow!(
                    "give --site https://your-site.atlassian.net (or your Data Center's base URL)"
                )
            })?;
            let source = jira::Jira {
                events: events(jira::EVENTS),
                jql: args.jql.clone(),
            };
            Ok((jira::api(site, jira_credentials()?)?, Box::new(source)))
        }
    }
}

/// Jira Cloud takes an account's email and API token (Basic); Data Center a personal
/// access token (Bearer).
fn jira_credentials() -> anyhow::Result<(Credentials, &'static str)> {
    if let Some(pat) = env("JIRA_PAT") {
        return Ok((Credentials::Bearer(pat), "JIRA_PAT"));
    }
    match (env("JIRA_USER"), env("JIRA_API_TOKEN")) {
        (Some(user), Some(token)) => Ok((Credentials::Basic { user, token }, "JIRA_API_TOKEN")),
        _ => bail!("set JIRA_USER and JIRA_API_TOKEN (Jira Cloud: your email and an API token) or JIRA_PAT (Data Center: a personal access token)"),
    }
}

fn token(variable: &str) -> anyhow::Result<String> {
    env(variable).ok_or_else(|| anyhow!("set {variable} to a token that may manage webhooks"))
}

fn env(variable: &str) -> Option<String> {
    std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// A project or group path in one URL segment, as GitLab takes `group%2Fname`.
fn encode(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

/// 32 random bytes from the operating system, hex-encoded: 64 characters.
fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness for a secret: {e}"))?;
    Ok(hex::encode(bytes))
}

/// The one place the secret is shown: an `export` line for the route's variable, or a
/// file only its owner may read.
fn hand_over(secret: &str, settings: &Settings, file: Option<&Path>) -> anyhow::Result<()> {
    let Some(file) = file else {
        println!("export {}={secret}", settings.secret_variable);
        println!("(set it where the gateway runs, then restart it or POST /api/reload)");
        return Ok(());
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(file)
        .with_context(|| format!("cannot write {}", file.display()))?;
    // A file that existed keeps its mode through `open`: narrow it too.
    #[cfg(unix)]
    std::fs::set_permissions(file, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    writeln!(out, "{secret}")?;
    println!(
        "secret written to {} (mode 600); route `{}` reads it with `verify: {{{}: ${{file:{}}}}}`",
        file.display(),
        settings.route,
        settings.preset,
        file.display()
    );
    Ok(())
}
