//! JSONPath, compiled once at load. Paths that only name fields and indexes (nearly
//! all of them) are walked directly; anything richer goes through jsonpath-rust.

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct JsonPath {
    plan: Plan,
}

#[derive(Debug, Clone)]
enum Plan {
    /// `$.a.b[0]`: at most one value, found without allocating.
    Direct(Vec<Step>),
    /// Wildcards, slices, filters, descendants: any number of values.
    Query(JpQuery),
}

#[derive(Debug, Clone)]
enum Step {
    Field(String),
    Index(i64),
}

/// A JSONPath that failed to parse: the message and the 1-based column in the path.
#[derive(Debug, Clone, PartialEq)]
pub struct PathError {
    pub message: String,
    pub column: usize,
}

impl JsonPath {
    pub fn parse(source: &str) -> Result<Self, PathError> {
        let query = parse_json_path(source).map_err(|err| condense(&err.to_string()))?;
        let steps: Option<Vec<Step>> = query.segments.iter().map(direct_step).collect();
        let plan = match steps {
            Some(steps) => Plan::Direct(steps),
            None => Plan::Query(query),
        };
        Ok(Self { plan })
    }

    /// Whether the path can select several values (and so yields a list in `let`).
    pub fn is_multi(&self) -> bool {
        matches!(self.plan, Plan::Query(_))
    }

    /// Every value the path selects, in document order.
    pub fn select<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        match &self.plan {
            Plan::Direct(steps) => walk(root, steps).into_iter().collect(),
            // Evaluation of a parsed query only fails for function misuse, which the
            // parser already rejects; an empty selection is the honest answer then.
            Plan::Query(q) => js_path_process(q, root)
                .map(|refs| refs.into_iter().map(|r| r.val()).collect())
                .unwrap_or_default(),
        }
    }

    /// The first selected value that is not null.
    pub fn first<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        match &self.plan {
            Plan::Direct(steps) => walk(root, steps).filter(|v| !v.is_null()),
            Plan::Query(_) => self.select(root).into_iter().find(|v| !v.is_null()),
        }
    }
}

fn direct_step(segment: &Segment) -> Option<Step> {
    match segment {
        Segment::Selector(Selector::Name(name)) => Some(Step::Field(name.clone())),
        Segment::Selector(Selector::Index(i)) => Some(Step::Index(*i)),
        _ => None,
    }
}

fn walk<'a>(root: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(root, |value, step| match step {
        Step::Field(name) => value.as_object()?.get(name),
        Step::Index(i) => {
            let items = value.as_array()?;
            let at = if *i < 0 {
                items.len().checked_sub(i.unsigned_abs() as usize)?
            } else {
                usize::try_from(*i).ok()?
            };
            items.get(at)
        }
    })
}

/// jsonpath-rust reports parse errors in pest's multi-line layout; keep the column and
/// the "expected ..." line so the diagnostic fits on one line.
fn condense(text: &str) -> PathError {
    let column = text
        .split("-->")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|lc| lc.split(':').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let detail = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("= "))
        .unwrap_or(text.lines().next().unwrap_or(text));
    PathError {
        message: format!("invalid JSONPath: {}", detail.trim()),
        column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn direct_paths_walk_fields_and_indexes() {
        let doc = json!({"a": {"b": [10, 20, 30]}, "k": null});
        let p = JsonPath::parse("$.a.b[1]").unwrap();
        assert!(!p.is_multi());
        assert_eq!(p.first(&doc), Some(&json!(20)));
        assert_eq!(
            JsonPath::parse("$.a.b[-1]").unwrap().first(&doc),
            Some(&json!(30))
        );
        assert_eq!(
            JsonPath::parse("$['a']['b'][0]").unwrap().first(&doc),
            Some(&json!(10))
        );
        assert_eq!(JsonPath::parse("$.k").unwrap().first(&doc), None);
        assert_eq!(JsonPath::parse("$.a.b[9]").unwrap().first(&doc), None);
        assert_eq!(JsonPath::parse("$.a.b.c").unwrap().first(&doc), None);
    }

    #[test]
    fn wildcards_and_filters_select_lists() {
        let doc = json!({"items": [{"f": "status", "to": "Done"}, {"f": "assignee", "to": "Ann"}]});
        let p = JsonPath::parse("$.items[*].f").unwrap();
        assert!(p.is_multi());
        assert_eq!(p.select(&doc), vec![&json!("status"), &json!("assignee")]);
        let f = JsonPath::parse("$.items[?@.f == 'assignee'].to").unwrap();
        assert_eq!(f.first(&doc), Some(&json!("Ann")));
    }

    #[test]
    fn broken_paths_say_where() {
        let err = JsonPath::parse("$.issue..[").unwrap_err();
        assert!(err.message.starts_with("invalid JSONPath"), "{err:?}");
        assert!(err.column > 1, "{err:?}");
        assert!(!err.message.contains('\n'));
    }
}
