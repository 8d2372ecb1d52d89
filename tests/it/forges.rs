//! Stand-ins for the webhook APIs of GitHub, GitLab and Jira on loopback: each keeps
//! its hooks, records every request, checks credentials, and answers as the real API
//! does, errors included (GitHub's `Bad credentials` and `Hook already exists on this
//! repository`, GitLab's `401 Unauthorized` and `404 Project Not Found`). Asked for a
//! test delivery, it sends one, signed with the hook's secret, to the hook's URL.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    Github,
    Gitlab,
    Jira,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct Hook {
    pub id: u64,
    pub url: String,
    pub secret: String,
    pub body: Value,
}

struct State {
    forge: Forge,
    calls: Mutex<Vec<Call>>,
    hooks: Mutex<Vec<Hook>>,
}

#[derive(Clone)]
pub struct ForgeApi {
    pub addr: SocketAddr,
    state: Arc<State>,
}

/// The credentials each stand-in takes.
pub const GOOD_TOKEN: &str = "tok_the-good-one";
pub const JIRA_USER: &str = "ana@example.com";

impl ForgeApi {
    pub async fn start(forge: Forge) -> Self {
        let state = Arc::new(State {
            forge,
            calls: Mutex::default(),
            hooks: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("loopback port");
        let addr = listener.local_addr().expect("bound");
        let shared = Arc::clone(&state);
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = Arc::clone(&shared);
                async move { answer(&state, method, uri, headers, body).await }
            },
        );
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("stand-in serves");
        });
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.state.hooks.lock().unwrap().clone()
    }
}

fn reply(status: StatusCode, body: Value) -> Response {
    if body.is_null() {
        return status.into_response();
    }
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn authorized(forge: Forge, headers: &HeaderMap) -> bool {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    match forge {
        Forge::Github => header("authorization") == format!("Bearer {GOOD_TOKEN}"),
        Forge::Gitlab => header("private-token") == GOOD_TOKEN,
        Forge::Jira => {
            use base64::Engine as _;
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{JIRA_USER}:{GOOD_TOKEN}"));
            header("authorization") == format!("Basic {basic}")
        }
    }
}

/// The refusal of a request without good credentials, as each API words it.
fn unauthorized(forge: Forge) -> Response {
    match forge {
        Forge::Github => reply(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
        ),
        Forge::Gitlab => reply(
            StatusCode::UNAUTHORIZED,
            json!({"message": "401 Unauthorized"}),
        ),
        // Jira answers a bad token with an empty 401.
        Forge::Jira => StatusCode::UNAUTHORIZED.into_response(),
    }
}

async fn answer(
    state: &State,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.calls.lock().unwrap().push(Call {
        method: method.to_string(),
        path: uri.to_string(),
        headers: headers.clone(),
        body: body.clone(),
    });
    if !authorized(state.forge, &headers) {
        return unauthorized(state.forge);
    }
    let path = uri.path();
    let Some(rest) = collection(state.forge, path) else {
        return not_found(state.forge);
    };
    let id = rest
        .trim_start_matches('/')
        .split('/')
        .next()
        .and_then(|s| s.parse::<u64>().ok());
    match (
        method.as_str(),
        id,
        rest.ends_with("/pings") || rest.contains("/test/"),
    ) {
        ("GET", None, _) => reply(StatusCode::OK, Value::Array(listed(state))),
        ("POST", None, _) => create(state, body),
        ("POST", Some(id), true) => test_delivery(state, id).await,
        ("PATCH" | "PUT", Some(id), false) => update(state, id, body),
        ("DELETE", Some(id), false) => {
            state.hooks.lock().unwrap().retain(|h| h.id != id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => not_found(state.forge),
    }
}

/// The part of `path` after the hooks collection, when it is one this forge serves:
/// the repository `o/r` and the project `7` exist; `o/missing` and `404` do not.
fn collection(forge: Forge, path: &str) -> Option<&str> {
    let prefix = match forge {
        Forge::Github => "/repos/o/r/hooks",
        Forge::Gitlab => "/api/v4/projects/group%2Fproject/hooks",
        Forge::Jira => "/rest/webhooks/1.0/webhook",
    };
    path.strip_prefix(prefix)
}

fn not_found(forge: Forge) -> Response {
    match forge {
        Forge::Github => reply(
            StatusCode::NOT_FOUND,
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/webhooks#list-repository-webhooks", "status": "404"}),
        ),
        Forge::Gitlab => reply(
            StatusCode::NOT_FOUND,
            json!({"message": "404 Project Not Found"}),
        ),
        Forge::Jira => reply(
            StatusCode::NOT_FOUND,
            json!({"errorMessages": ["Webhook not found"], "errors": {}}),
        ),
    }
}

fn url_and_secret(forge: Forge, body: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    match forge {
        Forge::Github => (
            text(&body["config"]["url"]),
            text(&body["config"]["secret"]),
        ),
        Forge::Gitlab => (text(&body["url"]), text(&body["token"])),
        Forge::Jira => (text(&body["url"]), text(&body["secret"])),
    }
}

/// A hook as the API lists and returns it.
fn shown(forge: Forge, hook: &Hook) -> Value {
    match forge {
        Forge::Github => json!({"type": "Repository", "id": hook.id, "name": "web", "active": true,
            "events": hook.body["events"], "config": {"url": hook.url, "content_type": "json", "insecure_ssl": "0", "secret": "********"}}),
        Forge::Gitlab => {
            json!({"id": hook.id, "url": hook.url, "push_events": hook.body["push_events"]})
        }
        Forge::Jira => {
            json!({"name": hook.body["name"], "url": hook.url, "events": hook.body["events"],
            "self": format!("https://x.atlassian.net/rest/webhooks/1.0/webhook/{}", hook.id), "enabled": true})
        }
    }
}

fn listed(state: &State) -> Vec<Value> {
    let hooks = state.hooks.lock().unwrap();
    hooks.iter().map(|h| shown(state.forge, h)).collect()
}

fn create(state: &State, body: Value) -> Response {
    let (url, secret) = url_and_secret(state.forge, &body);
    let mut hooks = state.hooks.lock().unwrap();
    if state.forge == Forge::Github && hooks.iter().any(|h| h.url == url) {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Validation Failed", "errors": [{"resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"}],
                "documentation_url": "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook", "status": "422"}),
        );
    }
    let hook = Hook {
        id: 100 + hooks.len() as u64,
        url,
        secret,
        body,
    };
    let shown = shown(state.forge, &hook);
    hooks.push(hook);
    reply(StatusCode::CREATED, shown)
}

fn update(state: &State, id: u64, body: Value) -> Response {
    let (url, secret) = url_and_secret(state.forge, &body);
    let mut hooks = state.hooks.lock().unwrap();
    let Some(hook) = hooks.iter_mut().find(|h| h.id == id) else {
        return not_found(state.forge);
    };
    *hook = Hook {
        id,
        url,
        secret,
        body,
    };
    reply(StatusCode::OK, shown(state.forge, hook))
}

/// GitHub's ping and GitLab's test push, sent as the real ones are: signed with the
/// hook's secret (GitHub) or carrying it as the token (GitLab).
async fn test_delivery(state: &State, id: u64) -> Response {
    let Some(hook) = state
        .hooks
        .lock()
        .unwrap()
        .iter()
        .find(|h| h.id == id)
        .cloned()
    else {
        return not_found(state.forge);
    };
    let client = reqwest::Client::new();
    let request = match state.forge {
        Forge::Github => {
            let body = json!({"zen": "Keep it logically awesome.", "hook_id": id, "hook": {"id": id, "type": "Repository"}}).to_string();
            let mut mac = Hmac::<Sha256>::new_from_slice(hook.secret.as_bytes()).unwrap();
            mac.update(body.as_bytes());
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            client
                .post(&hook.url)
                .header("X-GitHub-Event", "ping")
                .header("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
                .header("X-Hub-Signature-256", signature)
                .header("Content-Type", "application/json")
                .body(body)
        }
        Forge::Gitlab => {
            let body = json!({"object_kind": "push", "event_name": "push", "ref": "refs/heads/main", "user_name": "Test User", "user_username": "test",
                "project": {"name": "project", "path_with_namespace": "group/project", "web_url": "https://gitlab.example/group/project"},
                "commits": [], "total_commits_count": 0}).to_string();
            client
                .post(&hook.url)
                .header("X-Gitlab-Event", "Push Hook")
                .header("X-Gitlab-Token", &hook.secret)
                .header("Content-Type", "application/json")
                .body(body)
        }
        Forge::Jira => return not_found(state.forge),
    };
    // The real APIs answer once the delivery is made, whatever the receiver said.
    let _ = request.send().await;
    match state.forge {
        Forge::Github => StatusCode::NO_CONTENT.into_response(),
        _ => reply(StatusCode::CREATED, json!({"message": "201 Created"})),
    }
}
