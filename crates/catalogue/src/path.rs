//! Resolving a request path to a catalogue entry, the way Graph's URL parser does.
//!
//! Graph is lenient about URLs: segment names match without regard to case, a bound action may be written
//! namespace-qualified (`microsoft.graph.answer`), and OData key syntax (`calls('id')`) is accepted beside key
//! segments (`calls/id`) — the service itself returns the former in `@odata.context` values. Where a URL does not
//! match, Graph names the first segment it could not resolve.

use percent_encoding::percent_decode_str;

use crate::{ApiVersion, Documentation, ENDPOINTS, Endpoint, Kind, Method};

/// The key segments of a matched path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams {
    /// The root the request came through.
    pub root: Root,
    pub call: Option<String>,
    pub participant: Option<String>,
    pub operation: Option<String>,
    pub audio_routing_group: Option<String>,
    pub content_sharing_session: Option<String>,
}

impl PathParams {
    fn set(&mut self, name: &str, value: &str) {
        let slot = match name {
            "{call-id}" => &mut self.call,
            "{participant-id}" => &mut self.participant,
            "{commsOperation-id}" => &mut self.operation,
            "{audioRoutingGroup-id}" => &mut self.audio_routing_group,
            "{contentSharingSession-id}" => &mut self.content_sharing_session,
            other => unreachable!("catalogue templates use only known key names, found {other}"),
        };
        *slot = Some(value.to_owned());
    }
}

/// What a request path and method address.
#[derive(Debug)]
pub enum Resolution {
    /// A Graph operation, with its keys.
    Found { endpoint: &'static Endpoint, params: PathParams },
    /// The URL addresses a resource, but Graph offers no such method on it (including operations the OpenAPI
    /// converter generated that Graph does not have). `allowed` lists the methods it does offer.
    MethodNotAllowed { allowed: Vec<Method>, path: String },
    /// Graph's `BadRequest` "Resource not found for the segment '…'.", with the segment and, where it helps, why.
    UnknownSegment { segment: String, hint: Option<&'static str> },
    /// A prefix of the calls API that names no operation (`/communications`, `/app`).
    NotServed,
}

const ROOTS: [[&str; 2]; 2] = [["communications", "calls"], ["app", "calls"]];

/// The two roots of the calls API: `/communications/calls` and the deprecated `/app/calls`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Root {
    #[default]
    Communications,
    App,
}

impl Root {
    /// As OData names it in `@odata.context`.
    pub fn as_str(self) -> &'static str {
        match self {
            Root::Communications => "communications/calls",
            Root::App => "app/calls",
        }
    }
}

/// Splits a path into decoded segments, expanding OData key syntax `name('key')` into `name`, `key`.
fn segments(path: &str) -> Vec<String> {
    let mut result = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let decoded = percent_decode_str(raw).decode_utf8_lossy().into_owned();
        match decoded.split_once('(') {
            Some((name, rest)) if rest.ends_with(')') && !name.is_empty() => {
                let key = &rest[..rest.len() - 1];
                let key = key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')).unwrap_or(key);
                result.push(name.to_owned());
                result.push(key.replace("''", "'"));
            }
            _ => result.push(decoded),
        }
    }
    result
}

fn template_segments(endpoint: &Endpoint) -> impl Iterator<Item = &'static str> {
    endpoint.path.split('/').filter(|s| !s.is_empty())
}

/// Whether one request segment fits one template segment.
fn fits(template: &str, segment: &str, action_position: bool) -> bool {
    if template.starts_with('{') {
        return !segment.is_empty();
    }
    if segment.eq_ignore_ascii_case(template) {
        return true;
    }
    // `get`, not slicing: the prefix's length may fall inside a multi-byte character of the segment.
    action_position
        && segment.get(..NAMESPACE.len()).zip(segment.get(NAMESPACE.len()..)).is_some_and(|(namespace, name)| {
            namespace.eq_ignore_ascii_case(NAMESPACE) && name.eq_ignore_ascii_case(template)
        })
}

/// The namespace a bound action may be qualified with.
const NAMESPACE: &str = "microsoft.graph.";

/// How many leading segments of `rest` the endpoint's template accepts.
fn matched_prefix(endpoint: &Endpoint, rest: &[String]) -> usize {
    let template: Vec<&str> = template_segments(endpoint).collect();
    template
        .iter()
        .zip(rest)
        .enumerate()
        .take_while(|(index, (t, s))| fits(t, s, endpoint.kind == Kind::Action && index + 1 == template.len()))
        .count()
}

fn literal_count(endpoint: &Endpoint) -> usize {
    template_segments(endpoint).filter(|s| !s.starts_with('{')).count()
}

/// Resolves `path` (everything after the version segment, e.g. `/communications/calls/abc/answer`).
pub fn resolve(version: ApiVersion, method: &str, path: &str) -> Resolution {
    let segments = segments(path);
    let Some(first) = segments.first() else { return Resolution::NotServed };
    let Some(root) = ROOTS.iter().find(|root| first.eq_ignore_ascii_case(root[0])) else {
        return Resolution::UnknownSegment { segment: first.clone(), hint: None };
    };
    match segments.get(1) {
        None => return Resolution::NotServed,
        Some(second) if !second.eq_ignore_ascii_case(root[1]) => {
            return Resolution::UnknownSegment { segment: second.clone(), hint: None };
        }
        Some(_) => {}
    }
    let rest = &segments[2..];

    let available = || ENDPOINTS.iter().filter(|e| e.availability.includes(version));
    let fully_matches =
        |e: &&Endpoint| template_segments(e).count() == rest.len() && matched_prefix(e, rest) == rest.len();
    let full_matches: Vec<&Endpoint> = available().filter(fully_matches).collect();
    let best = full_matches.iter().map(|e| literal_count(e)).max();
    // A beta-only action read as a key under v1.0 (`participants/muteAll` as a participant id) is reported as
    // the unknown segment it is, with the reason.
    let beta_only = ENDPOINTS
        .iter()
        .filter(|e| !e.availability.includes(version))
        .filter(fully_matches)
        .any(|e| best.is_none_or(|best| literal_count(e) > best));
    let Some(best) = best.filter(|_| !beta_only) else {
        // The first segment no operation of this version accepts (the last one, when a key swallowed it).
        let depth = available().map(|e| matched_prefix(e, rest)).max().unwrap_or(0);
        let segment = rest.get(depth.min(rest.len().saturating_sub(1))).cloned().unwrap_or_default();
        let hint = beta_only.then_some("this operation exists only in the beta version; call it under /beta");
        return Resolution::UnknownSegment { segment, hint };
    };
    // A literal segment beats a key at the same place: `/calls/logTeleconferenceDeviceQuality` is the action.
    let same_resource: Vec<&Endpoint> = full_matches.into_iter().filter(|e| literal_count(e) == best).collect();
    let served = |e: &Endpoint| e.documentation != Documentation::Undocumented;
    match same_resource.iter().find(|e| e.method.as_str() == method && served(e)) {
        Some(endpoint) => {
            let root = if root[0] == ROOTS[1][0] { Root::App } else { Root::Communications };
            let mut params = PathParams { root, ..PathParams::default() };
            for (template, segment) in template_segments(endpoint).zip(rest) {
                if template.starts_with('{') {
                    params.set(template, segment);
                }
            }
            Resolution::Found { endpoint, params }
        }
        None => {
            let mut allowed: Vec<Method> = same_resource.iter().filter(|e| served(e)).map(|e| e.method).collect();
            allowed.sort();
            Resolution::MethodNotAllowed { allowed, path: same_resource[0].display_path() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EndpointId;

    fn found(version: ApiVersion, method: &str, path: &str) -> (EndpointId, PathParams) {
        match resolve(version, method, path) {
            Resolution::Found { endpoint, params } => (endpoint.id, params),
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    #[test]
    fn actions_match_in_any_case_and_namespace_qualified() {
        for path in [
            "/communications/calls/abc/answer",
            "/communications/calls/abc/Answer",
            "/communications/calls/abc/microsoft.graph.answer",
            "/Communications/Calls/abc/MICROSOFT.GRAPH.ANSWER",
            "/app/calls/abc/answer",
            "/communications/calls('abc')/answer",
            "/communications/calls(abc)/answer/",
        ] {
            let (id, params) = found(ApiVersion::V1, "POST", path);
            assert_eq!(id, EndpointId::Answer, "{path}");
            assert_eq!(params.call.as_deref(), Some("abc"), "{path}");
        }
    }

    #[test]
    fn literal_segments_beat_keys() {
        assert_eq!(
            found(ApiVersion::V1, "POST", "/communications/calls/logTeleconferenceDeviceQuality").0,
            EndpointId::LogTeleconferenceDeviceQuality
        );
        assert_eq!(
            found(ApiVersion::V1, "POST", "/communications/calls/c1/participants/invite").0,
            EndpointId::InviteParticipants
        );
        let (id, params) = found(ApiVersion::V1, "GET", "/communications/calls/c1/participants/p%201");
        assert_eq!((id, params.participant.as_deref()), (EndpointId::GetParticipant, Some("p 1")));
        assert!(matches!(
            resolve(ApiVersion::V1, "GET", "/communications/calls/c1/participants/invite"),
            Resolution::MethodNotAllowed { allowed, .. } if allowed == vec![Method::Post]
        ));
    }

    #[test]
    fn converter_artefacts_are_refused_with_the_methods_graph_offers() {
        match resolve(ApiVersion::V1, "PATCH", "/communications/calls/c1") {
            Resolution::MethodNotAllowed { allowed, path } => {
                assert_eq!(allowed, vec![Method::Get, Method::Delete]);
                assert_eq!(path, "/communications/calls/{call-id}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(resolve(ApiVersion::V1, "GET", "/communications/calls"), Resolution::MethodNotAllowed { allowed, .. } if allowed == vec![Method::Post])
        );
    }

    #[test]
    fn unknown_segments_are_named() {
        let unknown = |path| match resolve(ApiVersion::V1, "GET", path) {
            Resolution::UnknownSegment { segment, hint } => (segment, hint),
            other => panic!("{path}: {other:?}"),
        };
        assert_eq!(unknown("/communication/calls").0, "communication");
        assert_eq!(unknown("/communications/cals/x").0, "cals");
        assert_eq!(unknown("/communications/calls/c1/participants/p1/dance").0, "dance");
        let (segment, hint) = unknown("/communications/calls/c1/record");
        assert_eq!(segment, "record");
        assert!(hint.is_some_and(|h| h.contains("beta")));
        assert_eq!(found(ApiVersion::Beta, "POST", "/communications/calls/c1/record").0, EndpointId::Record);
        let (segment, hint) = unknown("/communications/calls/c1/participants/muteAll");
        assert_eq!(segment, "muteAll", "not read as a participant id under v1.0");
        assert!(hint.is_some());
        assert!(matches!(resolve(ApiVersion::V1, "GET", "/communications"), Resolution::NotServed));
    }

    #[test]
    fn multi_byte_characters_where_the_namespace_ends_are_unknown_segments() {
        // 15 ASCII bytes, then a character whose bytes straddle the 16-byte namespace prefix.
        let path = "/communications/calls/c1/microsoft.graph\u{e9}answer";
        assert!(matches!(resolve(ApiVersion::V1, "POST", path), Resolution::UnknownSegment { .. }));
        assert!(matches!(
            resolve(ApiVersion::V1, "POST", "/communications/calls/c1/abcdefghijklmno\u{1F600}"),
            Resolution::UnknownSegment { .. }
        ));
    }

    proptest::proptest! {
        /// Whatever the path, the resolver answers (a request URL is the attacker's to choose).
        #[test]
        fn any_path_resolves_without_panicking(
            version in proptest::prop_oneof![proptest::strategy::Just(ApiVersion::V1), proptest::strategy::Just(ApiVersion::Beta)],
            method in "GET|POST|PATCH|DELETE|PUT",
            segments in proptest::collection::vec("(communications|calls|app|participants|operations|microsoft\\.graph\\.|[a-zA-Z]{0,4}|\\PC{0,20}|%[0-9a-fA-F]{2}|\\(|\\)|')+", 0..8),
        ) {
            let path = format!("/{}", segments.join("/"));
            let _ = resolve(version, &method, &path);
        }

        #[test]
        fn arbitrary_strings_resolve_without_panicking(path in "\\PC*") {
            let _ = resolve(ApiVersion::V1, "POST", &path);
            let _ = resolve(ApiVersion::Beta, "GET", &format!("/communications/calls/{path}"));
        }
    }
}
