//! Helpers over a Jira changelog (`$.changelog.items`): what changed, from what, to what.

use serde_json::{json, Map, Value};

use super::{is_empty, Args};
use crate::mapping::condition::scalar_text;

/// Fields Jira reports on nearly every update that no reader wants to see.
const NOISE: &[&str] = &[
    "Rank",
    "RemoteIssueLink",
    "WorklogId",
    "timeestimate",
    "timespent",
];

fn items<'a>(a: &'a Args) -> impl Iterator<Item = &'a Map<String, Value>> {
    a.param(0)
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn field_is(item: &Map<String, Value>, wanted: &str) -> bool {
    ["field", "fieldId"].iter().any(|k| {
        item.get(*k)
            .and_then(Value::as_str)
            .is_some_and(|f| f.eq_ignore_ascii_case(wanted))
    })
}

fn side(item: &Map<String, Value>, key: &str) -> String {
    let shown = item.get(&format!("{key}String")).filter(|v| !is_empty(v));
    let raw = item.get(key).filter(|v| !is_empty(v));
    shown
        .or(raw)
        .and_then(scalar_text)
        .map(|s| s.into_owned())
        .unwrap_or_default()
}

fn find<'a>(a: &'a Args) -> Option<&'a Map<String, Value>> {
    let field = a.text(1);
    items(a).find(|item| field_is(item, &field))
}

/// `changed changelog "status"`: true when that field changed.
pub fn changed(a: &Args) -> Value {
    Value::Bool(find(a).is_some())
}

pub fn change_from(a: &Args) -> Value {
    find(a).map(|i| side(i, "from")).unwrap_or_default().into()
}

pub fn change_to(a: &Args) -> Value {
    find(a).map(|i| side(i, "to")).unwrap_or_default().into()
}

/// `changes changelog [only="status,assignee"] [except="description"]`: a list of
/// `{field, from, to}` for `#each`, without Jira's bookkeeping fields.
pub fn changes(a: &Args) -> Value {
    Value::Array(
        selected(a)
            .map(|(field, from, to)| json!({"field": field, "from": from, "to": to}))
            .collect(),
    )
}

/// One markdown line per change: "**status**: To Do → In Progress".
pub fn change_summary(a: &Args) -> Value {
    let lines: Vec<String> = selected(a)
        .map(|(field, from, to)| {
            let show = |s: &str| {
                if s.is_empty() {
                    "—".to_string()
                } else {
                    super::markdown::escape(s)
                }
            };
            format!(
                "**{}**: {} → {}",
                super::markdown::escape(&field),
                show(&from),
                show(&to)
            )
        })
        .collect();
    lines.join("\n").into()
}

fn selected<'a>(a: &'a Args) -> impl Iterator<Item = (String, String, String)> + 'a {
    let list = |key: &str| -> Option<Vec<String>> {
        a.hash_text(key)
            .map(|l| l.split(',').map(|f| f.trim().to_string()).collect())
    };
    let only = list("only");
    let except = list("except").unwrap_or_default();
    items(a)
        .filter(move |item| match &only {
            Some(only) => only.iter().any(|f| field_is(item, f)),
            None => !NOISE
                .iter()
                .chain(except.iter().map(|s| &**s).collect::<Vec<_>>().iter())
                .any(|f| field_is(item, f)),
        })
        .map(|item| {
            let field = item
                .get("field")
                .and_then(scalar_text)
                .unwrap_or_default()
                .into_owned();
            (field, side(item, "from"), side(item, "to"))
        })
}

#[cfg(test)]
mod tests {
    use super::super::tests::render;
    use serde_json::json;

    fn changelog() -> serde_json::Value {
        json!({"c": [
            {"field": "status", "fieldtype": "jira", "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress"},
            {"field": "assignee", "fieldtype": "jira", "from": null, "fromString": null, "to": "ann", "toString": "Ann Lee"},
            {"field": "Rank", "fieldtype": "custom", "from": "", "fromString": "", "to": "", "toString": "Ranked higher"}
        ]})
    }

    #[test]
    fn single_field_helpers() {
        let data = changelog();
        assert_eq!(
            render("{{#if (changed c \"Status\")}}yes{{/if}}", data.clone()),
            "yes"
        );
        assert_eq!(
            render(
                "{{#if (changed c \"priority\")}}yes{{else}}no{{/if}}",
                data.clone()
            ),
            "no"
        );
        assert_eq!(
            render(
                "{{change_from c \"status\"}} -> {{change_to c \"status\"}}",
                data.clone()
            ),
            "To Do -> In Progress"
        );
        assert_eq!(
            render("[{{change_from c \"assignee\"}}]", data.clone()),
            "[]"
        );
        assert_eq!(render("[{{change_to c \"nope\"}}]", json!({})), "[]");
    }

    #[test]
    fn lists_and_summaries_skip_noise() {
        let data = changelog();
        assert_eq!(
            render(
                "{{#each (changes c)}}{{field}}={{to}};{{/each}}",
                data.clone()
            ),
            "status=In Progress;assignee=Ann Lee;"
        );
        assert_eq!(
            render(
                "{{#each (changes c only=\"assignee\")}}{{field}};{{/each}}",
                data.clone()
            ),
            "assignee;"
        );
        assert_eq!(
            render("{{change_summary c except=\"assignee\"}}", data),
            "**status**: To Do → In Progress"
        );
    }
}
