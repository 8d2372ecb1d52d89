//! Cards (and HTTP bodies) written as YAML: every string leaf is a template, rendered
//! into a JSON string value, so payload text can never break the JSON around it.
//!
//! Two keys shape the structure: `$if: "{{x}}"` on a map drops that map when the
//! template renders empty or "false"; a list item `{$each: var, $as: name, $item: ...}`
//! repeats `$item` for every element of the list variable `var`.

use handlebars::{Context, RenderError};
use serde_json::{Map, Value};

use super::compile::Ctx;
use super::template::{Escape, Templates, Text};
use crate::markdown;
use crate::yaml::{pos, Spanned, Tree};

#[derive(Debug, Clone)]
pub enum Node {
    Value(Value),
    Text(Text),
    Seq(Vec<Item>),
    Map {
        entries: Vec<(String, Node)>,
        when: Option<Text>,
    },
}

#[derive(Debug, Clone)]
pub enum Item {
    Node(Node),
    Each {
        list: String,
        alias: String,
        item: Node,
        /// Elements shown; past them one closing element says how many more there are.
        max: usize,
    },
}

/// Elements an `$each` shows unless its `$max` says otherwise: enough for any room,
/// and a bound on the work a list of thousands (an Alertmanager group) can cost.
pub const DEFAULT_EACH_MAX: usize = 100;

/// `escape`: [`Escape::Card`] for a card, [`Escape::None`] for an `http` body.
pub fn compile(
    tree: &Spanned<Tree>,
    lets: &[String],
    escape: Escape,
    ctx: &mut Ctx,
) -> Option<Node> {
    match &tree.value {
        Tree::String(_) => {
            let scalar = Spanned::new(string_of(tree), tree.referenced, tree.defined);
            ctx.template(&scalar, escape).map(Node::Text)
        }
        Tree::Seq(items) => {
            let compiled: Vec<Option<Item>> = items
                .iter()
                .map(|i| compile_item(i, lets, escape, ctx))
                .collect();
            compiled
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(Node::Seq)
        }
        Tree::Map(entries) => {
            let mut out = Vec::new();
            let mut when = None;
            let mut ok = true;
            for (key, value) in entries {
                if key == "$if" {
                    when = compile_string(value, ctx);
                    ok &= when.is_some();
                } else if key.starts_with('$') {
                    ctx.error(
                        pos(value),
                        format!("`{key}` is not a card key: use `$if`, or `$each` in a list item"),
                    );
                    ok = false;
                } else if let Some(node) = compile(value, lets, escape, ctx) {
                    out.push((key.clone(), node));
                } else {
                    ok = false;
                }
            }
            ok.then_some(Node::Map { entries: out, when })
        }
        other => Some(Node::Value(other.to_json())),
    }
}

fn string_of(tree: &Spanned<Tree>) -> String {
    match &tree.value {
        Tree::String(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}

fn compile_string(tree: &Spanned<Tree>, ctx: &mut Ctx) -> Option<Text> {
    if !matches!(tree.value, Tree::String(_)) {
        ctx.error(
            pos(tree),
            "`$if` takes a template string such as \"{{assignee}}\"",
        );
        return None;
    }
    let scalar = Spanned::new(string_of(tree), tree.referenced, tree.defined);
    ctx.template(&scalar, Escape::None)
}

fn compile_item(
    tree: &Spanned<Tree>,
    lets: &[String],
    escape: Escape,
    ctx: &mut Ctx,
) -> Option<Item> {
    let Tree::Map(entries) = &tree.value else {
        return compile(tree, lets, escape, ctx).map(Item::Node);
    };
    let get = |k: &str| entries.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    let Some(list) = get("$each") else {
        return compile(tree, lets, escape, ctx).map(Item::Node);
    };
    let at = pos(tree);
    let unknown = entries
        .iter()
        .find(|(k, _)| !["$each", "$as", "$item", "$max"].contains(&k.as_str()));
    if let Some((key, v)) = unknown {
        ctx.error(
            pos(v),
            format!("`{key}` does not belong next to `$each`: put it inside `$item`"),
        );
        return None;
    }
    let Tree::String(list) = &list.value else {
        ctx.error(pos(list), "`$each` names a list variable from `let`");
        return None;
    };
    if !lets.contains(list) {
        ctx.error(
            at,
            format!("`$each: {list}` names no variable of this rule's `let`"),
        );
        return None;
    }
    let alias = match get("$as").map(|a| &a.value) {
        Some(Tree::String(a)) => a.clone(),
        None => "item".to_string(),
        Some(_) => {
            ctx.error(at, "`$as` is the name each element gets, a plain word");
            return None;
        }
    };
    let Some(item) = get("$item") else {
        ctx.error(at, "`$each` needs `$item`: the card element to repeat");
        return None;
    };
    let max = each_max(get("$max"), ctx)?;
    let mut names = lets.to_vec();
    names.push(alias.clone());
    let item = compile(item, &names, escape, ctx)?;
    Some(Item::Each {
        list: list.clone(),
        alias,
        item,
        max,
    })
}

fn each_max(node: Option<&Spanned<Tree>>, ctx: &mut Ctx) -> Option<usize> {
    let Some(node) = node else {
        return Some(DEFAULT_EACH_MAX);
    };
    match &node.value {
        Tree::Number(n) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(max @ 1..) => Some(max),
            _ => {
                ctx.error(pos(node), "`$max` is how many elements to show: 1 or more");
                None
            }
        },
        _ => {
            ctx.error(pos(node), "`$max` is a number of elements, such as 20");
            None
        }
    }
}

impl Node {
    /// Renders with `data` (the rule's variables); `None` when an `$if` dropped it.
    pub fn render(
        &self,
        templates: &Templates,
        data: &Context,
    ) -> Result<Option<Value>, RenderError> {
        Ok(Some(match self {
            Node::Value(v) => v.clone(),
            Node::Text(t) => Value::String(templates.render(t, data)?),
            Node::Map { entries, when } => {
                if let Some(cond) = when {
                    let shown = templates.render(cond, data)?;
                    if shown.trim().is_empty() || shown.trim() == "false" {
                        return Ok(None);
                    }
                }
                let mut map = Map::with_capacity(entries.len());
                for (k, node) in entries {
                    match node.render(templates, data)? {
                        Some(Value::String(link)) if names_a_link(k) => {
                            let link = markdown::safe_url(&link).unwrap_or_default();
                            map.insert(k.clone(), link.into());
                        }
                        Some(v) => {
                            map.insert(k.clone(), v);
                        }
                        None => {}
                    }
                }
                Value::Object(map)
            }
            Node::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    item.render_into(templates, data, &mut out)?;
                }
                Value::Array(out)
            }
        }))
    }
}

/// What closes a list cut at its `$max`, shaped like the elements before it: a fact
/// for facts, a TextBlock for card elements, else text.
fn more_element(last: Option<&Value>, more: usize) -> Value {
    let text = format!("…and {more} more");
    match last {
        Some(v) if v.get("title").is_some() && v.get("value").is_some() => {
            serde_json::json!({"title": "…", "value": format!("and {more} more")})
        }
        Some(v) if v.get("type").is_some() => {
            serde_json::json!({"type": "TextBlock", "text": text, "wrap": true, "isSubtle": true})
        }
        _ => Value::String(text),
    }
}

/// `url`, `iconUrl`, `backgroundImage`... : the card keys a service opens or fetches.
fn names_a_link(key: &str) -> bool {
    key == "url" || key.ends_with("Url") || key == "backgroundImage"
}

impl Item {
    fn render_into(
        &self,
        templates: &Templates,
        data: &Context,
        out: &mut Vec<Value>,
    ) -> Result<(), RenderError> {
        match self {
            Item::Node(node) => out.extend(node.render(templates, data)?),
            Item::Each {
                list,
                alias,
                item,
                max,
            } => {
                let elements = match data.data().get(list) {
                    Some(Value::Array(elements)) => elements,
                    _ => return Ok(()),
                };
                // One scope for the whole list, the alias rebound per element: the
                // rule's variables are copied once, not once per element.
                let mut scope = data.clone();
                for element in elements.iter().take(*max) {
                    if let Some(vars) = scope.data_mut().as_object_mut() {
                        vars.insert(alias.clone(), element.clone());
                    }
                    out.extend(item.render(templates, &scope)?);
                }
                let shown = elements.len().min(*max);
                let all = super::full_count(data.data(), list).unwrap_or(elements.len());
                if all > shown {
                    out.push(more_element(out.last(), all - shown));
                }
            }
        }
        Ok(())
    }
}

/// A card shown where only text fits: text blocks as lines, facts as "**name**: value",
/// links as markdown links.
pub fn to_markdown(card: &Value) -> String {
    let mut lines = Vec::new();
    flatten(card, &mut lines);
    lines.retain(|l| !l.trim().is_empty());
    lines.join("\n")
}

fn flatten(node: &Value, lines: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        if let Some(items) = node.as_array() {
            items.iter().for_each(|i| flatten(i, lines));
        }
        return;
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("");
    match text("type") {
        "TextBlock" if obj.get("weight").and_then(Value::as_str) == Some("Bolder") => {
            lines.push(format!("**{}**", text("text")));
        }
        "TextBlock" => lines.push(text("text").to_string()),
        "TextRun" => lines.push(text("text").to_string()),
        "FactSet" => {
            for fact in obj
                .get("facts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let field = |k: &str| {
                    fact.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                lines.push(format!("**{}**: {}", field("title"), field("value")));
            }
        }
        "Action.OpenUrl" => lines.push(format!("[{}]({})", text("title"), text("url"))),
        _ => {}
    }
    for key in ["body", "items", "columns", "inlines", "actions"] {
        if let Some(children) = obj.get(key) {
            flatten(children, lines);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_cards_to_markdown() {
        let card = json!({"type": "AdaptiveCard", "body": [
            {"type": "TextBlock", "text": "ABC-1", "weight": "Bolder"},
            {"type": "Container", "items": [{"type": "TextBlock", "text": "Fix it"}]},
            {"type": "FactSet", "facts": [{"title": "Status", "value": "Done"}]}
        ], "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://j.test"}]});
        assert_eq!(
            to_markdown(&card),
            "**ABC-1**\nFix it\n**Status**: Done\n[Open](https://j.test)"
        );
    }
}
