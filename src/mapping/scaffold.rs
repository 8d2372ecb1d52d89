//! A starter mapping for a source hookbridge ships none for, read off one real
//! payload: a rule keyed on the event it names (a `*-Event` header or a type-like
//! field), `let:` paths to the scalars a room cares about, a text using them, and a
//! test case for that payload. Pure: the command reads the files and writes the text.

use std::fmt::Write as _;

use serde_json::Value;

use super::compile::title_case;

/// Where sources put the event's name, most specific first.
const EVENT_FIELDS: &[&str] = &[
    "webhookEvent",
    "event_type",
    "eventType",
    "object_kind",
    "event",
    "type",
    "action",
    "status",
];
/// Keys worth a variable, by what people want in a room, best first.
const WANTED: &[&str] = &[
    "title",
    "summary",
    "subject",
    "name",
    "key",
    "number",
    "id",
    "state",
    "status",
    "action",
    "level",
    "severity",
    "priority",
    "url",
    "html_url",
    "web_url",
    "permalink",
    "link",
    "href",
    "login",
    "username",
    "display_name",
    "full_name",
    "ref",
    "branch",
    "message",
    "culprit",
    "environment",
    "project",
];
/// Variables a scaffold offers: enough to choose from, few enough to read.
const MAX_VARIABLES: usize = 12;
/// How deep into the payload it looks.
const MAX_DEPTH: usize = 4;
/// Longer strings are bodies and descriptions: not for a one-line summary.
const MAX_VALUE_LEN: usize = 200;

/// What the scaffold is made from.
pub struct Sample<'a> {
    pub payload: &'a Value,
    pub headers: &'a [(String, String)],
    /// The `source:` name, e.g. `sentry`.
    pub source: &'a str,
    /// The payload's path as the test case must name it.
    pub payload_path: &'a str,
}

/// The event a rule keys on.
enum Key {
    Header { name: String, value: String },
    Field { path: String, value: String },
}

impl Key {
    fn value(&self) -> &str {
        match self {
            Key::Header { value, .. } | Key::Field { value, .. } => value,
        }
    }
}

struct Variable {
    name: String,
    keys: Vec<String>,
    path: String,
    key: String,
    value: String,
}

pub fn scaffold(sample: &Sample) -> String {
    let key = event_key(sample);
    let variables = variables(sample.payload);
    let rule = rule_name(key.as_ref().map_or("event", Key::value));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# A starter mapping made by `hookbridge scaffold` from {}.\n\
         # Keep the variables a room needs, write the text, add a rule per event, then\n\
         # `hookbridge test THIS_FILE`.\n\
         source: {}\nactivity: {}\n\nrules:\n  - name: {rule}",
        comment(sample.payload_path),
        quoted(&rule_name(sample.source)),
        quoted(&title_case(&rule_name(sample.source))),
    );
    match &key {
        Some(Key::Header { name, value }) => {
            let _ = writeln!(
                out,
                "    when:\n      - {{header: {}, equals: {}}}",
                quoted(name),
                quoted(value)
            );
        }
        Some(Key::Field { path, value }) => {
            let _ = writeln!(
                out,
                "    when:\n      - {{path: {}, equals: {}}}",
                quoted(path),
                quoted(value)
            );
        }
        None => {}
    }
    if !variables.is_empty() {
        out.push_str("    let:\n");
        for v in &variables {
            let _ = writeln!(
                out,
                "      {}: {}   # {}",
                v.name,
                quoted(&v.path),
                comment(&v.value)
            );
        }
    }
    out.push_str(&templates(sample, &key, &variables));
    let _ = writeln!(
        out,
        "\ntests:\n  - name: the payload it was made from\n    payload: {}",
        quoted(sample.payload_path)
    );
    if let Some(Key::Header { name, value }) = &key {
        let _ = writeln!(out, "    headers: [[{}, {}]]", quoted(name), quoted(value));
    }
    let _ = writeln!(out, "    expect:\n      rule: {rule}");
    out
}

fn event_key(sample: &Sample) -> Option<Key> {
    let header = sample.headers.iter().find(|(name, value)| {
        let name = name.to_ascii_lowercase();
        !value.trim().is_empty()
            && (name.ends_with("-event")
                || name.ends_with("-event-key")
                || name.ends_with("-hook-resource"))
    });
    if let Some((name, value)) = header {
        return Some(Key::Header {
            name: name.clone(),
            value: value.trim().to_string(),
        });
    }
    EVENT_FIELDS.iter().find_map(|field| {
        let value = sample.payload.get(field)?.as_str()?;
        Some(Key::Field {
            path: path_to(&[field]),
            value: value.to_string(),
        })
    })
}

/// The wanted scalars, best first: by how wanted their key is, then how shallow.
fn variables(payload: &Value) -> Vec<Variable> {
    let mut found = Vec::new();
    collect(payload, &mut Vec::new(), &mut found);
    found.sort_by_key(|(rank, depth, _)| (*rank, *depth));
    let mut variables: Vec<Variable> = Vec::new();
    let mut links = 0;
    for (_, _, (keys, value)) in found {
        if keys.last().is_some_and(|k| is_link(k)) && value.starts_with("http") {
            links += 1;
            if links > 2 {
                continue;
            }
        }
        let name = variable_name(&keys, &variables);
        let key = keys
            .last()
            .map(|k| k.to_ascii_lowercase())
            .unwrap_or_default();
        let path = path_to(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        variables.push(Variable {
            name,
            keys,
            path,
            key,
            value,
        });
        if variables.len() == MAX_VARIABLES {
            break;
        }
    }
    variables
}

type Found = (usize, usize, (Vec<String>, String));

fn collect(value: &Value, keys: &mut Vec<String>, found: &mut Vec<Found>) {
    let Value::Object(map) = value else { return };
    for (key, child) in map {
        keys.push(key.clone());
        let text = match child {
            Value::Object(_) if keys.len() < MAX_DEPTH => {
                collect(child, keys, found);
                None
            }
            Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_VALUE_LEN => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let wanted = WANTED.iter().position(|w| {
            key.eq_ignore_ascii_case(w) || key.to_ascii_lowercase().ends_with(&format!("_{w}"))
        });
        if let (Some(text), Some(rank)) = (text, wanted) {
            match link_kind(keys, &text) {
                // A page people open is worth more than anything but a title.
                Some(true) => found.push((1, keys.len(), (keys.clone(), text))),
                // API addresses and pictures are not worth a variable.
                Some(false) => {}
                None => found.push((rank, keys.len(), (keys.clone(), text))),
            }
        }
        keys.pop();
    }
}

/// For a link: whether people open it (a page), or programs (an API, a picture).
fn link_kind(keys: &[String], text: &str) -> Option<bool> {
    let key = keys.last()?;
    if !is_link(key) || !text.starts_with("http") {
        return None;
    }
    let host = text.split('/').nth(2).unwrap_or_default();
    let for_programs = keys
        .iter()
        .any(|k| k == "self" || k.to_ascii_lowercase().contains("avatar"))
        || host.starts_with("api.")
        || text.contains("/api/")
        || text.contains("/repos/")
        || [".git", ".diff", ".patch"]
            .iter()
            .any(|end| text.ends_with(end));
    Some(!for_programs)
}

/// How surely a link key names the page itself: `html_url` before `url`.
fn page_key(key: &str) -> usize {
    const PAGES: [&str; 4] = ["html_url", "web_url", "permalink", "url"];
    PAGES
        .iter()
        .position(|page| key == *page)
        .map_or(0, |at| PAGES.len() - at)
}

/// The key, or `parent_key` when another variable has that name already.
fn variable_name(keys: &[String], taken: &[Variable]) -> String {
    let snake = |k: &str| -> String {
        let mut out = String::new();
        for (i, c) in k.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            });
        }
        out
    };
    let is_taken = |name: &str| taken.iter().any(|v| v.name == name);
    let mut name = String::new();
    for key in keys.iter().rev() {
        name = if name.is_empty() {
            snake(key)
        } else {
            format!("{}_{name}", snake(key))
        };
        if !is_taken(&name) && !name.starts_with(|c: char| c.is_ascii_digit()) {
            return name;
        }
    }
    format!("v{}_{name}", taken.len())
}

/// `$.a.b`, or `$['a b']` for a key that is not a plain word.
fn path_to(keys: &[&str]) -> String {
    let mut path = String::from("$");
    for key in keys {
        let plain = key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit());
        if plain {
            let _ = write!(path, ".{key}");
        } else {
            let _ = write!(
                path,
                "['{}']",
                key.replace('\\', "\\\\").replace('\'', "\\'")
            );
        }
    }
    path
}

/// A title and a text from the first variables that read as a title and a link.
fn templates(sample: &Sample, key: &Option<Key>, variables: &[Variable]) -> String {
    let by_key = |keys: &[&str]| {
        variables.iter().find(|v| {
            keys.iter()
                .any(|k| v.key == *k || v.key.ends_with(&format!("_{k}")))
        })
    };
    let heading = by_key(&[
        "title", "summary", "subject", "name", "message", "key", "id",
    ]);
    // The link nearest the heading in the payload: the pull request's own page, not
    // its author's.
    let shared = |v: &Variable| {
        heading.map_or(0, |h| {
            h.keys
                .iter()
                .zip(&v.keys)
                .take_while(|(a, b)| a == b)
                .count()
        })
    };
    let link = variables
        .iter()
        .filter(|v| is_link(&v.key) && v.value.starts_with("http"))
        .max_by_key(|v| (shared(v), page_key(&v.key), std::cmp::Reverse(v.keys.len())));
    // Only words go into the templates: a payload's or a user's text could hold `{{`
    // or markdown.
    let event = key
        .as_ref()
        .map_or(String::new(), |k| format!(" {}", rule_name(k.value())));
    let label = title_case(&rule_name(sample.source));
    let title = match heading {
        Some(h) => format!("{label}{event}: {{{{{}}}}}", h.name),
        None => format!("{label}{event}"),
    };
    let mut text = format!("**{}**", title.replace("**", ""));
    if let (Some(h), Some(l)) = (heading, link) {
        text = format!(
            "**{label}{event}**: [{{{{{}}}}}]({{{{href {}}}}})",
            h.name, l.name
        );
    }
    let details: Vec<String> = variables
        .iter()
        .filter(|v| Some(v.name.as_str()) != heading.map(|h| h.name.as_str()))
        .filter(|v| Some(v.name.as_str()) != link.map(|l| l.name.as_str()))
        .take(4)
        .map(|v| format!("{{{{#if {0}}}}}{0}: {{{{{0}}}}}{{{{/if}}}}", v.name))
        .collect();
    let mut out = format!("    title: {}\n    text: |\n      {text}\n", quoted(&title));
    for line in details {
        let _ = writeln!(out, "      {line}");
    }
    out
}

fn is_link(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("url") || key.ends_with("link") || key == "permalink" || key == "href"
}

/// A rule name from an event: `pullrequest:created` -> `pullrequest-created`.
fn rule_name(event: &str) -> String {
    let words: Vec<String> = event
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.is_empty() {
        "event".into()
    } else {
        words.join("-")
    }
}

/// A YAML double-quoted string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A sample value as a one-line comment.
fn comment(value: &str) -> String {
    let line: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match line.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn made(payload: Value, headers: &[(&str, &str)]) -> String {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect();
        scaffold(&Sample {
            payload: &payload,
            headers: &headers,
            source: "acme",
            payload_path: "acme.json",
        })
    }

    #[test]
    fn an_event_header_is_the_rule_key_and_the_test_sends_it() {
        let text = made(
            json!({"pr": {"title": "Fix it", "links": {"html": {"href": "https://x.test/1"}}}}),
            &[("X-Event-Key", "pullrequest:created")],
        );
        assert!(text.contains("  - name: pullrequest-created\n    when:\n      - {header: \"X-Event-Key\", equals: \"pullrequest:created\"}"), "{text}");
        assert!(text.contains("      title: \"$.pr.title\""), "{text}");
        assert!(text.contains("[{{title}}]({{href href}})"), "{text}");
        assert!(text.contains("    headers: [[\"X-Event-Key\", \"pullrequest:created\"]]\n    expect:\n      rule: pullrequest-created"), "{text}");
    }

    #[test]
    fn without_a_header_a_type_field_keys_the_rule_and_odd_keys_are_quoted() {
        let text = made(
            json!({"event_type": "build.done", "build": {"id": 7, "the state": "ok"}, "status": "x"}),
            &[],
        );
        assert!(
            text.contains("{path: \"$.event_type\", equals: \"build.done\"}"),
            "{text}"
        );
        assert!(text.contains("id: \"$.build.id\""), "{text}");
        assert!(!text.contains("the state"), "only wanted keys: {text}");
    }

    #[test]
    fn same_keys_get_their_parents_names() {
        let text = made(
            json!({"issue": {"title": "a"}, "project": {"title": "b"}}),
            &[],
        );
        assert!(text.contains("      title: \"$.issue.title\""), "{text}");
        assert!(
            text.contains("      project_title: \"$.project.title\""),
            "{text}"
        );
        assert_eq!(path_to(&["a b", "it's", "x1"]), "$['a b']['it\\'s'].x1");
    }

    /// A hostile event name and source reach the mapping only as quoted YAML and as
    /// plain words in its templates: the result loads, and renders no template or
    /// markdown from them.
    #[test]
    fn hostile_names_stay_out_of_the_templates_and_the_result_loads() {
        let dir = tempfile::tempdir().unwrap();
        let payload = json!({"type": "{{#each x}} **@here** \"\n#", "title": "{{t}}"});
        let file = dir.path().join("p.json");
        std::fs::write(&file, payload.to_string()).unwrap();
        let text = scaffold(&Sample {
            payload: &payload,
            headers: &[],
            source: "a*b{{c}}",
            payload_path: &file.display().to_string(),
        });
        let mapping = super::super::Mapping::from_source(&dir.path().join("m.yaml"), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let rendered = mapping
            .apply(&super::super::Event::new(&payload, &[]))
            .expect("renders");
        let super::super::Outcome::Message(message) = rendered else {
            panic!("no match: {text}")
        };
        assert_eq!(message.title, "A-b-c each-x-here: {{t}}", "{text}");
        assert!(
            !message.text.contains("@here") || message.text.contains("each-x-here"),
            "{}",
            message.text
        );
    }
}
