//! What each chat service's incoming webhook accepts, for stand-ins that refuse the
//! rest as the real service would: another path is 404, another method 405, a body
//! that is not JSON 415 (Slack and friends say 400; the code matters less than that
//! it fails), and a JSON body of the wrong shape 400 with what is wrong.

use serde_json::Value;

use crate::standin::Received;

/// The request one service takes at its webhook URL.
#[derive(Debug, Clone)]
pub struct Contract {
    pub kind: String,
    /// The webhook URL's path, as the service hands it out.
    pub path: &'static str,
    /// Query parameters the URL carries that must arrive, with their values.
    pub query: &'static [(&'static str, &'static str)],
    /// `None`: any method (an `http` target's rule picks its own).
    pub method: Option<&'static str>,
    shape: Shape,
}

/// Whether a JSON body has the fields the service needs; else why not.
type Shape = fn(&Value) -> Result<(), String>;

impl Contract {
    /// The service named by a target `kind`, at a URL shaped like the real one's.
    pub fn of(kind: &str) -> Contract {
        let (path, query, shape): (_, &'static [_], Shape) = match kind {
            "chime" => (
                "/incomingwebhooks/0f6f6a3a",
                &[("format", "Complex"), ("token", "chime-token")],
                chime,
            ),
            "ringcentral" => ("/webhook/v2/abc", &[], ringcentral),
            "ringcentral-legacy" => ("/webhook/legacy", &[], ringcentral_legacy),
            "slack" => ("/services/T000/B000/XXXX", &[], slack),
            "teams" => (
                "/workflows/abc/triggers/manual/paths/invoke",
                &[("sig", "s")],
                teams,
            ),
            "google-chat" => (
                "/v1/spaces/AAAA/messages",
                &[("key", "k"), ("token", "t")],
                google_chat,
            ),
            "discord" => ("/api/webhooks/123/tok", &[], discord),
            "mattermost" => ("/hooks/xyz", &[], mattermost),
            "http" => ("/incidents", &[], |_| Ok(())),
            other => panic!("no contract for kind `{other}`"),
        };
        Contract {
            kind: kind.to_string(),
            path,
            query,
            method: (kind != "http").then_some("POST"),
            shape,
        }
    }

    /// The path and query to configure as the target's URL.
    pub fn url_path(&self) -> String {
        let query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        match query.is_empty() {
            true => self.path.to_string(),
            false => format!("{}?{}", self.path, query.join("&")),
        }
    }

    /// `None` when the service would take the request; else its status and why not.
    pub fn refuses(&self, request: &Received) -> Option<(u16, String)> {
        if request.path != self.path {
            return Some((404, format!("no webhook at {}", request.path)));
        }
        if let Some(method) = self.method.filter(|m| *m != request.method) {
            return Some((405, format!("{} takes {method}", self.kind)));
        }
        let query: Vec<(String, String)> =
            form_urlencoded::parse(request.query.as_deref().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        for (name, value) in self.query {
            if !query.iter().any(|(k, v)| k == name && v == value) {
                return Some((403, format!("query parameter `{name}={value}` missing")));
            }
        }
        let json_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        if !json_type {
            return Some((415, "the body must be application/json".into()));
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(err) => return Some((400, format!("the body is not JSON: {err}"))),
        };
        (self.shape)(&body).err().map(|why| (400, why))
    }
}

fn text_of(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_string)
}

fn non_empty_list(body: &Value, field: &str) -> bool {
    body.get(field)
        .and_then(Value::as_array)
        .is_some_and(|items| !items.is_empty())
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

fn chime(body: &Value) -> Result<(), String> {
    let content = text_of(body, "Content").ok_or("Chime needs a `Content` string")?;
    if body.to_string().len() > 4096 {
        return Err("Chime takes at most 4 KB".into());
    }
    if content.trim().is_empty() {
        return Err("`Content` is empty".into());
    }
    Ok(())
}

fn adaptive_card(card: &Value) -> Result<(), String> {
    if card["type"] != "AdaptiveCard" || !card["version"].is_string() {
        return Err(format!("not an AdaptiveCard with a version: {card}"));
    }
    Ok(())
}

fn ringcentral(body: &Value) -> Result<(), String> {
    if let Some(cards) = body.get("attachments").and_then(Value::as_array) {
        return cards.iter().try_for_each(adaptive_card);
    }
    match text_of(body, "text") {
        Some(text) if chars(&text) <= 10_000 && !text.is_empty() => Ok(()),
        _ => Err("RingCentral needs `text` (up to 10,000 characters) or `attachments`".into()),
    }
}

fn ringcentral_legacy(body: &Value) -> Result<(), String> {
    if text_of(body, "body").is_some() || non_empty_list(body, "attachments") {
        return Ok(());
    }
    Err("a v1 RingCentral message needs `body` or `attachments`".into())
}

fn slack(body: &Value) -> Result<(), String> {
    let text = text_of(body, "text").unwrap_or_default();
    if text.is_empty() && !non_empty_list(body, "blocks") {
        return Err("no_text".into());
    }
    let blocks = body.get("blocks").and_then(Value::as_array);
    if blocks.is_some_and(|b| b.len() > 50) || chars(&text) > 40_000 {
        return Err("invalid_blocks".into());
    }
    Ok(())
}

fn teams(body: &Value) -> Result<(), String> {
    if body["type"] != "message" {
        return Err("a Workflows webhook takes `\"type\": \"message\"`".into());
    }
    let card = &body["attachments"][0];
    if card["contentType"] != "application/vnd.microsoft.card.adaptive" {
        return Err("the attachment must be an Adaptive Card".into());
    }
    adaptive_card(&card["content"])
}

fn google_chat(body: &Value) -> Result<(), String> {
    if text_of(body, "text").is_some() || non_empty_list(body, "cardsV2") {
        return Ok(());
    }
    Err("Message must contain `text` or `cardsV2`".into())
}

fn discord(body: &Value) -> Result<(), String> {
    let content = text_of(body, "content").unwrap_or_default();
    let embeds = body.get("embeds").and_then(Value::as_array);
    if content.is_empty() && embeds.is_none_or(Vec::is_empty) {
        return Err("Cannot send an empty message".into());
    }
    if chars(&content) > 2000 || embeds.is_some_and(|e| e.len() > 10) {
        return Err("content over 2000 characters or more than 10 embeds".into());
    }
    Ok(())
}

fn mattermost(body: &Value) -> Result<(), String> {
    if text_of(body, "text").is_some() || non_empty_list(body, "attachments") {
        return Ok(());
    }
    Err("Unable to parse incoming data: no text or attachments".into())
}
