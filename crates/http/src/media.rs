//! Media over HTTP: under `/_sim`, what simulated people say and the keys they press, what each participant heard
//! (as WAV, or analysed), and the media files they can say; at `/recordings/{id}`, the recordings `recordResponse`
//! made, for whoever holds their `recordingAccessToken` (docs:call-record example 2).

use axum::{
    Json, Router,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use serde_json::json;
use switchboard_calls::{
    CallsError,
    simulation::{Keypresses, Speech},
};
use switchboard_media::{analysis, codec};
use uuid::Uuid;

use crate::{
    AppState,
    control::{Answer, Filter, JsonBody, Keys, OrGraph},
    error::ApiError,
    request::RequestIds,
};

/// `pressKeys` and `say` of `/_sim/calls/{call}/participants/{who}/{action}`.
pub(crate) async fn act(
    state: &AppState,
    ids: &RequestIds,
    call: &str,
    who: &str,
    action: &str,
    request: Request,
) -> Answer {
    match action {
        "pressKeys" => {
            let JsonBody(presses) = JsonBody::<Keypresses>::from_request(request, state).await?;
            state.calls.press_keys(call, who, presses).await.or_graph(ids)?;
        }
        _ => {
            let JsonBody(speech) = JsonBody::<Speech>::from_request(request, state).await?;
            state.calls.say(call, who, speech).await.or_graph(ids)?;
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Range {
    #[serde(default)]
    from_ms: u64,
    to_ms: Option<u64>,
}

/// `GET …/participants/{who}/heard`: an analysis of what the participant heard.
pub(crate) async fn heard(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys((call, who)): Keys<(String, String)>,
    Filter(range): Filter<Range>,
) -> Answer {
    let to_ms = range.to_ms.unwrap_or(u64::MAX);
    let (leg, heard) = state.calls.heard(&call, &who, range.from_ms, to_ms).await.or_graph(&ids)?;
    let analysis = analysis::analyze(&heard.samples);
    let offset = range.from_ms;
    let windows: Vec<_> = analysis
        .windows
        .iter()
        .map(|w| {
            json!({
                "atMs": w.at_ms + offset,
                "levelDbfs": w.level_dbfs.map(|l| (l * 10.0).round() / 10.0),
                "dominantHz": w.dominant_hz.map(|f| (f * 10.0).round() / 10.0),
            })
        })
        .collect();
    let keys: Vec<_> =
        analysis.keys.iter().map(|k| json!({"atMs": k.at_ms + offset, "key": k.key.to_string()})).collect();
    let silences: Vec<_> =
        analysis.silences.iter().map(|s| json!({"fromMs": s.from_ms + offset, "toMs": s.to_ms + offset})).collect();
    Ok(Json(json!({
        "callId": call,
        "participantId": leg,
        "captureStartedAt": heard.capture_started_at,
        "captureMs": heard.capture_ms,
        "fromMs": offset,
        "durationMs": analysis.duration_ms,
        "windowMs": analysis::WINDOW_MS,
        "silenceBelowDbfs": analysis::SILENCE_DBFS,
        "windows": windows,
        "keys": keys,
        "silences": silences,
    }))
    .into_response())
}

/// `GET …/participants/{who}/heard.wav`: what the participant heard, as 16 kHz mono WAV.
pub(crate) async fn heard_wav(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys((call, who)): Keys<(String, String)>,
    Filter(range): Filter<Range>,
) -> Answer {
    let (_, heard) =
        state.calls.heard(&call, &who, range.from_ms, range.to_ms.unwrap_or(u64::MAX)).await.or_graph(&ids)?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], codec::wav(&heard.samples)).into_response())
}

/// `GET /_sim/media`: the files the simulated people can say.
pub(crate) async fn list_files(State(state): State<AppState>) -> Response {
    let files: Vec<_> =
        state.calls.media_files().await.into_iter().map(|(name, size)| json!({"name": name, "bytes": size})).collect();
    Json(json!({ "value": files })).into_response()
}

/// `PUT /_sim/media/{name}`: the file's bytes (WAV, MP3 or Ogg Vorbis), checked to decode.
pub(crate) async fn put_file(
    State(state): State<AppState>,
    ids: RequestIds,
    Keys(name): Keys<String>,
    body: Bytes,
) -> Answer {
    let duration_ms = state.calls.upload_media(&name, body.to_vec()).await.or_graph(&ids)?;
    Ok((StatusCode::CREATED, Json(json!({"name": name, "bytes": body.len(), "durationMs": duration_ms})))
        .into_response())
}

pub(crate) async fn get_file(State(state): State<AppState>, ids: RequestIds, Keys(name): Keys<String>) -> Answer {
    let bytes = state.calls.media_file(&name).await.or_graph(&ids)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

pub(crate) async fn delete_file(State(state): State<AppState>, ids: RequestIds, Keys(name): Keys<String>) -> Answer {
    if state.calls.delete_media_file(&name).await {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(CallsError::MediaFileNotFound(format!("there is no media file '{name}'"))).or_graph(&ids)
    }
}

pub(crate) fn recordings_router() -> Router<AppState> {
    Router::new().route("/recordings/{id}", get(recording))
}

/// A recording, for the bearer of its access token; anything else is the same 404.
async fn recording(State(state): State<AppState>, ids: RequestIds, Keys(id): Keys<Uuid>, request: Request) -> Answer {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or(ApiError::ControlUnauthorized(
            "a recording needs 'Authorization: Bearer <recordingAccessToken>' from its recordOperation",
        ))
        .or_graph(&ids)?;
    let wav = state.calls.recording(id, token).await.or_graph(&ids)?;
    // What Graph's recording host answers (docs:call-record example 2).
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], wav).into_response())
}
