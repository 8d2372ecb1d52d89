//! Jira admin webhooks, as Jira Cloud and Data Center document them
//! (developer.atlassian.com/server/jira/platform/webhooks, "Registering a webhook via the
//! REST API"): `POST /rest/webhooks/1.0/webhook` with a name, the URL, the events and a
//! JQL filter; `PUT …/webhook/{id}` to update. Jira offers no test delivery.

use reqwest::Method;
use serde_json::{json, Value};

use super::api::{Api, Credentials};
use super::{Hook, Source};

/// The site's API with the credentials and the variable they came from.
pub fn api(
    site: &str,
    (credentials, variable): (Credentials, &'static str),
) -> anyhow::Result<Api> {
    let forbidden = "belongs to someone who is not a Jira administrator: only administrators may manage webhooks";
    Api::new(site, credentials, variable, forbidden, &[])
}

/// What the shipped `mappings/jira.yaml` turns into messages.
pub const EVENTS: &[&str] = &[
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "worklog_created",
    "worklog_updated",
    "worklog_deleted",
    "sprint_created",
    "sprint_started",
    "sprint_closed",
    "jira:version_created",
    "jira:version_released",
    "jira:version_unreleased",
];

pub struct Jira {
    pub events: Vec<String>,
    pub jql: Option<String>,
}

const HOOKS: &str = "/rest/webhooks/1.0/webhook";

impl Source for Jira {
    fn hooks(&self) -> String {
        HOOKS.to_string()
    }

    fn list(&self) -> String {
        HOOKS.to_string()
    }

    fn body(&self, url: &str, secret: &str) -> Value {
        let mut body = json!({
            "name": "hookbridge",
            "url": url,
            "events": self.events,
            "excludeBody": false,
            "secret": secret,
        });
        if let Some(jql) = &self.jql {
            body["filters"] = json!({ "issue-related-events-section": jql });
        }
        body
    }

    /// Jira answers with the hook's `self` URL, whose last segment is its id.
    fn hook(&self, listed: &Value) -> Option<Hook> {
        let own = listed["self"].as_str()?;
        Some(Hook {
            id: own.trim_end_matches('/').rsplit('/').next()?.to_string(),
            url: listed["url"].as_str()?.to_string(),
        })
    }

    fn update_method(&self) -> Method {
        Method::PUT
    }

    fn test(&self, _: &str) -> Option<String> {
        None
    }
}
