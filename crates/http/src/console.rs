//! The web console (`/`): static files built into the binary, and what feeds it — every Graph request recorded in
//! the activity feed with its bodies, the feed as JSON (`/_sim/activity`) and live as server-sent events
//! (`/_sim/activity/stream`). The page is a shell with no data in it; everything it shows comes from `/_sim`,
//! `/_admin` and the journal, which need the admin key outside dev mode (the page asks for it).

use std::{convert::Infallible, sync::Arc, time::Instant};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, Query, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::get,
};
use futures_util::{Stream, StreamExt, stream};
use serde::Deserialize;
use serde_json::{Value, json, value::RawValue};
use switchboard_calls::activity::{ActivityEntry, Happened};
use switchboard_identity::AuthenticatedApp;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::{AppState, graph::AddressedCall, request::RequestIds};

/// Bodies larger than this are recorded as a note, not in full.
const RECORDED_BODY_BYTES: usize = 256 * 1024;

/// The console's files, by name.
const FILES: [(&str, &str, &str); 3] = [
    ("index.html", "text/html; charset=utf-8", include_str!("../console/index.html")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../console/app.js")),
    ("app.css", "text/css; charset=utf-8", include_str!("../console/app.css")),
];

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/", get(|| file(Path("index.html".to_owned())))).route("/console/{name}", get(file))
}

async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(file, ..)| *file == name) {
        Some((_, content_type, text)) => {
            ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], *text).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActivityQuery {
    #[serde(default)]
    after: u64,
    call_id: Option<String>,
    limit: Option<usize>,
}

/// `GET /_sim/activity`: what happened lately, oldest first.
pub(crate) async fn list(State(state): State<AppState>, Query(query): Query<ActivityQuery>) -> Json<Value> {
    let limit = query.limit.unwrap_or(1000).min(10_000);
    let entries = state.calls.activity().since(query.after, query.call_id.as_deref(), limit);
    Json(json!({"value": entries}))
}

/// `GET /_sim/activity/stream`: the entries after `after` (or `Last-Event-ID`), then each new one as it happens.
/// A watcher too slow to keep up is told to `resync` (read `/_sim/activity` again) rather than silently missing
/// entries.
pub(crate) async fn stream(
    State(state): State<AppState>,
    Query(query): Query<ActivityQuery>,
    headers: axum::http::HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let resume = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let (backlog, live) = state.calls.activity().watch(resume.unwrap_or(query.after));
    let call_id = query.call_id;
    let wanted = move |entry: &Arc<ActivityEntry>| {
        call_id.as_deref().is_none_or(|id| entry.call_id.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(id)))
    };
    let backlog = stream::iter(backlog.into_iter().filter(wanted.clone()).map(|e| Ok(event(&e))));
    let live = stream::unfold((live, false), |(mut live, ended): (Receiver<Arc<ActivityEntry>>, bool)| async move {
        if ended {
            return None;
        }
        Some(match live.recv().await {
            Ok(entry) => (Some(entry), (live, false)),
            Err(RecvError::Lagged(_)) => (None, (live, false)),
            Err(RecvError::Closed) => return None,
        })
    })
    .filter_map(move |entry| {
        let sent = match entry {
            Some(entry) => wanted(&entry).then(|| Ok(event(&entry))),
            None => Some(Ok(Event::default().event("resync").data("{}"))),
        };
        std::future::ready(sent)
    });
    Sse::new(backlog.chain(live)).keep_alive(KeepAlive::default())
}

fn event(entry: &ActivityEntry) -> Event {
    Event::default()
        .id(entry.seq.to_string())
        .event("activity")
        .data(serde_json::to_string(entry).expect("activity entries always serialise"))
}

/// Records every authenticated Graph request (`/v1.0/…`, `/beta/…`) in the activity feed: method, path, status, both
/// bodies. It runs after `graph::admit`: a request without credentials is not recorded, and its body not read here.
pub(crate) async fn record_graph_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.extensions().get::<AuthenticatedApp>().is_none() {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let arrived = chrono::Utc::now();
    let method = request.method().to_string();
    let ids = request.extensions().get::<RequestIds>().cloned();
    let request_id = ids.as_ref().map(|ids| ids.request_id.clone()).unwrap_or_default();
    let small = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|length| length <= RECORDED_BODY_BYTES);
    let (request, request_body) = if small {
        let (parts, body) = request.into_parts();
        match state.read_body(body, RECORDED_BODY_BYTES).await {
            Ok(bytes) => (Request::from_parts(parts, Body::from(bytes.clone())), recorded(&bytes)),
            Err(error) => {
                let ids = ids.expect("invariant: the stamp middleware gives every request its ids");
                return error.into_graph_response(&ids);
            }
        }
    } else {
        (request, None)
    };
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let addressed = response.extensions().get::<AddressedCall>().map(|call| call.0.clone());
    let (parts, body) = response.into_parts();
    let (response, response_body) = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            let kept = (bytes.len() <= RECORDED_BODY_BYTES).then(|| recorded(&bytes)).flatten();
            (Response::from_parts(parts, Body::from(bytes)), kept)
        }
        Err(_) => (Response::from_parts(parts, Body::empty()), None),
    };
    let call_id = addressed.or_else(|| {
        // A new call: its id is in the answer.
        (status == 201).then(|| created_id(response_body.as_deref()?)).flatten()
    });
    state.calls.activity().record_at(
        arrived,
        call_id,
        Happened::Request {
            method,
            path,
            status,
            request_id,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            request_body,
            response_body,
        },
    );
    response
}

/// A body as the JSON it is, checked, not parsed; anything else as a note of its size — never escaped into a JSON
/// string, which can make a body six times larger (a NUL byte is `\u0000`). Nothing when empty.
fn recorded(bytes: &Bytes) -> Option<Box<RawValue>> {
    if bytes.is_empty() {
        return None;
    }
    let json = std::str::from_utf8(bytes).ok().and_then(|text| RawValue::from_string(text.to_owned()).ok());
    json.or_else(|| RawValue::from_string(format!("\"({} bytes, not JSON)\"", bytes.len())).ok())
}

/// The `id` of a created entity.
fn created_id(body: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Created {
        id: String,
    }
    serde_json::from_str::<Created>(body.get()).ok().map(|created| created.id)
}
