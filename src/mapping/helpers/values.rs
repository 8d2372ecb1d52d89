//! Helpers that choose among values or describe them, so a mapping for payloads of
//! many shapes (the generic fallback first) needs no chains of `default` or tricks.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use regex::Regex;
use serde_json::{json, Value};

use super::{is_empty, Args};

/// `first a b c`: the first argument that is a non-blank string, a number or a
/// boolean; a list argument offers its items in order. Objects are passed over: they
/// are never what a message can show. Null when none qualifies.
pub(super) fn first(a: &Args) -> Value {
    (0..)
        .take_while(|i| a.has(*i))
        .flat_map(|i| match a.param(i) {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            one => vec![one],
        })
        .find(|value| shown(value))
        .cloned()
        .unwrap_or(Value::Null)
}

fn shown(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) && !is_empty(value)
}

/// `minus total 10`: the difference of two numbers (a list counts its items, all of
/// them), as a whole number when it is one; empty when either is not a number.
pub(super) fn minus(a: &Args) -> Value {
    let number = |i| match a.param(i) {
        Value::Array(_) => a.count(i).map(|n| n as f64),
        _ => a.number(i),
    };
    let (Some(left), Some(right)) = (number(0), number(1)) else {
        return Value::Null;
    };
    let difference = left - right;
    if difference.fract() == 0.0 && difference.abs() < 9.0e15 {
        json!(difference as i64)
    } else {
        json!(difference)
    }
}

/// `capture text "regex"`: the regex's first group (or its whole match, without a
/// group) in the text; empty when it does not match or the pattern is not a regex.
pub(super) fn capture(a: &Args) -> Value {
    let Some(regex) = compiled(&a.text(1)) else {
        return Value::Null;
    };
    let text = a.text(0);
    regex
        .captures(&text)
        .and_then(|found| found.get(1).or_else(|| found.get(0)))
        .map_or(Value::Null, |m| m.as_str().into())
}

/// Patterns are the mapping's own literals, so a few dozen at most: each is compiled
/// once rather than per event. The bound only guards against a template building
/// patterns from payload text.
fn compiled(pattern: &str) -> Option<Regex> {
    const MAX_PATTERNS: usize = 256;
    static CACHE: Mutex<Option<HashMap<String, Option<Regex>>>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(regex) = cache.get(pattern) {
        return regex.clone();
    }
    let regex = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .ok();
    if cache.len() < MAX_PATTERNS {
        cache.insert(pattern.to_string(), regex.clone());
    }
    regex
}

/// `type_of v`: "object", "list", "text", "number" or "boolean"; empty for null or a
/// missing value. Lets a template treat a nested object differently from a value.
pub(super) fn type_of(a: &Args) -> Value {
    match a.param(0) {
        Value::Object(_) => "object",
        Value::Array(_) => "list",
        Value::String(_) => "text",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::render;

    #[test]
    fn first_takes_the_first_value_a_message_can_show() {
        let data = json!({
            "blank": "  ", "none": null, "obj": {"a": 1}, "title": "Deploy failed",
            "list": [null, {"x": 1}, "", "from a list"], "zero": 0, "no": false
        });
        let cases = [
            ("{{first blank none obj title}}", "Deploy failed"),
            ("{{first missing list title}}", "from a list"),
            ("{{first zero title}}", "0"),
            ("{{first no title}}", "false"),
            ("{{first blank none obj}}", ""),
            (
                "{{#with (first none \"fallback\")}}[{{this}}]{{/with}}",
                "[fallback]",
            ),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, data.clone()), expected, "{template}");
        }
    }

    #[test]
    fn minus_counts_lists_and_refuses_words() {
        let data = json!({"total": 25, "text": "12", "list": [1, 2, 3], "word": "many"});
        let cases = [
            ("{{minus total 10}}", "15"),
            ("{{minus text 2.5}}", "9.5"),
            ("{{minus list 1}}", "2"),
            ("{{minus word 1}}", ""),
            ("{{minus missing 1}}", ""),
            ("{{#if (gt (minus total 10) 0)}}more{{/if}}", "more"),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, data.clone()), expected, "{template}");
        }
    }

    #[test]
    fn capture_gives_the_first_group_or_the_match() {
        let data = json!({"self": "https://j.test/rest/api/2/issue/10013/comment/10082"});
        let cases = [
            (r#"{{capture self "/issue/([0-9]+)/"}}"#, "10013"),
            (r#"{{capture self "comment/[0-9]+"}}"#, "comment/10082"),
            (r#"[{{capture self "/nothing/([0-9]+)"}}]"#, "[]"),
            (r#"[{{capture self "(unclosed"}}]"#, "[]"),
            (r#"[{{capture missing "(.*)"}}]"#, "[]"),
        ];
        for (template, expected) in cases {
            assert_eq!(render(template, data.clone()), expected, "{template}");
        }
    }

    #[test]
    fn type_of_names_each_json_type() {
        let data = json!({"o": {}, "l": [], "s": "", "n": 1.5, "b": true, "z": null});
        assert_eq!(
            render(
                "{{type_of o}} {{type_of l}} {{type_of s}} {{type_of n}} {{type_of b}} [{{type_of z}}{{type_of missing}}]",
                data
            ),
            "object list text number boolean []"
        );
    }
}
