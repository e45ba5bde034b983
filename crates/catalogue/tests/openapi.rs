//! The catalogue holds exactly the operations of both OpenAPI files, with their documented statuses,
//! permissions and response types.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use serde_json::Value;
use switchboard_catalogue::{ApiVersion, Documentation, ENDPOINTS, Endpoint, PermissionCheck, Response};

fn load(version: ApiVersion) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../spec/graph-openapi/{}-communications.yaml", version.as_str()));
    serde_norway::from_str(&std::fs::read_to_string(path).expect("spec file")).expect("valid YAML")
}

/// (METHOD, path) → the OpenAPI operation object.
fn operations(document: &Value) -> BTreeMap<(String, String), Value> {
    let mut result = BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                result.insert((method.to_uppercase(), path.clone()), operation.clone());
            }
        }
    }
    result
}

fn catalogue(version: ApiVersion, root: &str) -> BTreeMap<(String, String), &'static Endpoint> {
    ENDPOINTS
        .iter()
        .filter(|e| e.availability.includes(version))
        .map(|e| ((e.method.as_str().to_owned(), format!("{root}{}", e.path)), e))
        .collect()
}

#[test]
fn the_catalogue_has_exactly_the_operations_of_both_openapi_files() {
    for version in ApiVersion::ALL {
        let spec: BTreeSet<_> = operations(&load(version)).into_keys().collect();
        let communications: BTreeSet<_> = catalogue(version, "/communications/calls").into_keys().collect();
        let spec_communications: BTreeSet<_> =
            spec.iter().filter(|(_, p)| p.starts_with("/communications/")).cloned().collect();
        assert_eq!(
            communications.symmetric_difference(&spec_communications).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "{} /communications operations differ",
            version.as_str()
        );
        let spec_app: BTreeSet<_> = spec.iter().filter(|(_, p)| p.starts_with("/app/")).cloned().collect();
        match version {
            ApiVersion::Beta => {
                let app: BTreeSet<_> = catalogue(version, "/app/calls").into_keys().collect();
                assert_eq!(app, spec_app, "beta documents the /app/calls alias for every operation");
            }
            // v1.0's CSDL has no `app` singleton, but the Calls.Initiate.All permission page lists /app/calls/…
            // under v1.0, so the router serves the alias on both versions.
            ApiVersion::V1 => assert!(spec_app.is_empty()),
        }
        assert_eq!(
            spec.len(),
            spec_communications.len() + spec_app.len(),
            "every OpenAPI path is under /communications/calls or /app/calls"
        );
    }
    let v1 = operations(&load(ApiVersion::V1)).len();
    let beta = operations(&load(ApiVersion::Beta)).len();
    assert_eq!((v1, beta), (50, 124), "the counts the compatibility table reports");
}

#[test]
fn ids_and_routes_are_unique() {
    let ids: BTreeSet<_> = ENDPOINTS.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), ENDPOINTS.len(), "every EndpointId appears once");
    let routes: BTreeSet<_> = ENDPOINTS.iter().map(|e| (e.method, e.path)).collect();
    assert_eq!(routes.len(), ENDPOINTS.len(), "every method and path appears once");
}

fn documented_status(operation: &Value) -> Option<u16> {
    operation["x-emulator-documented-response"]["status"].as_str()?.split(' ').next()?.parse().ok()
}

/// `Calls.JoinGroupCall.All (docs spell it …)` → `Calls.JoinGroupCall.All`; `None (…)` → nothing.
fn documented_permissions(operation: &Value) -> Option<BTreeSet<String>> {
    let listed = operation["x-ms-permissions"]["application"].as_array()?;
    let mut names = BTreeSet::new();
    for item in listed {
        let item = item.as_str().unwrap();
        let without_notes = item.split('(').next().unwrap_or(item); // "(docs spell it …)" notes name the misspellings
        let alternatives = item.split(" or ").map(|part| part.split('(').next().unwrap_or(part));
        for word in alternatives.chain([without_notes]).flat_map(str::split_whitespace) {
            if word.starts_with("Calls.") {
                names.insert(word.trim_end_matches(',').to_owned());
            }
        }
    }
    Some(names)
}

/// The schema the 2XX response refers to, if any.
fn response_schema(document: &Value, operation: &Value) -> Option<String> {
    let success = operation["responses"].as_object()?.iter().find(|(code, _)| code.starts_with('2'))?.1;
    let success = match success.get("$ref").and_then(Value::as_str) {
        Some(reference) => &document["components"]["responses"][reference.rsplit('/').next().unwrap()],
        None => success,
    };
    let content = success.get("content")?.as_object()?.values().next()?;
    let schema = &content["schema"];
    let reference = schema
        .get("$ref")
        .or_else(|| schema.get("anyOf").and_then(|options| options[0].get("$ref")))
        .and_then(Value::as_str)?;
    Some(reference.rsplit('/').next().unwrap().to_owned())
}

#[test]
fn statuses_permissions_and_responses_agree_with_the_openapi_files() {
    for version in ApiVersion::ALL {
        let document = load(version);
        for ((method, path), operation) in operations(&document) {
            if !path.starts_with("/communications/") {
                continue;
            }
            let endpoint = catalogue(version, "/communications/calls")[&(method.clone(), path.clone())];
            let context = format!("{} {method} {path}", version.as_str());
            if let Some(status) = documented_status(&operation) {
                assert_eq!(endpoint.success, status, "{context}: success status");
                assert!(
                    matches!(endpoint.documentation, Documentation::Documented { .. }),
                    "{context}: the docs page describes it"
                );
            }
            if let Some(documented) = documented_permissions(&operation) {
                if documented.is_empty() {
                    assert_eq!(
                        endpoint.permission_check,
                        PermissionCheck::AtCallCreation,
                        "{context}: 'None' means checked at creation"
                    );
                } else {
                    let ours: BTreeSet<String> = endpoint.permissions.iter().map(|p| p.as_str().to_owned()).collect();
                    assert_eq!(ours, documented, "{context}: documented permissions");
                }
            }
            let expected = match endpoint.response {
                Response::Empty => None,
                Response::Entity(name) | Response::Operation(name) => Some(name.to_owned()),
                Response::Collection(name) => Some(format!("{name}CollectionResponse")),
                Response::Count => Some("ODataCountResponse".to_owned()),
                Response::Binary => None,
            };
            assert_eq!(expected, response_schema(&document, &operation), "{context}: response type");
        }
    }
}
