//! Markdown conversion and splitting for every dialect: text from a mapping (as it is)
//! and from a payload (escaped) through every target kind, at the kinds' budgets and
//! at a small one that forces splitting.
#![no_main]

#[path = "common.rs"]
mod common;

use hookbridge::mapping::Message;
use hookbridge::markdown;
use hookbridge::target::{self, Kind, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (text, from_payload) in [(text.to_string(), false), (markdown::escape(text), true)] {
        let message = Message {
            rule: "fuzz".into(),
            activity: "Fuzz".into(),
            icon: None,
            title: text.chars().take(80).collect(),
            text,
            card: None,
            thread: None,
            http: None,
        };
        let small = Options {
            max_size: Some(300),
            ..Options::default()
        };
        for options in [Options::default(), small] {
            for kind in Kind::ALL {
                for body in target::build(kind, &message, &options) {
                    common::check_body(kind, &body, from_payload);
                }
            }
        }
    }
});
