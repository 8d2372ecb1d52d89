//! The source's REST API as `connect` talks to it: one client, its credentials in one
//! header, and every refusal turned into a message that says what to fix. Tokens never
//! reach a message: errors name the variable the token came from.

use anyhow::{anyhow, bail};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// How the source wants its credentials.
pub enum Credentials {
    Bearer(String),
    /// GitLab's `PRIVATE-TOKEN` header.
    PrivateToken(String),
    Basic {
        user: String,
        token: String,
    },
}

pub struct Api {
    client: reqwest::Client,
    base: String,
    credentials: Credentials,
    /// Where the credentials came from, for messages: `GITHUB_TOKEN`.
    pub token_variable: &'static str,
    /// What a 403 means at this source: which right the token lacks.
    pub forbidden_hint: &'static str,
    /// Headers every call carries (GitHub's API version, its media type).
    extra_headers: &'static [(&'static str, &'static str)],
}

impl Api {
    pub fn new(
        base: &str,
        credentials: Credentials,
        token_variable: &'static str,
        forbidden_hint: &'static str,
        extra_headers: &'static [(&'static str, &'static str)],
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            // GitHub refuses requests without one.
            .user_agent(concat!("hookbridge/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            credentials,
            token_variable,
            forbidden_hint,
            extra_headers,
        })
    }

    /// Sends `body` (if any) as JSON to `path` under the API's base and returns the
    /// answer's JSON (`Null` for an empty answer, as a 204 is).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method.clone(), &url);
        for (name, value) in self.extra_headers {
            request = request.header(*name, *value);
        }
        request = match &self.credentials {
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::PrivateToken(token) => request.header("PRIVATE-TOKEN", token),
            Credentials::Basic { user, token } => request.basic_auth(user, Some(token)),
        };
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| anyhow!(e).context(format!("cannot reach {}", self.base)))?;
        let status = response.status();
        let answer = read_json(response).await;
        if status.is_success() {
            return Ok(answer);
        }
        bail!("{method} {path}: {}", self.refusal(status, &answer))
    }

    fn refusal(&self, status: StatusCode, answer: &Value) -> String {
        let said = said(answer);
        let variable = self.token_variable;
        match status {
            StatusCode::UNAUTHORIZED => format!(
                "401 {said}: the API did not accept the credentials in {variable}; check it is set to a valid, unexpired token"
            ),
            StatusCode::FORBIDDEN => format!("403 {said}: {variable} {}", self.forbidden_hint),
            StatusCode::NOT_FOUND => format!(
                "404 {said}: no such repository, project or site, or {variable} may not see it; check the name and the token's access"
            ),
            other => format!("{} {said}", other.as_u16()),
        }
    }
}

/// The most of an answer that is read: a hook list of a hundred is a few hundred KB.
const MAX_ANSWER: usize = 8 << 20;

/// The answer's JSON, `Null` when it is empty, not JSON or larger than [`MAX_ANSWER`]
/// (read no further than that).
async fn read_json(mut response: reqwest::Response) -> Value {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Value::Null;
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}

/// What the API said about a refusal, in one line: GitHub's `message` and each of its
/// `errors`, GitLab's `message` (a string or a map of field errors), Jira's
/// `errorMessages` and `errors`.
fn said(answer: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    match &answer["message"] {
        Value::String(text) => parts.push(text.clone()),
        Value::Object(fields) => parts.extend(
            fields
                .iter()
                .map(|(field, problems)| format!("{field} {}", flat(problems))),
        ),
        _ => {}
    }
    for error in answer["errors"].as_array().into_iter().flatten() {
        parts.push(
            error["message"]
                .as_str()
                .map_or_else(|| flat(error), str::to_string),
        );
    }
    if let Some(fields) = answer["errors"].as_object() {
        parts.extend(
            fields
                .iter()
                .map(|(field, problem)| format!("{field}: {}", flat(problem))),
        );
    }
    parts.extend(
        answer["errorMessages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(flat),
    );
    // Printed to a terminal: no control character of the server's may reach it.
    let text: String = parts
        .join("; ")
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    if text.is_empty() {
        "(no message)".to_string()
    } else {
        text
    }
}

fn flat(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(flat).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::said;

    #[test]
    fn each_source_explains_itself_in_one_line() {
        let github = json!({"message": "Validation Failed", "errors": [{"resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"}], "documentation_url": "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook"});
        assert_eq!(
            said(&github),
            "Validation Failed; Hook already exists on this repository"
        );
        let gitlab =
            json!({"message": {"url": ["is blocked: Requests to localhost are not allowed"]}});
        assert_eq!(
            said(&gitlab),
            "url is blocked: Requests to localhost are not allowed"
        );
        let jira = json!({"errorMessages": ["You are not authorized to perform this action."], "errors": {}});
        assert_eq!(
            said(&jira),
            "You are not authorized to perform this action."
        );
        assert_eq!(said(&json!(null)), "(no message)");
        assert_eq!(
            said(&json!({"message": "Bad\u{1b}[2J credentials\n"})),
            "Bad[2J credentials"
        );
    }
}
