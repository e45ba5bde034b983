//! One POST of one or more notifications to a bot, with the headers Graph sends (graph-calls.md §c), following a
//! `302` the way Graph does for region affinity.

use std::time::Duration;

use reqwest::{
    StatusCode,
    header::{self, HeaderMap, HeaderName, HeaderValue},
};
use serde_json::Value;
use switchboard_egress::{AddressPolicy, refusal};
use switchboard_store::NotificationRecord;
use switchboard_wire::Shapes;
use url::Url;
use uuid::Uuid;

/// The `User-Agent` Graph's calling service sends with notifications (comms-samples issue #23).
pub(crate) const USER_AGENT: &str = "Microsoft-Skype/3.0,(Calling/1.0)";
/// Redirects followed within one attempt.
const MAX_REDIRECTS: usize = 3;
/// How much of the receiver's answer the journal keeps.
const EXCERPT_BYTES: usize = 1024;
/// The per-call sequence number of what a POST carries (`5`, or `5-7` for a batch), so a bot can spot gaps and
/// repeats. Switchboard's own; Graph has no such header.
pub(crate) const SEQUENCE_HEADER: &str = "switchboard-sequence";

/// What goes out in one POST: one notification, or several of one call batched into one `commsNotifications`.
pub(crate) struct Envelope {
    pub(crate) url: String,
    pub(crate) body: Vec<u8>,
    headers: HeaderMap,
    shapes: Shapes,
}

impl Envelope {
    /// `records` are consecutive notifications of one call, for one URL.
    pub(crate) fn new(records: &[NotificationRecord], shapes: Shapes) -> Envelope {
        let (first, last) = (&records[0], &records[records.len() - 1]);
        let notification = &first.notification;
        let body = if records.len() == 1 {
            notification.body.clone().into_bytes()
        } else {
            let values: Vec<Value> = records
                .iter()
                .flat_map(|record| match serde_json::from_str::<Value>(&record.notification.body) {
                    Ok(Value::Object(mut body)) => match body.remove("value") {
                        Some(Value::Array(values)) => values,
                        _ => Vec::new(),
                    },
                    _ => Vec::new(),
                })
                .collect();
            let batch = serde_json::json!({"@odata.type": "#microsoft.graph.commsNotifications", "value": values});
            serde_json::to_vec(&batch).expect("JSON values always serialise")
        };
        // One notification: its own id. A batch: an id made from its members', so that a retry of the same batch (the
        // dispatcher retries a batch as it was) repeats it and a bot can drop it as a duplicate.
        let message_id = if records.len() == 1 {
            notification.message_id
        } else {
            let members: String = records.iter().map(|r| r.notification.message_id.to_string()).collect();
            Uuid::new_v5(&notification.message_id, members.as_bytes())
        };
        let sequence = if records.len() == 1 {
            first.call_sequence.to_string()
        } else {
            format!("{}-{}", first.call_sequence, last.call_sequence)
        };
        let mut headers = HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        put("content-type", "application/json");
        put("accept", "application/json");
        put("user-agent", USER_AGENT);
        put("scenario-id", &notification.scenario_id);
        put("x-microsoft-skype-chain-id", &notification.chain_id);
        put("x-microsoft-skype-message-id", &message_id.to_string());
        if shapes.observed() {
            // Live POSTs (comms-samples #571, 2022; msteams-docs#9170, 2023) carry the caller's region and where in
            // Teams the call is served, and no tenant header. Their values were redacted: these are Switchboard's.
            put("x-microsoft-skype-caller-region", "amer");
            put("ms-teams-region", "amer");
            put("ms-teams-partition", "switchboard");
            put("ms-teams-ring", "general");
        } else {
            put("x-microsoft-tenant", &notification.tenant_id.to_string());
        }
        put(SEQUENCE_HEADER, &sequence);
        Envelope { url: notification.url.clone().unwrap_or_default(), body, headers, shapes }
    }
}

#[cfg(test)]
impl Envelope {
    pub(crate) fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }
}

/// Where notifications may be posted: the callback URL and every redirect on the way.
#[derive(Debug, Clone)]
pub struct Destinations {
    /// The addresses receivers may have (special-purpose ones only where allowed).
    pub addresses: AddressPolicy,
    /// Plain http to loopback receivers (dev mode, as `callbackUri` accepts there); otherwise https only, as Graph
    /// requires of callbacks (res:call).
    pub loopback_http: bool,
}

impl Destinations {
    /// Why a notification may not be posted to `url`, if it may not.
    fn check(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|e| format!("'{url}' is not a URL: {e}"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.loopback_http && switchboard_egress::is_loopback(&parsed) => {}
            "http" if self.loopback_http => {
                return Err(format!(
                    "'{url}' is plain http; notifications go to https URLs, or plain http on loopback"
                ));
            }
            "http" => return Err(format!("'{url}' is plain http; notifications go only to https URLs")),
            other => return Err(format!("'{url}' is a {other} URL; notifications go only to https URLs")),
        }
        self.addresses.check_url(&parsed).map_err(|refused| forbidden(&refused))?;
        Ok(parsed)
    }
}

fn forbidden(refused: &switchboard_egress::Refused) -> String {
    format!(
        "{refused}: notifications are not posted there unless the network is allowed ([notifications] \
         allowed_networks or allow_private_addresses)"
    )
}

/// What came of a POST.
pub(crate) struct Sent {
    /// The headers of the (last) request, the token left out.
    pub(crate) headers: Vec<(String, String)>,
    /// Where it went in the end.
    pub(crate) url: String,
    pub(crate) result: Result<Answered, NotSent>,
}

/// A POST that got no answer.
pub(crate) enum NotSent {
    /// The connection failed, or the answer did not come in time: worth trying again.
    Transport(String),
    /// The URL (or a redirect) leads where notifications may not go: trying again would not help.
    Forbidden(String),
}

impl NotSent {
    pub(crate) fn message(self) -> String {
        match self {
            NotSent::Transport(message) | NotSent::Forbidden(message) => message,
        }
    }
}

pub(crate) struct Answered {
    pub(crate) status: StatusCode,
    pub(crate) excerpt: String,
    pub(crate) retry_after: Option<String>,
}

/// POSTs `envelope` with `token`, to where `destinations` allow.
pub(crate) async fn send(
    client: &reqwest::Client,
    envelope: &Envelope,
    token: &str,
    destinations: &Destinations,
) -> Sent {
    let mut url = envelope.url.clone();
    let mut headers = envelope.headers.clone();
    if let Ok(bearer) = HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(header::AUTHORIZATION, bearer);
    }
    for _ in 0..=MAX_REDIRECTS {
        // Checked before the request is built, so the token never leaves for a destination that is not allowed.
        let target = match destinations.check(&url) {
            Ok(target) => target,
            Err(why) => return Sent { headers: journal_headers(&headers), url, result: Err(NotSent::Forbidden(why)) },
        };
        // A fresh id per request, as the docs' Graph requests have one; live notification POSTs have none.
        if envelope.shapes == Shapes::Documented {
            let request_id =
                HeaderValue::from_str(&Uuid::new_v4().to_string()).expect("a UUID is a valid header value");
            headers.insert(HeaderName::from_static("client-request-id"), request_id);
        }
        let response = client.post(target).headers(headers.clone()).body(envelope.body.clone()).send().await;
        let journaled = journal_headers(&headers);
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                let result = match refusal(&error) {
                    Some(refused) => NotSent::Forbidden(forbidden(refused)),
                    None => NotSent::Transport(describe(&error)),
                };
                return Sent { headers: journaled, url, result: Err(result) };
            }
        };
        let status = response.status();
        let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok());
        if let (StatusCode::FOUND | StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT, Some(location)) =
            (status, location)
        {
            // Region affinity: the bot asks for the notification to be re-posted elsewhere (graph-calls.md §c). The
            // next round checks where.
            match response.url().join(location) {
                Ok(next) => {
                    url = next.to_string();
                    continue;
                }
                Err(error) => {
                    let why = format!("the receiver redirected to '{location}', which is not a URL: {error}");
                    return Sent { headers: journaled, url, result: Err(NotSent::Forbidden(why)) };
                }
            }
        }
        let retry_after = response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let excerpt = excerpt(response).await;
        return Sent { headers: journaled, url, result: Ok(Answered { status, excerpt, retry_after }) };
    }
    let result = Err(NotSent::Transport(format!("more than {MAX_REDIRECTS} redirects")));
    Sent { headers: journal_headers(&headers), url, result }
}

/// The start of a response body; the rest is not read.
async fn excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match tokio::time::timeout(Duration::from_secs(1), response.chunk()).await {
            Ok(Ok(Some(chunk))) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Headers as the journal keeps them: every one but the bearer token, which is a credential of the bot's.
fn journal_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name == header::AUTHORIZATION {
                "Bearer (left out of the journal)".to_owned()
            } else {
                value.to_str().unwrap_or_default().to_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// A transport error with its causes, which reqwest keeps in its source chain.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
