//! Amazon Chime: `{"Content": "/md ..."}`. The `/md ` prefix turns on full markdown;
//! @All, @Present and @alias written in a mapping reach Chime as written, while those
//! in payload text are broken so that they mention no one.

use serde_json::{json, Value};

use super::split::{self, Measure};
use super::Options;
use crate::mapping::Message;
use crate::markdown;

/// Chime answers 413 above "4 KB". Its docs do not say whether that counts the text or
/// the request, so the whole body is kept within it.
pub const BODY_BUDGET: usize = 4096;

pub fn bodies(message: &Message, options: &Options) -> Vec<Value> {
    let budget = options.max_size.unwrap_or(BODY_BUDGET);
    let overhead = body("").to_string().len();
    split::fit_converted(
        message.text.trim_end(),
        budget.saturating_sub(overhead),
        Measure::JsonBytes,
        options,
        markdown::guard_mentions,
    )
    .iter()
    .map(|part| body(part))
    .collect()
}

fn body(text: &str) -> Value {
    json!({ "Content": format!("/md {text}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::tests::message;
    use crate::target::Overflow;

    #[test]
    fn markdown_goes_in_content_behind_md_with_mentions_untouched() {
        let bodies = bodies(
            &message("@All **[ABC-1](https://x/browse/ABC-1)** \"quoted\"\n"),
            &Options::default(),
        );
        assert_eq!(
            bodies,
            vec![json!({"Content": "/md @All **[ABC-1](https://x/browse/ABC-1)** \"quoted\""})]
        );
    }

    #[test]
    fn every_part_of_a_long_message_stays_within_4096_bytes() {
        let text = (0..400)
            .map(|i| format!("- 👍 \"item\" number {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let parts = bodies(
            &message(&text),
            &Options {
                max_parts: 50,
                ..Options::default()
            },
        );
        assert!(parts.len() > 2);
        for (i, body) in parts.iter().enumerate() {
            assert!(body.to_string().len() <= BODY_BUDGET, "part {i}");
            let content = body["Content"].as_str().unwrap();
            assert!(
                content.starts_with("/md ")
                    && content.ends_with(&format!("({}/{})", i + 1, parts.len()))
            );
        }
    }

    #[test]
    fn trim_sends_one_body_and_max_size_lowers_the_budget() {
        let text = (0..100)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let options = Options {
            max_size: Some(200),
            overflow: Overflow::Trim,
            max_parts: 5,
        };
        let parts = bodies(&message(&text), &options);
        assert_eq!(parts.len(), 1);
        assert!(parts[0].to_string().len() <= 200);
        assert!(parts[0]["Content"]
            .as_str()
            .unwrap()
            .ends_with("more lines"));
    }
}
