//! Ingress bytes and headers through verify, parse, plan and every target kind, on
//! every shipped mapping: nothing panics, and every body keeps the invariants.
#![no_main]

#[path = "common.rs"]
mod common;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use hookbridge::mapping::Mapping;
use hookbridge::plan::{self, Destination};
use hookbridge::target::{Kind, Options};
use hookbridge::verify::{self, Preset, Unverified, Verify};
use libfuzzer_sys::fuzz_target;

fn mappings() -> &'static [Arc<Mapping>] {
    static MAPPINGS: OnceLock<Vec<Arc<Mapping>>> = OnceLock::new();
    MAPPINGS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
        ["jira", "github", "gitlab", "chatwoot", "alertmanager"]
            .iter()
            .map(|name| {
                let (mapping, _) = Mapping::load(&dir.join(format!("{name}.yaml")))
                    .expect("shipped mappings load");
                Arc::new(mapping)
            })
            .collect()
    })
}

/// Headers a source sends, chosen by the input's first byte.
fn headers(choice: u8, tail: &[u8]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    let value = |text: &str| http::HeaderValue::from_str(text).expect("ascii");
    map.insert(
        "content-type",
        value(if choice & 1 == 0 {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        }),
    );
    let event =
        ["push", "pull_request", "issues", "workflow_run", "release"][usize::from(choice >> 1) % 5];
    map.insert("x-github-event", value(event));
    map.insert("x-gitlab-event", value("Pipeline Hook"));
    if let Ok(signature) = http::HeaderValue::from_bytes(&tail[..tail.len().min(80)]) {
        map.insert("x-hub-signature-256", signature.clone());
        map.insert("webhook-signature", signature);
        map.insert("webhook-id", value("msg_1"));
        map.insert("webhook-timestamp", value("1700000000"));
    }
    map
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let headers = headers(choice, body);
    let now = jiff::Timestamp::from_second(1_700_000_000).expect("a time");
    for preset in [Preset::Github, Preset::StandardWebhooks, Preset::Chatwoot] {
        let check = Verify::Preset {
            preset,
            secrets: vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()],
        };
        let request = Unverified {
            headers: &headers,
            query: Some("token=x"),
            body: bytes::Bytes::copy_from_slice(body),
        };
        let _ = verify::check(Some(&check), request, now);
    }
    let request = Unverified {
        headers: &headers,
        query: None,
        body: bytes::Bytes::copy_from_slice(body),
    };
    let verified = verify::check(None, request, now).expect("no check passes everything");
    let options = Options::default();
    let destinations: Vec<Destination> = Kind::ALL
        .iter()
        .map(|kind| Destination {
            name: kind.name(),
            kind: *kind,
            options: &options,
        })
        .collect();
    if let Ok(planned) = plan::plan(mappings(), &destinations, &verified) {
        for (delivery, destination) in planned.deliveries.iter().zip(&destinations) {
            for body in &delivery.bodies {
                let body: serde_json::Value =
                    serde_json::from_str(body).expect("stored bodies are JSON");
                common::check_body(destination.kind, &body, true);
            }
        }
    }
});
