//! What every body must be, whatever the input: JSON that reads back, within the
//! service's budget, and, where the text came from a payload, no live mention.

use hookbridge::target::Kind;
use serde_json::Value;

/// Mentions the services that read markdown content would act on.
const MENTIONS: [&str; 4] = ["@everyone", "@here", "@channel", "@all"];

pub fn check_body(kind: Kind, body: &Value, from_payload: bool) {
    let text = body.to_string();
    let back: Value = serde_json::from_str(&text).expect("a body is JSON that reads back");
    assert_eq!(&back, body);
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    match kind {
        Kind::Chime => assert!(text.len() <= 4096, "chime body of {} bytes", text.len()),
        Kind::Discord => assert!(chars(&body["content"]) <= 2000),
        Kind::Slack => assert!(chars(&body["text"]) <= 40_000),
        Kind::Mattermost => assert!(chars(&body["text"]) <= 16_383),
        _ => {}
    }
    let content = match kind {
        Kind::Chime => body["Content"].as_str(),
        Kind::Discord => body["content"].as_str(),
        Kind::Mattermost => body["text"].as_str(),
        _ => None,
    };
    if let (true, Some(content)) = (from_payload, content) {
        let lower = content.to_lowercase();
        for mention in MENTIONS {
            assert!(!lower.contains(mention), "{kind}: {mention} in {content:?}");
        }
    }
}
