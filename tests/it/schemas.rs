//! The editor schemas: generated from the loaders' own types, committed under
//! `schemas/` exactly as `hookbridge schema` prints them, and true to the files:
//! every shipped file passes, structurally wrong ones fail.

use serde_json::Value;

use crate::support::{hookbridge, path, repo, text};

fn generated(which: &str) -> String {
    let out = hookbridge(&repo(), &["schema", which], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn validator(which: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&generated(which)).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// A YAML file as the JSON an editor's language server checks.
fn as_json(yaml: &str) -> Value {
    serde_saphyr::from_str(yaml).expect("the file is YAML")
}

fn problems(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    validator
        .iter_errors(&as_json(yaml))
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    for which in ["config", "mapping"] {
        let committed = std::fs::read_to_string(path(&format!("schemas/{which}.schema.json")))
            .expect("committed schema");
        assert!(
            committed == generated(which),
            "schemas/{which}.schema.json differs from `hookbridge schema {which}`: regenerate it"
        );
    }
}

#[test]
fn the_schemas_list_kinds_schemes_and_helpers() {
    let config: Value = serde_json::from_str(&generated("config")).unwrap();
    let kinds = &config["$defs"]["TargetKind"]["enum"];
    assert!(
        kinds
            .as_array()
            .is_some_and(|k| k.len() == 10 && k.contains(&"chime".into())),
        "{kinds}"
    );
    let schemes = &config["$defs"]["Verify"]["oneOf"][1]["properties"];
    for scheme in ["github", "jira", "standard-webhooks", "hmac", "token"] {
        assert!(schemes.get(scheme).is_some(), "{scheme}: {schemes}");
    }
    let mapping: Value = serde_json::from_str(&generated("mapping")).unwrap();
    let text = mapping["$defs"]["Rule"]["properties"]["text"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains("Helpers: ") && text.contains("href") && text.contains("pluralize"),
        "{text}"
    );
}

#[test]
fn every_shipped_file_passes_and_names_its_schema() {
    let config = std::fs::read_to_string(path("config.yaml")).unwrap();
    assert!(config.starts_with("# yaml-language-server: $schema=schemas/config.schema.json\n"));
    assert_eq!(
        problems(&validator("config"), &config),
        Vec::<String>::new()
    );
    let mappings = validator("mapping");
    for entry in std::fs::read_dir(path("mappings")).unwrap() {
        let file = entry.unwrap().path();
        let yaml = std::fs::read_to_string(&file).unwrap();
        assert!(
            yaml.starts_with("# yaml-language-server: $schema=../schemas/mapping.schema.json\n"),
            "{}",
            file.display()
        );
        assert_eq!(
            problems(&mappings, &yaml),
            Vec::<String>::new(),
            "{}",
            file.display()
        );
    }
}

#[test]
fn structurally_wrong_files_fail_and_semantic_errors_are_left_to_check() {
    let mappings = validator("mapping");
    for wrong in [
        "rules:\n  - name: a\n    whne: []\n    text: x\n",
        "rules: 3\n",
        "rules:\n  - name: a\n    when: [{path: $.a, equals: 1, bogus: 2}]\n",
    ] {
        assert!(!problems(&mappings, wrong).is_empty(), "passed: {wrong}");
    }
    let case =
        |name: &str| std::fs::read_to_string(path(&format!("tests/it/check/{name}.yaml"))).unwrap();
    for wrong in ["mapping_unknown_key", "mapping_wrong_type"] {
        assert!(
            !problems(&mappings, &case(wrong)).is_empty(),
            "{wrong} passed"
        );
    }
    // Its problems are an unknown helper, a broken regex, a bad JSONPath...: only
    // `check` can see them.
    assert_eq!(
        problems(&mappings, &case("mapping_errors")),
        Vec::<String>::new()
    );
    let config = problems(&validator("config"), &case("config_errors"));
    assert!(
        config.iter().any(|p| p.contains("\"slak\"")),
        "an unknown target kind is outside the enum: {config:?}"
    );
}
