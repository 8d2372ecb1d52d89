//! Every fixture of every shipped mapping, shaped for every target kind: kept as golden
//! files, each body checked against the service's limits and, for cards, the official
//! Adaptive Card schema.

use std::path::Path;

use hookbridge::mapping::cases::{read_payload, read_sidecar_headers};
use hookbridge::mapping::{Event, Mapping, Outcome};
use hookbridge::target::{self, Kind};
use serde_json::Value;

use crate::support::{assert_golden, path};

const SOURCES: [&str; 12] = [
    "jira",
    "github",
    "gitlab",
    "chatwoot",
    "alertmanager",
    "bitbucket",
    "sentry",
    "grafana",
    "gitea",
    "azure-devops",
    "pagerduty",
    "generic",
];

fn fixtures(source: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(path(&format!("fixtures/{source}")))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn outcome(mapping: &Mapping, file: &Path) -> Outcome {
    let payload = read_payload(file).expect("fixture parses");
    let headers = read_sidecar_headers(file).expect("headers parse");
    mapping
        .apply(&Event::new(&payload, &headers))
        .expect("renders")
}

fn schema(file: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(path(file)).expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn golden_bodies_for_every_fixture_and_kind() {
    let schemas = Schemas::load();
    for source in SOURCES {
        let (mapping, _) =
            Mapping::load(&path(&format!("mappings/{source}.yaml"))).expect("mapping loads");
        let files = fixtures(source);
        for kind in Kind::ALL {
            let mut golden = String::new();
            for file in &files {
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                golden.push_str(&format!("## {name}\n"));
                let message = match outcome(&mapping, file) {
                    Outcome::Message(m) => m,
                    Outcome::Dropped { rule } => {
                        golden.push_str(&format!("(dropped by rule {rule})\n"));
                        continue;
                    }
                    Outcome::NoMatch => {
                        golden.push_str("(no rule matched)\n");
                        continue;
                    }
                };
                for body in target::build(kind, &message, &target::Options::default()) {
                    check_limits(kind, &body, &schemas, &name);
                    assert!(
                        !body.to_string().contains("null"),
                        "{name}: a {kind} body says null: {body}"
                    );
                    golden.push_str(&body.to_string());
                    golden.push('\n');
                }
            }
            assert_golden(
                &path(&format!("tests/it/golden/{source}.{kind}.jsonl")),
                &golden,
            );
        }
    }
}

/// Jira wiki markup and PR-template comments never reach a room as they were written.
#[test]
fn no_source_markup_reaches_a_room() {
    const RESIDUE: [&str; 9] = [
        "{noformat}",
        "{code",
        "{quote}",
        "{panel",
        "{color",
        "[~accountid:",
        "|thumbnail!",
        "<!--",
        "h2. ",
    ];
    for source in [
        "jira",
        "github",
        "gitlab",
        "gitea",
        "bitbucket",
        "azure-devops",
    ] {
        let (mapping, _) =
            Mapping::load(&path(&format!("mappings/{source}.yaml"))).expect("mapping loads");
        for file in fixtures(source) {
            let Outcome::Message(message) = outcome(&mapping, &file) else {
                continue;
            };
            for kind in Kind::ALL {
                for body in target::build(kind, &message, &target::Options::default()) {
                    let body = body.to_string();
                    for residue in RESIDUE {
                        assert!(
                            !body.contains(residue),
                            "{}: {kind} body holds `{residue}`: {body}",
                            file.display()
                        );
                    }
                }
            }
        }
    }
}

/// Every payload fixture says where it came from, and whether it is a capture.
#[test]
fn every_fixture_has_its_source_recorded() {
    let recorded = std::fs::read_to_string(path("fixtures/SOURCES.md")).expect("SOURCES.md");
    let mut folders: Vec<_> = std::fs::read_dir(path("fixtures"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && !p.ends_with("signatures") && !p.ends_with("schemas"))
        .collect();
    folders.sort();
    assert!(folders.len() >= SOURCES.len(), "{folders:?}");
    for folder in folders {
        let dir = folder.file_name().unwrap_or_default().to_string_lossy();
        for file in fixtures(&dir) {
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            let row = format!("| {dir}/{name} |");
            assert!(
                recorded.contains(&row),
                "fixtures/SOURCES.md has no row {row}"
            );
        }
    }
}

/// The fallback mapping gives a readable message for every fixture of every source:
/// never a drop or a miss, never `null` or JSON text, within every kind's limits.
#[test]
fn generic_reads_every_fixture_of_every_source() {
    let schemas = Schemas::load();
    let (mapping, _) = Mapping::load(&path("mappings/generic.yaml")).expect("generic loads");
    let mut read = 0;
    for source in SOURCES {
        for file in fixtures(source) {
            let name = file.display().to_string();
            let Outcome::Message(message) = outcome(&mapping, &file) else {
                panic!("{name}: generic.yaml sent nothing")
            };
            let text = &message.text;
            assert!(
                text.trim().chars().count() >= 12,
                "{name}: too little: {text}"
            );
            // JSON text, not braces: a payload's own `{{x}}` is shown as written.
            for residue in ["null", "{\"", "\":", "[{"] {
                assert!(!text.contains(residue), "{name}: `{residue}` in {text}");
            }
            for kind in Kind::ALL {
                for body in target::build(kind, &message, &target::Options::default()) {
                    check_limits(kind, &body, &schemas, &name);
                }
            }
            read += 1;
        }
    }
    assert!(read > 300, "only {read} fixtures");
}

/// The official Adaptive Card schemas: RingCentral draws 1.3, Teams 1.5.
struct Schemas {
    v1_3: jsonschema::Validator,
    v1_5: jsonschema::Validator,
}

impl Schemas {
    fn load() -> Self {
        Self {
            v1_3: schema("fixtures/schemas/adaptive-card.1.3.0.schema.json"),
            v1_5: schema("fixtures/schemas/adaptive-card.1.5.0.schema.json"),
        }
    }
}

fn assert_valid(schema: &jsonschema::Validator, card: &Value, what: &str) {
    let errors: Vec<String> = schema
        .iter_errors(card)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}");
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

fn items(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn check_limits(kind: Kind, body: &Value, schemas: &Schemas, fixture: &str) {
    let bytes = body.to_string().len();
    match kind {
        Kind::Chime => {
            let size = body.to_string().len();
            assert!(size <= 4096, "{fixture}: chime body of {size} bytes");
            assert!(
                body["Content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("/md ")),
                "{fixture}"
            );
        }
        Kind::RingCentral => {
            if let Some(card) = body["attachments"].get(0) {
                assert_valid(&schemas.v1_3, card, fixture);
            }
        }
        Kind::Slack => {
            assert!(chars(&body["text"]) <= 40_000, "{fixture}");
            assert!(
                !body["text"].as_str().unwrap_or("").contains("<!"),
                "{fixture}: a mention"
            );
            let blocks = items(&body["blocks"]);
            assert!(blocks.len() <= 50, "{fixture}: {} blocks", blocks.len());
            for block in blocks {
                assert!(chars(&block["text"]["text"]) <= 3000, "{fixture}");
                assert!(items(&block["fields"]).len() <= 10, "{fixture}");
                for field in items(&block["fields"]) {
                    assert!(chars(&field["text"]) <= 2000, "{fixture}");
                }
            }
        }
        Kind::Teams => {
            assert!(bytes <= 28_672, "{fixture}: teams body of {bytes} bytes");
            assert_eq!(body["type"], "message", "{fixture}");
            let attachment = &body["attachments"][0];
            assert_eq!(
                attachment["contentType"], "application/vnd.microsoft.card.adaptive",
                "{fixture}"
            );
            assert_valid(&schemas.v1_5, &attachment["content"], fixture);
        }
        Kind::GoogleChat => {
            assert!(
                bytes <= 32_000,
                "{fixture}: google chat body of {bytes} bytes"
            );
            assert!(
                !body["text"].as_str().unwrap_or("").contains("<users/"),
                "{fixture}"
            );
            for card in items(&body["cardsV2"]) {
                let widgets = items(&card["card"]["sections"][0]["widgets"]);
                assert!(!widgets.is_empty() && widgets.len() <= 100, "{fixture}");
            }
        }
        Kind::Discord => {
            assert!(chars(&body["content"]) <= 2000, "{fixture}");
            for embed in items(&body["embeds"]) {
                let fields = items(&embed["fields"]);
                assert!(fields.len() <= 25, "{fixture}");
                assert!(chars(&embed["title"]) <= 256 && chars(&embed["description"]) <= 4096);
                let mut total = chars(&embed["title"]) + chars(&embed["description"]);
                for field in fields {
                    assert!((1..=256).contains(&chars(&field["name"])), "{fixture}");
                    assert!((1..=1024).contains(&chars(&field["value"])), "{fixture}");
                    total += chars(&field["name"]) + chars(&field["value"]);
                }
                assert!(total <= 6000, "{fixture}: embed of {total} characters");
            }
        }
        Kind::Mattermost => assert!(chars(&body["text"]) <= 16_383, "{fixture}"),
        Kind::Http => assert!(body.is_object(), "{fixture}"),
        Kind::RingCentralLegacy => {
            for card in body["attachments"].as_array().into_iter().flatten() {
                for field in card["fields"].as_array().into_iter().flatten() {
                    for key in ["title", "value"] {
                        assert!(
                            field[key].as_str().unwrap_or("").len() <= 300,
                            "{fixture}: field {key} over 300 bytes"
                        );
                    }
                }
                assert!(
                    card["text"].as_str().unwrap_or("").chars().count() <= 1000,
                    "{fixture}"
                );
            }
        }
        Kind::Preview => assert!(body["rule"].is_string(), "{fixture}"),
    }
}

/// Hostile text in a payload comes out as that same text for every kind: what a
/// reader sees (markdown rendered to plain text) equals what the source sent.
#[test]
fn hostile_values_show_as_sent_on_every_kind() {
    let (mapping, _) = Mapping::load(&path("mappings/jira.yaml")).expect("jira mapping");
    let file = path("fixtures/jira/issue_created.hostile-summary.json");
    let payload = read_payload(&file).expect("fixture");
    let summary = payload["issue"]["fields"]["summary"]
        .as_str()
        .expect("summary")
        .to_string();
    let Outcome::Message(message) = outcome(&mapping, &file) else {
        panic!("issue-created matches")
    };
    let first_line = summary.lines().next().expect("a line");
    let shown = |markdown: &str| hookbridge::markdown::to_plain(markdown);
    for kind in Kind::ALL {
        let bodies = target::build(kind, &message, &target::Options::default());
        let body = &bodies[0];
        let visible = match kind {
            Kind::Slack => decode_entities(body["text"].as_str().expect("text")),
            Kind::Teams => body["attachments"][0]["content"]["fallbackText"]
                .as_str()
                .expect("fallback")
                .to_string(),
            Kind::GoogleChat => body["fallbackText"].as_str().expect("fallback").to_string(),
            Kind::Discord => shown(body["embeds"][0]["description"].as_str().expect("embed")),
            Kind::Mattermost => shown(body["attachments"][0]["text"].as_str().expect("text")),
            Kind::Http => shown(body["text"].as_str().expect("text")),
            Kind::Chime => shown(
                body["Content"]
                    .as_str()
                    .expect("content")
                    .trim_start_matches("/md "),
            ),
            Kind::RingCentral => body["attachments"][0]["fallbackText"]
                .as_str()
                .expect("fallback")
                .to_string(),
            Kind::RingCentralLegacy => body["attachments"][0]["fallback"]
                .as_str()
                .expect("fallback")
                .to_string(),
            Kind::Preview => shown(body["text"].as_str().expect("text")),
        };
        // Zero-width spaces that break a payload's `](` are not seen.
        let visible = visible.replace('\u{200B}', "");
        assert!(
            visible.contains(first_line),
            "{kind}: {visible:?} lacks {first_line:?}"
        );
        let card_text = body.to_string();
        assert!(!card_text.contains("null"), "{kind}: {card_text}");
    }
}

/// What Slack shows for mrkdwn text without its marks: entities read back.
fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Fields the shipped mappings' `when` conditions read: kept as they are, so the rule
/// a fixture really matches is the one that meets the confused values.
const EVENT_FIELDS: [&str; 16] = [
    "webhookEvent",
    "field",
    "conclusion",
    "state",
    "build_status",
    "previous_value",
    "ref",
    "total_commits_count",
    "issue_event_type_name",
    "object_kind",
    "event_type",
    "event",
    "action",
    "message_type",
    "status",
    "ref_type",
];

/// Fields one mapping's conditions compare, kept for that mapping only so that other
/// sources' values (a GitHub `type`, an alert's name) still arrive confused.
fn also_kept(source: &str) -> &'static [&'static str] {
    match source {
        "bitbucket" => &["eventKey"],
        // The labels its test notification is known by; a saved rule's id.
        "grafana" => &["alertname", "instance", "summary", "ruleId"],
        // Dates that tell an edited comment; the zero id of a deleted branch.
        "azure-devops" => &[
            "eventType",
            "publishedDate",
            "lastUpdatedDate",
            "newObjectId",
        ],
        // A Gitea review's kind; a PagerDuty v1 message's kind.
        "gitea" | "pagerduty" => &["type"],
        _ => &[],
    }
}

/// Every other string of a real payload turned into `string(text)` and every number
/// into text: the shape a mapping never expected.
fn confused(value: &Value, string: &dyn Fn() -> Value, also_kept: &[&str]) -> Value {
    match value {
        Value::String(_) => string(),
        Value::Number(n) => Value::String(format!("{n}x")),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| confused(v, string, also_kept))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = k.as_str();
                    let kept = (EVENT_FIELDS.contains(&key) || also_kept.contains(&key))
                        && (v.is_string() || v.is_number());
                    let value = if kept {
                        v.clone()
                    } else {
                        confused(v, string, also_kept)
                    };
                    (k.clone(), value)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn rule_of(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Message(m) => Some(m.rule.clone()),
        Outcome::Dropped { rule } => Some(rule.clone()),
        Outcome::NoMatch => None,
    }
}

/// Every string a mapping could put in a message, URLs and branch names included, as an
/// attacker would write it.
const HOSTILE: &str = "@everyone @here @channel @All @Present <!channel> <!here> <users/all> ![:Team](1) fix)@everyone [x](javascript:alert(1))";

/// The mentions each service reads in what it is sent: none may come from payload text.
fn live_mentions(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Chime | Kind::Discord | Kind::Mattermost => {
            &["@everyone", "@here", "@channel", "@all", "@present"]
        }
        Kind::Slack => &["<!channel>", "<!here>", "<!everyone>"],
        Kind::GoogleChat => &["<users/all>"],
        Kind::RingCentral | Kind::RingCentralLegacy => &["![:team](", "![:person]("],
        // Teams pings only through a card's `msteams.entities`, which no body has; an
        // `<at>` in text is text. Http and preview are data for a program or a page.
        Kind::Teams | Kind::Http | Kind::Preview => &[],
    }
}

/// Every string a service reads as markup: a card's `fallbackText` (Adaptive Cards) or
/// `fallback` (RingCentral's v1 card) is plain text for notifications, where a
/// `[x](y)` is no link.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "fallbackText" | "fallback"))
            .for_each(|(_, v)| strings(v, out)),
        _ => {}
    }
}

fn slack_mrkdwn(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| slack_mrkdwn(v, out)),
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("mrkdwn") {
                out.extend(map.get("text").and_then(Value::as_str).map(str::to_string));
            }
            map.values().for_each(|v| slack_mrkdwn(v, out));
        }
        _ => {}
    }
}

/// A body built from hostile payload text pings no one and links nowhere but http(s).
fn assert_inert(kind: Kind, body: &Value, fixture: &str) {
    let mut all = Vec::new();
    strings(body, &mut all);
    // Google Chat and RingCentral read mentions in a message's own text only, Discord
    // in its content (an embed pings no one), Slack in its text and `mrkdwn` blocks;
    // card fields and `plain_text` are shown as they are.
    let read_for_mentions = match kind {
        Kind::Discord => body["content"]
            .as_str()
            .map(str::to_string)
            .into_iter()
            .collect(),
        Kind::GoogleChat | Kind::RingCentral | Kind::RingCentralLegacy => ["text", "title", "body"]
            .iter()
            .filter_map(|field| body[field].as_str().map(str::to_string))
            .collect(),
        Kind::Slack => {
            let mut mrkdwn = body["text"]
                .as_str()
                .map(str::to_string)
                .into_iter()
                .collect();
            slack_mrkdwn(body, &mut mrkdwn);
            mrkdwn
        }
        _ => all.clone(),
    };
    for text in &read_for_mentions {
        let lower = text.to_lowercase();
        for mention in live_mentions(kind) {
            assert!(
                !lower.contains(mention),
                "{fixture}: {kind} carries {mention}: {text}"
            );
        }
    }
    // Slack and Google Chat read links as `<url|label>` only; http and preview bodies
    // are data (their title is the mapping's plain text); the rest read markdown.
    let reads_markdown_links = !matches!(
        kind,
        Kind::Slack | Kind::GoogleChat | Kind::Http | Kind::Preview
    );
    for text in &all {
        let unescaped_link = reads_markdown_links
            && text
                .match_indices("](javascript:")
                .any(|(at, _)| !text[..at].ends_with('\\'));
        assert!(
            !unescaped_link && !text.contains("<javascript:") && !text.starts_with("javascript:"),
            "{fixture}: {kind} links to javascript: {text}"
        );
    }
}

/// Payloads of the wrong shape render (or match nothing) within every service's limits;
/// they never fail or panic. Hostile text in every string makes no live mention and no
/// link but http(s) on any kind.
#[test]
fn payloads_of_the_wrong_shape_still_render() {
    let schemas = Schemas::load();
    let odd = [
        Value::Null,
        serde_json::json!([]),
        serde_json::json!("text"),
        serde_json::json!({}),
    ];
    let as_list = || serde_json::json!(["\"}{{x}}\\ *a* <b>", null]);
    let as_markup = || serde_json::json!("\"}{{x}}\\ *a* <b> [x](y) {{{z}}}");
    let as_hostile = || serde_json::json!(HOSTILE);
    for source in SOURCES {
        let (mapping, _) =
            Mapping::load(&path(&format!("mappings/{source}.yaml"))).expect("mapping loads");
        let also_kept = also_kept(source);
        for file in fixtures(source) {
            let headers = read_sidecar_headers(&file).expect("headers parse");
            let real = read_payload(&file).expect("fixture parses");
            let real_rule = rule_of(&mapping.apply(&Event::new(&real, &headers)).unwrap());
            let shapes = [
                confused(&real, &as_list, also_kept),
                confused(&real, &as_markup, also_kept),
                confused(&real, &as_hostile, also_kept),
            ];
            for (n, payload) in shapes.iter().enumerate() {
                let outcome = render_within_limits(&mapping, payload, &headers, &schemas, &file);
                if let (2, Outcome::Message(message)) = (n, &outcome) {
                    for kind in Kind::ALL {
                        for body in target::build(kind, message, &target::Options::default()) {
                            assert_inert(kind, &body, &file.display().to_string());
                        }
                    }
                }
                // A body that is itself a string becomes another kind of body.
                if real.is_object() {
                    assert_eq!(
                        rule_of(&outcome),
                        real_rule,
                        "{} (shape {n}): the confused payload must meet the rule the real one does",
                        file.display()
                    );
                }
            }
            for payload in &odd {
                render_within_limits(&mapping, payload, &headers, &schemas, &file);
            }
        }
    }
}

fn render_within_limits(
    mapping: &Mapping,
    payload: &Value,
    headers: &[(String, String)],
    schemas: &Schemas,
    file: &Path,
) -> Outcome {
    let outcome = mapping.apply(&Event::new(payload, headers));
    let outcome = outcome.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    if let Outcome::Message(message) = &outcome {
        assert!(
            !message.text.contains("null"),
            "{}: {}",
            file.display(),
            message.text
        );
        for kind in Kind::ALL {
            for body in target::build(kind, message, &target::Options::default()) {
                check_limits(kind, &body, schemas, &file.display().to_string());
            }
        }
    }
    outcome
}
