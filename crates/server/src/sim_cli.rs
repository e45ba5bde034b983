//! `switchboard sim …`: the test-control API (`/_sim`) of a running server from the shell. Each command is one
//! request; the answer is printed as JSON, and a failure prints Graph's error message and exits non-zero.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use uuid::Uuid;

/// Which server to talk to.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// The server's base URL
    #[arg(long, global = true, env = "SWITCHBOARD_URL", default_value = "http://127.0.0.1:8640")]
    url: String,
    /// The admin key, for a server outside dev mode
    #[arg(long, global = true, env = "SWITCHBOARD_ADMIN_KEY", hide_env_values = true)]
    key: Option<String>,
    /// A CA certificate (PEM) to trust, for a server started with --tls (its <data dir>/tls/ca.pem)
    #[arg(long, global = true, env = "SWITCHBOARD_CA")]
    ca: Option<PathBuf>,
    /// The tenant [default: the server's only tenant, or the dev tenant]
    #[arg(long, global = true)]
    tenant: Option<Uuid>,
}

/// How a simulated endpoint reacts to calls; without any of these flags, the tenant's default.
#[derive(Debug, Args)]
pub(crate) struct BehaviourArgs {
    /// Answer after this long, e.g. 2s
    #[arg(long, value_parser = humantime::parse_duration, group = "reaction")]
    answer_after: Option<Duration>,
    /// Ring until the caller gives up
    #[arg(long, group = "reaction")]
    ring: bool,
    /// Refuse as busy after this long
    #[arg(long, value_parser = humantime::parse_duration, group = "reaction")]
    busy_after: Option<Duration>,
    /// Decline after this long
    #[arg(long, value_parser = humantime::parse_duration, group = "reaction")]
    decline_after: Option<Duration>,
    /// Cannot be reached
    #[arg(long, group = "reaction")]
    unreachable: bool,
    /// Hang up this long after connecting
    #[arg(long, value_parser = humantime::parse_duration)]
    hang_up_after: Option<Duration>,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl BehaviourArgs {
    fn to_json(&self) -> Option<Value> {
        let response = if let Some(after) = self.answer_after {
            json!({"kind": "answer", "afterMs": millis(after)})
        } else if self.ring {
            json!({"kind": "ring"})
        } else if let Some(after) = self.busy_after {
            json!({"kind": "reject", "afterMs": millis(after), "declined": false})
        } else if let Some(after) = self.decline_after {
            json!({"kind": "reject", "afterMs": millis(after), "declined": true})
        } else if self.unreachable {
            json!({"kind": "unreachable"})
        } else if self.hang_up_after.is_some() {
            json!({"kind": "answer", "afterMs": 2000})
        } else {
            return None;
        };
        Some(json!({"response": response, "hangUpAfterMs": self.hang_up_after.map(millis)}))
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Simulated directory users
    #[command(subcommand)]
    Users(EntityCommand),
    /// Simulated phone numbers (the key is the E.164 number)
    #[command(subcommand)]
    Phones(EntityCommand),
    /// Other simulated bots
    #[command(subcommand)]
    Bots(EntityCommand),
    /// Simulated online meetings
    #[command(subcommand)]
    Meetings(MeetingCommand),
    /// A simulated user, phone or bot calls an app
    Call {
        /// Who calls: user:<id>, phone:<+number> or bot:<id>
        #[arg(long)]
        from: String,
        /// The app called
        #[arg(long)]
        app: Uuid,
        /// The app's application instance called (calls to a phone number)
        #[arg(long)]
        instance: Option<Uuid>,
    },
    /// Calls (active ones unless --all)
    Calls {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        app: Option<Uuid>,
    },
    /// One call, as the simulation sees it
    Show { call: String },
    /// A simulated participant of a call acts
    Act {
        call: String,
        /// The participant: its participant id, or its user id / number
        who: String,
        #[arg(value_enum)]
        action: Action,
        /// DTMF keys, for press-keys (e.g. 123#)
        #[arg(long)]
        keys: Option<String>,
        /// press-keys as DTMF audio instead of RFC 4733 events
        #[arg(long)]
        in_band: bool,
        /// For say: a media file uploaded to /_sim/media
        #[arg(long, conflicts_with = "tone_hz")]
        media: Option<String>,
        /// For say: a steady tone of this frequency (Hz)
        #[arg(long)]
        tone_hz: Option<f64>,
        /// For say: how long the tone lasts, e.g. 1s
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<Duration>,
    },
    /// What a participant (or `bot`) heard: levels, pitch, keys and silences per 100 ms
    Heard {
        call: String,
        who: String,
        /// From this offset into what it heard, e.g. 2s
        #[arg(long, value_parser = humantime::parse_duration)]
        from: Option<Duration>,
        /// To this offset
        #[arg(long, value_parser = humantime::parse_duration)]
        to: Option<Duration>,
    },
    /// Someone in the meeting admits the bot waiting in its lobby
    Admit { call: String },
    /// End a call with a result, as the service would on a failure
    Terminate {
        call: String,
        #[arg(long)]
        code: i32,
        #[arg(long)]
        subcode: i32,
        #[arg(long)]
        message: Option<String>,
    },
    /// Show the clock, switch its mode, or advance a virtual one
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Make the next requests of an operation (answer, createCall, … — docs/compatibility.md) fail or get lost
    Fault {
        operation: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Fail with this HTTP status (otherwise: lose the request)
        #[arg(long)]
        status: Option<u16>,
        #[arg(long, default_value = "UnknownError")]
        code: String,
        #[arg(long, default_value = "Injected fault.")]
        message: String,
    },
    /// The armed faults
    Faults,
    /// The tenant's defaults; with flags, change them
    Defaults {
        #[command(flatten)]
        behaviour: BehaviourArgs,
        /// Unknown identities fail rather than being created on first use
        #[arg(long)]
        strict: Option<bool>,
    },
    /// The notifications sent to bots, with their delivery status
    Notifications {
        #[arg(long)]
        call: Option<String>,
        #[arg(long)]
        app: Option<Uuid>,
        #[arg(long, value_parser = ["pending", "delivered", "deadLettered"])]
        status: Option<String>,
        /// Only those raised at or after this time (RFC 3339)
        #[arg(long)]
        since: Option<String>,
        /// Only those after this journal seq (the previous page's "next")
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// One notification, with every attempt at delivering it
    Notification { seq: i64 },
    /// Deliver dead letters again: one (by seq), or all of a call, an app, or everything
    Replay {
        seq: Option<i64>,
        #[arg(long, conflicts_with = "seq")]
        call: Option<String>,
        #[arg(long, conflicts_with = "seq")]
        app: Option<Uuid>,
        /// Deliver to this URL instead (required for those that had nowhere to go)
        #[arg(long)]
        to: Option<String>,
    },
    /// Show the delivery disorder knobs; with flags, set them (those not given are turned off)
    Delivery {
        /// Up to this many of a call's queued notifications go out in random order
        #[arg(long)]
        reorder_window: Option<u32>,
        /// The chance (0 to 1) that a delivered notification is delivered once more
        #[arg(long)]
        duplicate_rate: Option<f64>,
        /// Every POST waits this long first (e.g. 200ms)
        #[arg(long)]
        delay: Option<String>,
        /// … plus a random part of up to this much
        #[arg(long)]
        delay_jitter: Option<String>,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Forget the world, every call and notification
    Reset,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EntityCommand {
    /// Add one
    Add {
        /// The display name
        #[arg(long)]
        name: Option<String>,
        /// The id (users, bots) or number (phones) [default for users and bots: a new GUID]
        #[arg(long)]
        id: Option<String>,
        /// Bots: an application instance rather than an application
        #[arg(long)]
        instance: bool,
        /// Users: from outside the organization (meeting lobbies hold guests)
        #[arg(long)]
        guest: bool,
        #[command(flatten)]
        behaviour: BehaviourArgs,
    },
    List,
    Show {
        key: String,
    },
    /// Change how it behaves
    SetBehaviour {
        key: String,
        #[command(flatten)]
        behaviour: BehaviourArgs,
    },
    Remove {
        key: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MeetingCommand {
    /// Add a meeting
    Add {
        /// The organizer's user id
        #[arg(long)]
        organizer: Uuid,
        #[arg(long)]
        join_meeting_id: Option<String>,
        #[arg(long)]
        passcode: Option<String>,
        #[arg(long)]
        subject: Option<String>,
        /// Someone in the meeting: <user id>[:<leave after, e.g. 30s>]; repeat for more
        #[arg(long)]
        attendee: Vec<String>,
        /// Who joins without waiting in the lobby [default: organization]
        #[arg(long, value_parser = ["organizer", "organization", "organizationAndFederated", "organizationExcludingGuests", "invited", "everyone"])]
        lobby_bypass: Option<String>,
    },
    List,
    Show {
        key: String,
    },
    Remove {
        key: String,
    },
    /// End the meeting for everyone
    End {
        key: String,
    },
    /// A simulated user joins the meeting
    Join {
        key: String,
        #[arg(long)]
        user: Uuid,
        /// Leave again after this long
        #[arg(long, value_parser = humantime::parse_duration)]
        leave_after: Option<Duration>,
    },
    /// A simulated user leaves the meeting
    Leave {
        key: String,
        #[arg(long)]
        user: Uuid,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Action {
    Answer,
    Reject,
    Decline,
    HangUp,
    PressKeys,
    Say,
    Mute,
    Unmute,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClockCommand {
    Show,
    /// Move a virtual clock forward, e.g. 30s or 45m
    Advance {
        #[arg(value_parser = humantime::parse_duration)]
        by: Duration,
    },
    /// Switch to realtime or virtual
    Mode {
        #[arg(value_enum)]
        mode: crate::config::Clock,
    },
}

/// One request to `/_sim`.
struct Request {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
}

fn request(method: reqwest::Method, path: impl Into<String>, body: Option<Value>) -> Request {
    Request { method, path: path.into(), body }
}

fn entity_request(kind: &str, command: EntityCommand) -> Result<Request, String> {
    use reqwest::Method;
    Ok(match command {
        EntityCommand::Add { name, id, instance, guest, behaviour } => {
            let mut body = json!({"behaviour": behaviour.to_json()});
            match kind {
                "phones" => {
                    body["number"] = id.ok_or("a phone needs --id <+number>")?.into();
                    body["displayName"] = name.into();
                }
                _ => {
                    body["displayName"] = name.ok_or("--name is required")?.into();
                    if let Some(id) = id {
                        body["id"] = id.into();
                    }
                    if kind == "bots" {
                        body["instance"] = instance.into();
                    }
                    if kind == "users" {
                        body["guest"] = guest.into();
                    }
                }
            }
            request(Method::POST, format!("/{kind}"), Some(body))
        }
        EntityCommand::List => request(Method::GET, format!("/{kind}"), None),
        EntityCommand::Show { key } => request(Method::GET, format!("/{kind}/{key}"), None),
        EntityCommand::Remove { key } => request(Method::DELETE, format!("/{kind}/{key}"), None),
        // PATCH is the CLI's own (see `execute`): read, merge, replace.
        EntityCommand::SetBehaviour { key, behaviour } => {
            request(Method::PATCH, format!("/{kind}/{key}"), Some(json!({"behaviour": behaviour.to_json()})))
        }
    })
}

fn identity(from: &str) -> Result<Value, String> {
    let (kind, id) = from.split_once(':').ok_or("--from is user:<id>, phone:<+number> or bot:<id>")?;
    let key = match kind {
        "user" => "user",
        "phone" => "phone",
        "bot" => "application",
        other => return Err(format!("--from kind '{other}' is not user, phone or bot")),
    };
    Ok(json!({ key: {"id": id} }))
}

fn attendee(text: &str) -> Result<Value, String> {
    let (user, leave) = match text.split_once(':') {
        Some((user, after)) => {
            let after = humantime::parse_duration(after).map_err(|e| format!("--attendee {text}: {e}"))?;
            (user, Some(millis(after)))
        }
        None => (text, None),
    };
    Ok(json!({"userId": user, "leaveAfterMs": leave}))
}

fn build(command: SimCommand) -> Result<Request, String> {
    use reqwest::Method;
    Ok(match command {
        SimCommand::Users(c) => entity_request("users", c)?,
        SimCommand::Phones(c) => entity_request("phones", c)?,
        SimCommand::Bots(c) => entity_request("bots", c)?,
        SimCommand::Meetings(MeetingCommand::Add {
            organizer,
            join_meeting_id,
            passcode,
            subject,
            attendee: people,
            lobby_bypass,
        }) => {
            let attendees = people.iter().map(|a| attendee(a)).collect::<Result<Vec<_>, _>>()?;
            let mut body = json!({
                "organizerId": organizer,
                "joinMeetingId": join_meeting_id.unwrap_or_default(),
                "passcode": passcode,
                "subject": subject,
                "attendees": attendees,
            });
            if let Some(scope) = lobby_bypass {
                body["lobbyBypass"] = scope.into();
            }
            request(Method::POST, "/meetings", Some(body))
        }
        SimCommand::Meetings(MeetingCommand::List) => request(Method::GET, "/meetings", None),
        SimCommand::Meetings(MeetingCommand::Show { key }) => request(Method::GET, format!("/meetings/{key}"), None),
        SimCommand::Meetings(MeetingCommand::Remove { key }) => {
            request(Method::DELETE, format!("/meetings/{key}"), None)
        }
        SimCommand::Meetings(MeetingCommand::End { key }) => {
            request(Method::POST, format!("/meetings/{key}/end"), None)
        }
        SimCommand::Meetings(MeetingCommand::Join { key, user, leave_after }) => {
            let body = json!({"userId": user, "leaveAfterMs": leave_after.map(millis)});
            request(Method::POST, format!("/meetings/{key}/join"), Some(body))
        }
        SimCommand::Meetings(MeetingCommand::Leave { key, user }) => {
            request(Method::POST, format!("/meetings/{key}/leave"), Some(json!({"userId": user})))
        }
        SimCommand::Call { from, app, instance } => {
            let body = json!({"from": identity(&from)?, "appId": app, "applicationInstanceId": instance});
            request(Method::POST, "/calls", Some(body))
        }
        SimCommand::Calls { all, app } => {
            let mut path = format!("/calls?active={}", !all);
            if let Some(app) = app {
                path.push_str(&format!("&appId={app}"));
            }
            request(Method::GET, path, None)
        }
        SimCommand::Show { call } => request(Method::GET, format!("/calls/{call}"), None),
        SimCommand::Act { call, who, action, keys, in_band, media, tone_hz, duration } => {
            let (segment, body) = match action {
                Action::Answer => ("answer", None),
                Action::Reject => ("reject", None),
                Action::Decline => ("decline", None),
                Action::HangUp => ("hangUp", None),
                Action::Mute => ("mute", None),
                Action::Unmute => ("unmute", None),
                Action::PressKeys => {
                    ("pressKeys", Some(json!({"keys": keys.ok_or("press-keys needs --keys")?, "inBand": in_band})))
                }
                Action::Say => {
                    let speech = match (media, tone_hz) {
                        (Some(media), None) => json!({"media": media}),
                        (None, Some(hz)) => json!({"toneHz": hz, "durationMs": duration.map(millis)}),
                        _ => return Err("say needs --media <file> or --tone-hz <Hz> [--duration 1s]".into()),
                    };
                    ("say", Some(speech))
                }
            };
            request(Method::POST, format!("/calls/{call}/participants/{who}/{segment}"), body)
        }
        SimCommand::Heard { call, who, from, to } => {
            let mut query = url::form_urlencoded::Serializer::new(format!("/calls/{call}/participants/{who}/heard?"));
            for (name, value) in [("fromMs", from), ("toMs", to)] {
                if let Some(value) = value {
                    query.append_pair(name, &millis(value).to_string());
                }
            }
            request(Method::GET, query.finish(), None)
        }
        SimCommand::Admit { call } => request(Method::POST, format!("/calls/{call}/admit"), None),
        SimCommand::Terminate { call, code, subcode, message } => {
            let body = json!({"code": code, "subcode": subcode, "message": message});
            request(Method::POST, format!("/calls/{call}/terminate"), Some(body))
        }
        SimCommand::Clock(ClockCommand::Show) => request(Method::GET, "/clock", None),
        SimCommand::Clock(ClockCommand::Advance { by }) => {
            request(Method::POST, "/clock/advance", Some(json!({"milliseconds": millis(by)})))
        }
        SimCommand::Clock(ClockCommand::Mode { mode }) => {
            let mode = match mode {
                crate::config::Clock::Realtime => "realtime",
                crate::config::Clock::Virtual => "virtual",
            };
            request(Method::PUT, "/clock", Some(json!({"mode": mode})))
        }
        SimCommand::Fault { operation, count, status, code, message } => {
            let effect = match status {
                Some(status) => json!({"kind": "fail", "status": status, "code": code, "message": message}),
                None => json!({"kind": "lose"}),
            };
            request(Method::POST, "/faults", Some(json!({"operation": operation, "count": count, "effect": effect})))
        }
        SimCommand::Faults => request(Method::GET, "/faults", None),
        SimCommand::Defaults { behaviour, strict } => match (behaviour.to_json(), strict) {
            (None, None) => request(Method::GET, "/defaults", None),
            (behaviour, strict) => {
                request(Method::PATCH, "/defaults", Some(json!({"behaviour": behaviour, "strict": strict})))
            }
        },
        SimCommand::Notifications { call, app, status, since, after, limit } => {
            let mut query = url::form_urlencoded::Serializer::new(format!("/notifications?after={after}&"));
            let filters = [
                ("callId", call),
                ("appId", app.map(|a| a.to_string())),
                ("status", status),
                ("raisedSince", since),
                ("limit", limit.map(|l| l.to_string())),
            ];
            for (name, value) in filters {
                if let Some(value) = value {
                    query.append_pair(name, &value);
                }
            }
            request(Method::GET, query.finish(), None)
        }
        SimCommand::Notification { seq } => request(Method::GET, format!("/notifications/{seq}"), None),
        SimCommand::Replay { seq: Some(seq), to, .. } => {
            request(Method::POST, format!("/notifications/{seq}/replay"), Some(json!({"url": to})))
        }
        SimCommand::Replay { seq: None, call, app, to } => {
            request(Method::POST, "/notifications/replay", Some(json!({"callId": call, "appId": app, "url": to})))
        }
        SimCommand::Delivery {
            reorder_window: None,
            duplicate_rate: None,
            delay: None,
            delay_jitter: None,
            seed: None,
        } => request(Method::GET, "/delivery", None),
        SimCommand::Delivery { reorder_window, duplicate_rate, delay, delay_jitter, seed } => {
            let knobs = json!({
                "reorderWindow": reorder_window.unwrap_or_default(),
                "duplicateRate": duplicate_rate.unwrap_or_default(),
                "delay": delay.unwrap_or_else(|| "0s".to_owned()),
                "delayJitter": delay_jitter.unwrap_or_else(|| "0s".to_owned()),
                "seed": seed,
            });
            request(Method::PUT, "/delivery", Some(knobs))
        }
        SimCommand::Reset => request(Method::POST, "/reset", None),
    })
}

pub(crate) fn run(server: ServerArgs, command: SimCommand) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime starts");
    match runtime.block_on(execute(server, command)) {
        Ok(answer) => {
            if !answer.is_null() {
                println!("{}", serde_json::to_string_pretty(&answer).expect("JSON values always serialise"));
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("switchboard sim: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(server: ServerArgs, command: SimCommand) -> Result<Value, String> {
    let Request { method, path, body } = build(command)?;
    let mut client = reqwest::Client::builder();
    if let Some(ca) = &server.ca {
        let pem = std::fs::read(ca).map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
        let certificate = reqwest::Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", ca.display()))?;
        client = client.tls_certs_merge([certificate]);
    }
    let client = client.build().map_err(|e| e.to_string())?;
    let (method, path, body) = match method.as_str() {
        // PATCH is the CLI's own: read the entity, merge, and replace it.
        "PATCH" => {
            let current = send(&client, &server, reqwest::Method::GET, &path, None).await?;
            let mut merged = current;
            for (key, value) in body.unwrap_or_default().as_object().cloned().unwrap_or_default() {
                if !value.is_null() {
                    merged[key] = value;
                }
            }
            (reqwest::Method::PUT, path, Some(merged))
        }
        _ => (method, path, body),
    };
    send(&client, &server, method, &path, body).await
}

async fn send(
    client: &reqwest::Client,
    server: &ServerArgs,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut url = format!("{}/_sim{path}", server.url.trim_end_matches('/'));
    if let Some(tenant) = server.tenant {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&format!("tenantId={tenant}"));
    }
    let mut request = client.request(method, &url);
    if let Some(key) = &server.key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    let answer: Value =
        if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    if status.is_success() {
        Ok(answer)
    } else {
        let message = answer["error"]["message"].as_str().map_or_else(|| answer.to_string(), str::to_owned);
        Err(format!("{status}: {message}"))
    }
}
