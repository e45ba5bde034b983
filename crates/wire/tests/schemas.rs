//! Every schema of both OpenAPI descriptions has a Rust type that keeps every property.
//!
//! The test reads the YAML itself (not the generator's view of it), builds a sample instance of each schema with
//! every property set, adds an instance annotation (and, for open types, an undeclared property), and checks the
//! value survives a trip through the registered Rust type. Closed types must refuse an undeclared property.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use serde_json::{Value, json};
use switchboard_wire::model::{RoundTrip, SCHEMAS};

mod common;
use common::assert_keeps_every_field;

struct Spec {
    version: &'static str,
    schemas: BTreeMap<String, Value>,
    paths: BTreeMap<String, Value>,
}

fn load(version: &'static str) -> Spec {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../spec/graph-openapi/{version}-communications.yaml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let document: Value = serde_norway::from_str(&text).expect("the OpenAPI file is valid YAML");
    let schemas = document["components"]["schemas"].as_object().expect("components.schemas").clone();
    let paths = document["paths"].as_object().expect("paths").clone();
    Spec { version, schemas: schemas.into_iter().collect(), paths: paths.into_iter().collect() }
}

fn specs() -> Vec<Spec> {
    vec![load("v1.0"), load("beta")]
}

fn ref_name(reference: &Value) -> &str {
    reference.as_str().and_then(|r| r.rsplit('/').next()).expect("a $ref string")
}

impl Spec {
    /// The part of a schema that declares its own properties, and its base type, if any.
    fn own_and_base<'a>(&'a self, name: &str) -> (&'a Value, Option<&'a str>) {
        let schema = &self.schemas[name];
        match schema.get("allOf").and_then(Value::as_array) {
            Some(parts) => {
                let base = parts.iter().find_map(|p| p.get("$ref")).map(ref_name);
                let own = parts.iter().find(|p| p.get("$ref").is_none()).unwrap_or(schema);
                (own, base)
            }
            None => (schema, None),
        }
    }

    fn is_abstract(&self, name: &str) -> bool {
        self.schemas[name].get("x-ms-abstract").and_then(Value::as_bool).unwrap_or(false)
    }

    fn is_open(&self, name: &str) -> bool {
        let (own, base) = self.own_and_base(name);
        self.schemas[name].get("x-ms-open-type").and_then(Value::as_bool).unwrap_or(false)
            || own.get("x-ms-open-type").and_then(Value::as_bool).unwrap_or(false)
            || base.is_some_and(|b| self.is_open(b))
    }

    fn properties(&self, name: &str) -> Vec<(String, Value)> {
        let (own, base) = self.own_and_base(name);
        let mut properties = base.map(|b| self.properties(b)).unwrap_or_default();
        if let Some(map) = own.get("properties").and_then(Value::as_object) {
            properties.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        properties
    }

    /// A concrete type to stand for `name`: itself, or for an abstract type its first concrete descendant.
    fn concrete(&self, name: &str) -> String {
        if !self.is_abstract(name) {
            return name.to_owned();
        }
        let child = self
            .schemas
            .keys()
            .filter(|candidate| self.own_and_base(candidate).1 == Some(name))
            .min()
            .unwrap_or_else(|| panic!("abstract {name} has no subtype"));
        self.concrete(child)
    }

    fn sample_named(&self, name: &str, depth: usize) -> Value {
        let schema = &self.schemas[name];
        if let Some(members) = schema.get("enum").and_then(Value::as_array) {
            return members.iter().find(|m| !m.is_null()).cloned().expect("an enum member");
        }
        if schema.get("type").and_then(Value::as_str) == Some("integer") {
            return json!(7);
        }
        let concrete = self.concrete(name);
        let mut object = serde_json::Map::new();
        for (property, declaration) in self.properties(&concrete) {
            if property == "@odata.type" {
                object.insert(property, json!(format!("#{concrete}")));
            } else if let Some(value) = self.sample(&declaration, depth + 1) {
                object.insert(property, value);
            }
        }
        object.insert("@odata.etag".into(), json!("W/\"3\""));
        Value::Object(object)
    }

    /// A value for a property declaration; `None` where nesting is too deep to be useful.
    fn sample(&self, declaration: &Value, depth: usize) -> Option<Value> {
        if let Some(reference) = declaration.get("$ref") {
            let name = ref_name(reference);
            let is_object = self.schemas[name].get("enum").is_none()
                && self.schemas[name].get("type").is_none_or(|t| t == "object");
            if is_object && depth > 4 {
                return None;
            }
            return Some(self.sample_named(name, depth));
        }
        for combinator in ["anyOf", "allOf"] {
            if let Some(options) = declaration.get(combinator).and_then(Value::as_array) {
                let reference = options.iter().find(|o| o.get("$ref").is_some()).expect("a $ref option");
                return self.sample(reference, depth);
            }
        }
        if declaration.get("oneOf").is_some() {
            return Some(json!(12.5));
        }
        if let Some(members) = declaration.get("enum").and_then(Value::as_array) {
            return members.iter().find(|m| !m.is_null()).cloned();
        }
        let format = declaration.get("format").and_then(Value::as_str);
        Some(match (declaration.get("type").and_then(Value::as_str), format) {
            (Some("array"), _) => Value::Array(self.sample(&declaration["items"], depth).into_iter().collect()),
            (Some("string"), Some("date-time")) => json!("2026-11-22T09:30:00Z"),
            (Some("string"), Some("uuid")) => json!("5f4d1c2a-2b3c-4d5e-8f90-a1b2c3d4e5f6"),
            (Some("string"), Some("duration")) => json!("PT1.5S"),
            (Some("string"), Some("base64url")) => json!("iVBORw0KGgo"),
            (Some("string"), _) => json!("sample text"),
            (Some("boolean"), _) => json!(true),
            (Some("number") | Some("integer"), Some("int32")) => json!(32),
            (Some("number") | Some("integer"), Some("int64")) => json!(64),
            (None, None) => json!({"free": "form"}),
            other => panic!("no sample for {other:?} in {declaration}"),
        })
    }
}

fn registry() -> BTreeMap<&'static str, RoundTrip> {
    SCHEMAS.iter().map(|entry| (entry.name, entry.round_trip)).collect()
}

#[test]
fn every_schema_has_a_rust_type_that_keeps_every_property() {
    let registry = registry();
    let mut checked = BTreeSet::new();
    for spec in specs() {
        for name in spec.schemas.keys() {
            let round_trip = registry
                .get(name.as_str())
                .unwrap_or_else(|| panic!("{} schema {name} has no Rust type in model::SCHEMAS", spec.version));
            let sample = spec.sample_named(name, 0);
            let output = round_trip(sample.clone())
                .unwrap_or_else(|e| panic!("{} {name}: the sample {sample} does not deserialize: {e}", spec.version));
            assert_keeps_every_field(&sample, &output, &format!("{} {name}", spec.version));
            checked.insert(name.clone());
        }
    }
    let schema_entries: BTreeSet<_> =
        registry.keys().filter(|n| !n.ends_with("PostRequestBody")).map(|n| n.to_string()).collect();
    assert_eq!(schema_entries, checked, "model::SCHEMAS lists exactly the schemas of the two OpenAPI files");
}

/// An open type would carry a property its Rust struct forgot as additional data, so the round trip above
/// cannot see it. A typed field refuses a value of the wrong JSON type; additional data would not.
#[test]
fn every_declared_property_is_a_typed_field() {
    let registry = registry();
    for spec in specs() {
        for name in spec.schemas.keys() {
            let sample = spec.sample_named(name, 0);
            let concrete = spec.concrete(name);
            for (property, declaration) in spec.properties(&concrete) {
                let Some(value) = sample.get(&property) else { continue };
                if property.starts_with('@') || value.is_null() {
                    continue;
                }
                let poison = if value.is_object() || value.is_array() {
                    json!("wrongly typed")
                } else {
                    json!({"wrongly": "typed"})
                };
                let mut poisoned = sample.clone();
                poisoned[&property] = poison;
                assert!(
                    registry[name.as_str()](poisoned).is_err(),
                    "{} {name}.{property} ({declaration}) is not a typed field of its Rust type",
                    spec.version
                );
            }
        }
    }
}

#[test]
fn open_types_echo_unknown_properties_and_closed_types_refuse_them() {
    let registry = registry();
    for spec in specs() {
        for name in spec.schemas.keys() {
            let mut sample = spec.sample_named(name, 0);
            let Some(object) = sample.as_object_mut() else { continue };
            if !object.contains_key("@odata.type") {
                continue; // collection envelopes and error bodies: not Graph entity/complex types
            }
            object.insert("switchboardProbe".into(), json!({"nested": [1, "two"]}));
            let result = registry[name.as_str()](sample.clone());
            let concrete = spec.concrete(name);
            if spec.is_open(&concrete) {
                let output = result.unwrap_or_else(|e| panic!("open {concrete} refused an unknown property: {e}"));
                assert_eq!(output["switchboardProbe"], sample["switchboardProbe"], "{concrete} echoes it");
            } else {
                let error =
                    result.expect_err(&format!("closed {concrete} must refuse an unknown property")).to_string();
                assert!(error.contains("'switchboardProbe' does not exist on type"), "{concrete}: {error}");
            }
        }
    }
}

#[test]
fn every_action_body_has_a_rust_type() {
    let registry = registry();
    for spec in specs() {
        for (path, item) in &spec.paths {
            let Some(schema) = item.pointer("/post/requestBody/content/application~1json/schema") else { continue };
            if schema.get("$ref").is_some() || !path.starts_with("/communications/") {
                continue;
            }
            let action = path.rsplit('/').next().unwrap();
            let type_name = format!("{}{}PostRequestBody", action[..1].to_uppercase(), &action[1..]);
            let mut sample = serde_json::Map::new();
            for (property, declaration) in schema["properties"].as_object().into_iter().flatten() {
                if let Some(value) = spec.sample(declaration, 1) {
                    sample.insert(property.clone(), value);
                }
            }
            let sample = Value::Object(sample);
            let candidates = [type_name.clone(), format!("Participant{type_name}")];
            let accepted = candidates.iter().filter_map(|c| registry.get(c.as_str())).any(|round_trip| {
                round_trip(sample.clone()).is_ok_and(|output| {
                    assert_keeps_every_field(&sample, &output, path);
                    true
                })
            });
            assert!(accepted, "{} POST {path}: no PostRequestBody type accepts {sample}", spec.version);
        }
    }
}

#[test]
fn enums_parse_any_case_and_are_written_lower_camel() {
    use switchboard_wire::model::{CallState, Modality, OperationStatus, Tone};
    let status: OperationStatus = serde_json::from_value(json!("Running")).unwrap();
    assert_eq!(serde_json::to_value(status).unwrap(), json!("running"));
    let status: OperationStatus = serde_json::from_value(json!("notStarted")).unwrap();
    assert_eq!(status, OperationStatus::NotStarted);
    let tone: Tone = serde_json::from_value(json!("Tone1")).unwrap();
    assert_eq!(serde_json::to_value(tone).unwrap(), json!("tone1"));
    assert_eq!(serde_json::to_value(CallState::TransferAccepted).unwrap(), json!("transferAccepted"));
    let error = serde_json::from_value::<Modality>(json!("smell")).unwrap_err().to_string();
    assert!(error.contains("'smell' is not a member of the enum type 'microsoft.graph.modality'"), "{error}");
    assert!(error.contains("audio, video"), "the message lists the members: {error}");
}
