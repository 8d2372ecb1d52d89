//! GitHub repository and organization webhooks, as the REST API documents them
//! (docs.github.com/rest/repos/webhooks and /rest/orgs/webhooks, API version
//! 2022-11-28): `POST …/hooks` with `name: web` and a `config` of url, content type
//! and secret; `PATCH …/hooks/{id}` to update; `POST …/hooks/{id}/pings` for a test.

use reqwest::Method;
use serde_json::{json, Value};

use super::api::{Api, Credentials};
use super::{Hook, Source};

/// The API at `base` with a token in `GITHUB_TOKEN`.
pub fn api(base: &str, token: String) -> anyhow::Result<Api> {
    let forbidden = "may not manage webhooks here: it needs the admin:repo_hook (or admin:org_hook) scope, or a fine-grained token with Webhooks: write, and admin rights";
    Api::new(
        base,
        Credentials::Bearer(token),
        "GITHUB_TOKEN",
        forbidden,
        HEADERS,
    )
}

/// What the shipped `mappings/github.yaml` turns into messages.
pub const EVENTS: &[&str] = &[
    "push",
    "create",
    "delete",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "issues",
    "issue_comment",
    "discussion",
    "discussion_comment",
    "release",
    "workflow_run",
    "workflow_job",
    "check_run",
    "status",
    "deployment_status",
    "dependabot_alert",
];

pub const HEADERS: &[(&str, &str)] = &[
    ("Accept", "application/vnd.github+json"),
    ("X-GitHub-Api-Version", "2022-11-28"),
];

pub struct Github {
    /// `/repos/OWNER/NAME` or `/orgs/NAME`.
    pub owner_path: String,
    pub events: Vec<String>,
}

impl Source for Github {
    fn hooks(&self) -> String {
        format!("{}/hooks", self.owner_path)
    }

    fn list(&self) -> String {
        format!("{}?per_page=100", self.hooks())
    }

    fn body(&self, url: &str, secret: &str) -> Value {
        json!({
            "name": "web",
            "active": true,
            "events": self.events,
            "config": {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
        })
    }

    fn hook(&self, listed: &Value) -> Option<Hook> {
        Some(Hook {
            id: listed["id"].as_u64()?.to_string(),
            url: listed["config"]["url"].as_str()?.to_string(),
        })
    }

    fn update_method(&self) -> Method {
        Method::PATCH
    }

    fn test(&self, id: &str) -> Option<String> {
        Some(format!("{}/{id}/pings", self.hooks()))
    }
}
