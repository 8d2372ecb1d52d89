//! YAML reading that keeps positions: every error, and every value a later check may
//! complain about, carries the `line:col` where it stands in the file.

use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
pub use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostics, Pos};

/// Where a spanned value starts.
pub fn pos<T>(spanned: &Spanned<T>) -> Pos {
    let at = spanned.referenced;
    Pos::new(at.line(), at.column())
}

/// Parses a whole YAML document into `T`, or reports the first syntax or type error
/// at its position (serde stops at the first one).
pub fn parse<T: de::DeserializeOwned>(
    file: &Path,
    source: &str,
    diags: &mut Diagnostics,
) -> Option<T> {
    match serde_saphyr::from_str::<T>(source) {
        Ok(value) => Some(value),
        Err(err) => {
            let at = err
                .location()
                .map(|l| Pos::new(l.line(), l.column()))
                .unwrap_or(Pos::new(1, 1));
            diags.error(file, at, bare_message(&err));
            None
        }
    }
}

/// The error text without the " at line N, column M" that `Diagnostic` already shows,
/// in the words of YAML's user rather than its parser.
fn bare_message(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let text = match text.rfind(" at line ") {
        Some(cut) => &text[..cut],
        None => &text,
    };
    match text {
        "expected sequence start" => {
            "expected a list here (`- item` lines, or `[a, b]`)".to_string()
        }
        "expected mapping start" => {
            "expected a map here (`key: value` lines, or `{key: value}`)".to_string()
        }
        other => other.to_string(),
    }
}

/// Maps a 1-based (line, col) inside a scalar's text to the file, so an error inside a
/// template or JSONPath points at the character the author must fix.
pub fn pos_within(source: &str, scalar: &Spanned<String>, line: usize, col: usize) -> Pos {
    let at = scalar.referenced;
    let start = at.span().byte_offset().unwrap_or(0) as usize;
    let quoted = matches!(source.as_bytes().get(start), Some(b'"' | b'\''));
    let line = line.max(1) as u64;
    let col = col.max(1) as u64;
    if line == 1 {
        return Pos::new(at.line(), at.column() + u64::from(quoted) + col - 1);
    }
    // A block scalar's later lines keep the indentation of its first line; a folded or
    // quoted scalar's do not, and there the column is only a good guess.
    let indent = if quoted { 0 } else { at.column() - 1 };
    Pos::new(at.line() + line - 1, indent + col)
}

/// Where YAML cut an unquoted value short: in a plain scalar, ` #` starts a comment,
/// so `text: Fixed #42` holds only "Fixed". `None` for quoted and block scalars.
pub fn comment_cut(source: &str, scalar: &Spanned<String>) -> Option<Pos> {
    let at = scalar.referenced;
    let start = at.span().byte_offset()? as usize;
    let rest = source.get(start..)?;
    if rest.starts_with(['"', '\'', '|', '>']) {
        return None;
    }
    let line = rest.lines().next()?;
    let comment = line
        .match_indices([' ', '\t'])
        .map(|(i, _)| i)
        .find(|i| line[i + 1..].starts_with('#'))?;
    line[..comment]
        .trim_end()
        .ends_with(scalar.value.trim_end())
        .then(|| {
            Pos::new(
                at.line(),
                at.column() + line[..comment + 1].chars().count() as u64,
            )
        })
}

/// A YAML value whose every node keeps its position: used for Adaptive Cards and HTTP
/// bodies written as YAML, whose string leaves are templates checked at load.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Spanned<Tree>>),
    Map(Vec<(String, Spanned<Tree>)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tree, E> {
        serde_json::Number::from_f64(v)
            .map(Tree::Number)
            .ok_or_else(|| E::custom("a number that JSON cannot hold (NaN or infinity)"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Tree>>()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value::<Spanned<Tree>>()?));
        }
        Ok(Tree::Map(entries))
    }
}

impl Tree {
    /// The plain JSON value, positions dropped.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Number(n) => Value::Number(n.clone()),
            Tree::String(s) => Value::String(s.clone()),
            Tree::Seq(items) => Value::Array(items.iter().map(|i| i.value.to_json()).collect()),
            Tree::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Editor schemas for what the loaders read (`hookbridge schema`): the raw types carry
/// positions (`Spanned`) and read settings as text, so their fields name these instead.
pub mod schema {
    use std::borrow::Cow;

    use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

    /// A setting written as a number or as text (`1024`, `10s`, `1MiB`).
    pub struct Scalar;

    impl JsonSchema for Scalar {
        fn schema_name() -> Cow<'static, str> {
            "Scalar".into()
        }

        fn inline_schema() -> bool {
            true
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({"type": ["string", "number", "boolean"]})
        }
    }

    /// Any YAML value: a card, a JSON body, a header template.
    pub struct Anything;

    impl JsonSchema for Anything {
        fn schema_name() -> Cow<'static, str> {
            "Anything".into()
        }

        fn inline_schema() -> bool {
            true
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Doc {
        card: Spanned<Tree>,
    }

    #[test]
    fn tree_keeps_positions_of_nested_leaves() {
        let doc: Doc = serde_saphyr::from_str("card:\n  body:\n    - text: \"{{a}}\"\n").unwrap();
        let Tree::Map(entries) = &doc.card.value else {
            panic!("card is a map")
        };
        let Tree::Seq(items) = &entries[0].1.value else {
            panic!("body is a list")
        };
        let Tree::Map(item) = &items[0].value else {
            panic!("item is a map")
        };
        assert_eq!(pos(&item[0].1), Pos::new(3, 13));
    }

    #[test]
    fn a_comment_cutting_a_plain_value_short_is_found() {
        let src = "a: Fixed issue #42\nb: \"quoted #1\"\nc: |\n  block #2\nd: plain#3\n";
        let doc: std::collections::BTreeMap<String, Spanned<String>> =
            serde_saphyr::from_str(src).unwrap();
        assert_eq!(comment_cut(src, &doc["a"]), Some(Pos::new(1, 16)));
        for key in ["b", "c", "d"] {
            assert_eq!(comment_cut(src, &doc[key]), None, "{key}");
        }
    }

    #[test]
    fn positions_inside_block_plain_and_quoted_scalars() {
        let src = "t: |\n  line one\n  two {{x\n";
        let doc: Spanned<std::collections::BTreeMap<String, Spanned<String>>> =
            serde_saphyr::from_str(src).unwrap();
        let t = &doc.value["t"];
        assert_eq!(pos_within(src, t, 2, 5), Pos::new(3, 7));

        let src = "t: \"ab {{\"\n";
        let doc: Doc2 = serde_saphyr::from_str(src).unwrap();
        assert_eq!(pos_within(src, &doc.t, 1, 4), Pos::new(1, 8));

        let src = "t: ab {{\n";
        let doc: Doc2 = serde_saphyr::from_str(src).unwrap();
        assert_eq!(pos_within(src, &doc.t, 1, 4), Pos::new(1, 7));
    }

    #[derive(serde::Deserialize)]
    struct Doc2 {
        t: Spanned<String>,
    }
}
