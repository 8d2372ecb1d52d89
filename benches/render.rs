//! One real 25 KB Jira `jira:issue_updated` delivery (several changelog items and a
//! description edit) through `mappings/jira.yaml`, beside a bare serde_json parse of
//! the same bytes; and a `jira:issue_created` delivery, whose rule has a card, shaped
//! for every target kind. Run: `cargo bench --bench render`.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use hookbridge::mapping::cases::read_sidecar_headers;
use hookbridge::mapping::{Event, Mapping, Outcome};
use hookbridge::target::{self, Kind, Options};
use serde_json::Value;

const PAYLOAD: &str = "fixtures/jira/issue_updated.generic.json";
const WITH_CARD: &str = "fixtures/jira/issue_created.json";

fn jira() -> Mapping {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Mapping::load(&root.join("mappings/jira.yaml"))
        .expect("jira.yaml loads")
        .0
}

/// Shaping alone: one rendered message with a card, built for each kind.
fn shape(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let payload: Value =
        serde_json::from_slice(&std::fs::read(root.join(WITH_CARD)).expect("fixture"))
            .expect("fixture is JSON");
    let headers = read_sidecar_headers(&root.join(WITH_CARD)).expect("headers");
    let Ok(Outcome::Message(message)) = jira().apply(&Event::new(&payload, &headers)) else {
        panic!("issue-created should match");
    };
    let options = Options::default();
    let mut group = c.benchmark_group("jira issue_created card, shaped");
    for kind in Kind::ALL {
        group.bench_function(format!("{kind}"), |b| {
            b.iter(|| target::build(kind, black_box(&message), &options))
        });
    }
    group.finish();
}

fn render(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mapping = jira();
    let bytes = std::fs::read(root.join(PAYLOAD)).expect("fixture");
    let headers = read_sidecar_headers(&root.join(PAYLOAD)).expect("headers");
    let payload: Value = serde_json::from_slice(&bytes).expect("fixture is JSON");
    let options = Options::default();
    let rendered = |kind: Kind, payload: &Value| match mapping.apply(&Event::new(payload, &headers))
    {
        Ok(Outcome::Message(message)) => target::build(kind, &message, &options),
        other => panic!("issue-updated should match: {other:?}"),
    };

    let mut group = c.benchmark_group(format!("jira issue_updated ({} KB)", bytes.len() / 1024));
    group.bench_function("serde_json parse alone", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&bytes)).expect("JSON"))
    });
    for kind in [Kind::Chime, Kind::RingCentral] {
        group.bench_function(format!("render to {kind}"), |b| {
            b.iter(|| rendered(kind, black_box(&payload)))
        });
        group.bench_function(format!("parse + render to {kind}"), |b| {
            b.iter(|| {
                let payload: Value = serde_json::from_slice(black_box(&bytes)).expect("JSON");
                rendered(kind, &payload)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, render, shape);
criterion_main!(benches);
