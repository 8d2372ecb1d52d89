//! GitLab project and group webhooks, as its REST API documents them
//! (docs.gitlab.com/api/project_webhooks and /api/group_webhooks): `POST …/hooks`
//! with the URL, the secret `token` and one flag per event kind; `PUT …/hooks/:id` to
//! update; `POST …/hooks/:id/test/push_events` for a test delivery.

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::api::{Api, Credentials};
use super::{Hook, Source};

/// The event flags whose events the shipped `mappings/gitlab.yaml` turns into messages.
pub const EVENTS: &[&str] = &[
    "push_events",
    "tag_push_events",
    "merge_requests_events",
    "issues_events",
    "note_events",
    "pipeline_events",
    "job_events",
    "releases_events",
    "deployment_events",
];

/// The API at `base` with a token in `GITLAB_TOKEN`.
pub fn api(base: &str, token: String) -> anyhow::Result<Api> {
    let forbidden = "may not manage webhooks here: it needs the api scope and the Maintainer role (Owner for a group)";
    Api::new(
        base,
        Credentials::PrivateToken(token),
        "GITLAB_TOKEN",
        forbidden,
        &[],
    )
}

pub struct Gitlab {
    /// `/projects/ID` or `/groups/ID`, the id or the URL-encoded path.
    pub owner_path: String,
    pub events: Vec<String>,
}

impl Source for Gitlab {
    fn hooks(&self) -> String {
        format!("/api/v4{}/hooks", self.owner_path)
    }

    fn list(&self) -> String {
        format!("{}?per_page=100", self.hooks())
    }

    fn body(&self, url: &str, secret: &str) -> Value {
        let mut body = Map::new();
        body.insert("url".into(), url.into());
        body.insert("token".into(), secret.into());
        body.insert("enable_ssl_verification".into(), true.into());
        // Every flag is sent, so an update also switches off what was left out.
        for flag in EVENTS
            .iter()
            .copied()
            .chain(self.events.iter().map(String::as_str))
        {
            body.insert(flag.into(), self.events.iter().any(|e| e == flag).into());
        }
        json!(body)
    }

    fn hook(&self, listed: &Value) -> Option<Hook> {
        Some(Hook {
            id: listed["id"].as_u64()?.to_string(),
            url: listed["url"].as_str()?.to_string(),
        })
    }

    fn update_method(&self) -> Method {
        Method::PUT
    }

    fn test(&self, id: &str) -> Option<String> {
        Some(format!("{}/{id}/test/push_events", self.hooks()))
    }
}
