//! Every JSON example of the documentation pages the project started from deserializes into its Rust type and
//! re-serializes without losing a field. The fixtures come from `tools/extract_examples.py`; each names its source.

use std::path::PathBuf;

use serde_json::Value;
use switchboard_wire::model::SCHEMAS;

mod common;
use common::assert_keeps_every_field;

fn round_trip(type_name: &str, value: &Value, context: &str) -> Value {
    let entry = SCHEMAS
        .iter()
        .find(|entry| entry.name.eq_ignore_ascii_case(type_name))
        .unwrap_or_else(|| panic!("{context}: no Rust type for {type_name}"));
    let output =
        (entry.round_trip)(value.clone()).unwrap_or_else(|e| panic!("{context}: {type_name} refused {value}: {e}"));
    assert_keeps_every_field(value, &output, context);
    output
}

/// `resourceData` is undeclared (an entity or a collection of them), so its members are checked by their own type.
fn round_trip_resource_data(notifications: &Value, context: &str) {
    for notification in notifications["value"].as_array().into_iter().flatten() {
        let entities = match &notification["resourceData"] {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            single => vec![single.clone()],
        };
        for entity in entities {
            let type_name = entity["@odata.type"].as_str().expect("resourceData entities carry @odata.type");
            round_trip(type_name.trim_start_matches('#'), &entity, &format!("{context} resourceData"));
        }
    }
}

#[test]
fn every_documented_example_round_trips() {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec/examples");
    let mut fixtures: Vec<_> = std::fs::read_dir(&directory)
        .expect("spec/examples exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 10, "the extracted examples are present ({} found)", fixtures.len());
    for path in fixtures {
        let record: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let context =
            format!("{} ({})", path.file_name().unwrap().to_string_lossy(), record["source"].as_str().unwrap());
        let type_name = record["type"].as_str().unwrap();
        round_trip(type_name, &record["example"], &context);
        if type_name == "microsoft.graph.commsNotifications" {
            round_trip_resource_data(&record["example"], &context);
        }
    }
}
