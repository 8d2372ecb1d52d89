//! An Adaptive Card read as an outline (a title, then text, facts and images in order,
//! then links), from which the services with card formats of their own draw theirs:
//! Slack blocks, Google Chat cardsV2, Discord embeds, Mattermost and legacy
//! RingCentral attachments. Card strings are plain text, as the mapping rendered them.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outline {
    /// The card's first text block, when it is drawn as a heading (bold or large).
    pub title: Option<String>,
    pub blocks: Vec<Block>,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Plain text; `bold` for a TextBlock drawn bold or large.
    Text {
        text: String,
        bold: bool,
    },
    Facts(Vec<Fact>),
    Image {
        url: String,
        alt: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub title: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub title: String,
    pub url: String,
}

impl Outline {
    pub fn of(card: &Value) -> Outline {
        let mut outline = Outline::default();
        outline.read(card);
        outline
    }

    pub fn facts(&self) -> impl Iterator<Item = &Fact> {
        self.blocks.iter().flat_map(|b| match b {
            Block::Facts(facts) => facts.as_slice(),
            _ => &[],
        })
    }

    pub fn first_image(&self) -> Option<&str> {
        self.blocks.iter().find_map(|b| match b {
            Block::Image { url, .. } => Some(url.as_str()),
            _ => None,
        })
    }

    /// The text blocks as markdown, one paragraph each.
    pub fn texts(&self) -> impl Iterator<Item = String> + '_ {
        self.blocks.iter().filter_map(|b| match b {
            Block::Text { text, bold: true } => {
                Some(format!("**{}**", crate::markdown::escape(text)))
            }
            Block::Text { text, bold: false } => Some(crate::markdown::escape(text)),
            _ => None,
        })
    }

    /// The text blocks as markdown, then the links after the first (which a card
    /// format shows as its title's link), for a format whose body is one markdown text.
    pub fn text_and_more_links(&self, separator: &str) -> String {
        let texts = self.texts();
        let links = self.links.iter().skip(1).map(|l| {
            format!(
                "[{}]({})",
                crate::markdown::escape(&l.title),
                crate::markdown::escape_url(&l.url)
            )
        });
        texts.chain(links).collect::<Vec<_>>().join(separator)
    }

    fn read(&mut self, node: &Value) {
        let Some(obj) = node.as_object() else {
            for item in node.as_array().into_iter().flatten() {
                self.read(item);
            }
            return;
        };
        let text = |k: &str| string(obj, k);
        match text("type").as_str() {
            "TextBlock" => self.push_text(text("text"), is_heading(obj)),
            "RichTextBlock" => {
                let runs: String = obj
                    .get("inlines")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|run| match run {
                        Value::String(s) => s.clone(),
                        run => run.get("text").and_then(Value::as_str).unwrap_or("").into(),
                    })
                    .collect();
                self.push_text(runs, false);
                return;
            }
            "FactSet" => {
                let facts: Vec<Fact> = obj
                    .get("facts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                    .map(|f| Fact {
                        title: string(f, "title"),
                        value: string(f, "value"),
                    })
                    .filter(|f| !(f.title.trim().is_empty() && f.value.trim().is_empty()))
                    .collect();
                if !facts.is_empty() {
                    self.blocks.push(Block::Facts(facts));
                }
            }
            "Image" if !text("url").is_empty() => self.blocks.push(Block::Image {
                url: text("url"),
                alt: text("altText"),
            }),
            "Action.OpenUrl" if !text("url").is_empty() => self.links.push(Link {
                title: Some(text("title"))
                    .filter(|t| !t.trim().is_empty())
                    .unwrap_or_else(|| text("url")),
                url: text("url"),
            }),
            _ => {}
        }
        for key in ["body", "items", "columns", "images", "actions"] {
            if let Some(children) = obj.get(key) {
                self.read(children);
            }
        }
    }

    fn push_text(&mut self, text: String, heading: bool) {
        if text.trim().is_empty() {
            return;
        }
        if heading && self.title.is_none() && self.blocks.is_empty() {
            self.title = Some(text);
        } else {
            self.blocks.push(Block::Text {
                text,
                bold: heading,
            });
        }
    }
}

fn string(obj: &Map<String, Value>, key: &str) -> String {
    obj.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn is_heading(obj: &Map<String, Value>) -> bool {
    let is = |key: &str, values: &[&str]| {
        obj.get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| values.iter().any(|w| v.eq_ignore_ascii_case(w)))
    };
    is("weight", &["Bolder"])
        || is("size", &["Medium", "Large", "ExtraLarge"])
        || is("style", &["heading"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_title_text_facts_images_and_links_in_order() {
        let card = json!({"type": "AdaptiveCard", "body": [
            {"type": "TextBlock", "text": "ABC-1 created", "weight": "Bolder"},
            {"type": "Container", "items": [{"type": "TextBlock", "text": "Fix <login>"}]},
            {"type": "FactSet", "facts": [{"title": "Status", "value": "Done"}, {"title": "", "value": ""}]},
            {"type": "ColumnSet", "columns": [{"type": "Column", "items": [{"type": "Image", "url": "https://x/p.png"}]}]},
            {"type": "TextBlock", "text": "Later bold", "weight": "Bolder"},
            {"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "url": "https://x/2"}]}
        ], "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://x/1"}]});
        let outline = Outline::of(&card);
        assert_eq!(outline.title.as_deref(), Some("ABC-1 created"));
        assert_eq!(
            outline.blocks,
            vec![
                Block::Text {
                    text: "Fix <login>".into(),
                    bold: false
                },
                Block::Facts(vec![Fact {
                    title: "Status".into(),
                    value: "Done".into()
                }]),
                Block::Image {
                    url: "https://x/p.png".into(),
                    alt: String::new()
                },
                Block::Text {
                    text: "Later bold".into(),
                    bold: true
                },
            ]
        );
        let links: Vec<(&str, &str)> = outline
            .links
            .iter()
            .map(|l| (l.title.as_str(), l.url.as_str()))
            .collect();
        assert_eq!(
            links,
            [("https://x/2", "https://x/2"), ("Open", "https://x/1")]
        );
    }
}
