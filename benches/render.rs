//! One real 25 KB Jira `jira:issue_updated` delivery (several changelog items and a
//! description edit) through `mappings/jira.yaml`, beside a bare serde_json parse of
//! the same bytes; and a `jira:issue_created` delivery, whose rule has a card, shaped
//! for every target kind; the `$each` pattern over 80 and 8,000 alerts; and real
//! comment bodies shown as one cut line (the old way) beside `gfm` and `jira_markup`.
//! Run: `cargo bench --bench render`.

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

/// The README's `$each` pattern, whose cost must grow with the list, not its square:
/// 8,000 alerts within 100x the time of 80 (issue 12).
const EACH: &str = r#"rules:
  - name: alerts
    let:
      alerts: $.alerts[*]
    text: "{{len alerts}} alerts"
    card:
      type: AdaptiveCard
      version: "1.3"
      body:
        - type: FactSet
          facts:
            - $each: alerts
              $as: alert
              $max: 20
              $item: {title: "{{alert.labels.alertname}}", value: "{{alert.annotations.summary}}"}
"#;

fn each(c: &mut Criterion) {
    let mapping = Mapping::from_source(Path::new("each.yaml"), EACH).expect("mapping");
    let mut group = c.benchmark_group("$each over an alert list");
    for alerts in [80, 8_000] {
        let alerts: Vec<Value> = (0..alerts)
            .map(|i| {
                serde_json::json!({
                    "labels": {"alertname": format!("Disk{i}")},
                    "annotations": {"summary": format!("disk {i} full")},
                })
            })
            .collect();
        let count = alerts.len();
        let payload = serde_json::json!({ "alerts": alerts });
        group.bench_function(format!("{count} alerts"), |b| {
            b.iter(|| {
                mapping
                    .apply(&Event::new(black_box(&payload), &[]))
                    .expect("renders")
            })
        });
    }
    group.finish();
}

/// Each body is a real one: a 1.5 KB GitHub comment in Chinese with headings, lists and
/// code, and a 1.4 KB Jira Server description in wiki markup.
const BODIES: [(&str, &str, &str); 2] = [
    (
        "github comment",
        "fixtures/github/issue_comment.created.cjk-markdown.json",
        "$.comment.body",
    ),
    (
        "jira description",
        "fixtures/jira/issue_updated.wiki-markup-server.json",
        "$.issue.fields.description",
    ),
];

fn bodies(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut group = c.benchmark_group("a body");
    for (name, file, path) in BODIES {
        let payload: Value =
            serde_json::from_slice(&std::fs::read(root.join(file)).expect("fixture"))
                .expect("fixture is JSON");
        let converter = if name.starts_with("jira") {
            "jira_markup"
        } else {
            "gfm"
        };
        for (how, template) in [
            (
                "one cut line",
                "{{truncate (oneline body) 500}}".to_string(),
            ),
            (converter, format!("{{{{{converter} body max=500}}}}")),
        ] {
            let source = format!("source: b\nrules:\n  - name: b\n    let: {{body: \"{path}\"}}\n    text: \"{template}\"\n");
            let mapping = Mapping::from_source(Path::new("b.yaml"), &source).expect("mapping");
            group.bench_function(format!("{name}: {how}"), |b| {
                b.iter(|| {
                    mapping
                        .apply(&Event::new(black_box(&payload), &[]))
                        .expect("renders")
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, render, shape, each, bodies);
criterion_main!(benches);
