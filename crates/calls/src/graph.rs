//! The Graph operations on calls: requests in wire types become engine commands against the simulated world, and
//! answers come back as Graph JSON.

use serde_json::{Map, Value, json};
use switchboard_catalogue::{ApiVersion, Permission};
use switchboard_engine::{
    ActionKind, ActionRequest, Answer, Call, CallSetup, Command, Replaces, TransferRequest, codes,
    default_redirect_timeout,
    model::{
        Behaviour, CallKind, CallState, Direction, EndpointKind, IdentityKind, IdentitySet, MediaHosting, Peer,
        PeerRole, PeerStatus, Response,
    },
};
use switchboard_wire::model as wire;
use uuid::Uuid;

use crate::{
    Caller, Calls, CallsError, render,
    world::{Endpoint, LobbyBypass, MeetingKey, SimAttendee, SimMeeting, SimUser, Unresolved},
};

/// The meeting a join found.
struct Joined {
    meeting_id: String,
    /// Who is in it, as connected peers.
    attendees: Vec<Peer>,
    bot_in_lobby: bool,
    lobby_timeout: std::time::Duration,
}

/// A call just created: its id, and the body of the 201.
pub struct Created {
    pub call_id: String,
    pub location: String,
    pub body: Value,
}

/// An operation an action answered with: its URL for the `Location` header and its body.
pub struct OperationCreated {
    pub location: String,
    pub body: Value,
}

/// Properties of a call only the service sets; a bot sending them has them ignored, as Graph ignores read-only
/// properties.
const SERVICE_OWNED: &[&str] = &[
    "@odata.type",
    "id",
    "state",
    "direction",
    "myParticipantId",
    "resultInfo",
    "answeredBy",
    "terminationReason",
    "mediaState",
    "toneInfo",
    "callRoutes",
    "activeModalities",
    "transcription",
    "participants",
    "operations",
    "audioRoutingGroups",
    "contentSharingSessions",
    "incomingContext",
];

/// A wire type as the JSON object it serialises to.
pub(crate) fn to_object<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value).expect("wire types always serialise") {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// What kind of call a create-call request asks for, and what Graph requires of the app for it
/// (docs:application-post-calls permissions; graph-calls.md §a).
fn classify(request: &Map<String, Value>) -> (CallKind, &'static str, &'static [Permission]) {
    use Permission::*;
    let targets = request.get("targets").and_then(Value::as_array).map_or(0, Vec::len);
    if request.get("meetingInfo").is_some_and(|v| !v.is_null()) || request.get("chatInfo").is_some_and(|v| !v.is_null())
    {
        let kind = CallKind::Meeting { meeting_id: String::new() };
        (kind, "joining a meeting", &[CallsJoinGroupCallAll, CallsJoinGroupCallAsGuestAll, CallsJoinGroupCallsChat])
    } else if targets > 1 {
        (CallKind::Group, "a group call", &[CallsInitiateGroupCallAll])
    } else {
        (CallKind::PeerToPeer, "a peer-to-peer call", &[CallsInitiateAll])
    }
}

fn media_hosting(media_config: Option<&Value>) -> MediaHosting {
    let app_hosted = media_config
        .and_then(|c| c.get("@odata.type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t.trim_start_matches('#').eq_ignore_ascii_case("microsoft.graph.appHostedMediaConfig"));
    if app_hosted { MediaHosting::App } else { MediaHosting::Service }
}

/// An identity set of a request (a `participantInfo`'s `identity`, a meeting's `organizer`), read from the wire
/// here, once. None given: an empty set, which names no one.
pub(crate) fn identity_in(identity: Option<&Value>) -> IdentitySet {
    identity.map(IdentitySet::from_json).unwrap_or_default()
}

/// "Calls.AccessMedia.All is only necessary for calls that use app-hosted media" (docs:call-delete and others).
fn check_media_permission(caller: &Caller, media_config: Option<&Value>) -> Result<MediaHosting, CallsError> {
    let hosting = media_hosting(media_config);
    if hosting == MediaHosting::App && !caller.has_any(&[Permission::CallsAccessMediaAll]) {
        return Err(CallsError::Forbidden { what: "app-hosted media", needed: &[Permission::CallsAccessMediaAll] });
    }
    Ok(hosting)
}

fn peer(endpoint: Endpoint, role: PeerRole, status: PeerStatus) -> Peer {
    endpoint.into_peer(new_id(), role, status)
}

/// An endpoint that fails to answer: how a strict world rings a target it does not know during a redirect or
/// transfer, so the attempt fails the way an unreachable one does.
pub(crate) fn unreachable(identity: &IdentitySet) -> Endpoint {
    Endpoint {
        kind: EndpointKind::User,
        endpoint_id: String::new(),
        identity: identity.clone(),
        behaviour: Behaviour { response: Response::Unreachable, hang_up_after: None },
    }
}

impl Calls {
    fn location(&self, version: ApiVersion, path: &str) -> String {
        format!("{}/{}{path}", self.base_url(), version.as_str())
    }

    /// The identity the bot's leg has when the request names none: the app (docs:application-post-calls responses).
    async fn bot_source(&self, caller: &Caller) -> Result<Value, CallsError> {
        let app = self.store.application(caller.app_id).await?;
        let display_name = app.map(|a| a.display_name).unwrap_or_default();
        Ok(json!({
            "@odata.type": "#microsoft.graph.participantInfo",
            "identity": {
                "@odata.type": "#microsoft.graph.identitySet",
                "application": {"@odata.type": "#microsoft.graph.identity", "displayName": display_name, "id": caller.app_id.to_string()},
            },
            "region": null,
            "languageId": null,
        }))
    }

    /// Resolves an `identitySet` of a request against the world; `Ok(None)` when a strict world does not know it.
    pub(crate) async fn endpoint(
        &self,
        tenant_id: Uuid,
        identity: &IdentitySet,
        what: &str,
    ) -> Result<Option<Endpoint>, CallsError> {
        match self.world().resolve(tenant_id, identity, self.clock.now()).await? {
            Ok(endpoint) => Ok(Some(endpoint)),
            Err(Unresolved::Unknown(who)) => {
                tracing::debug!(%who, "the strict world does not know the {what}");
                Ok(None)
            }
            Err(Unresolved::Unsupported(why)) => Err(CallsError::Invalid(format!("{what}: {why}"))),
        }
    }

    /// `POST /communications/calls` (docs:application-post-calls).
    pub async fn create_call(
        &self,
        caller: &Caller,
        version: ApiVersion,
        request: &wire::Call,
    ) -> Result<Created, CallsError> {
        let mut resource = to_object(request);
        let (mut kind, what, needed) = classify(&resource);
        if !caller.has_any(needed) {
            return Err(CallsError::Forbidden { what, needed });
        }
        let media_hosting = check_media_permission(caller, resource.get("mediaConfig"))?;
        for name in SERVICE_OWNED {
            resource.remove(*name);
        }
        let call_id = new_id();
        let callback_uri = request.callback_uri.as_ref().cloned();
        let call_chain_id = request.call_chain_id.as_ref().cloned().unwrap_or_else(new_id);
        resource.remove("callbackUri");
        resource.remove("callChainId");
        if resource.get("source").is_none_or(Value::is_null) {
            resource.insert("source".into(), self.bot_source(caller).await?);
        }
        resource.entry("tenantId").or_insert_with(|| caller.tenant_id.to_string().into());
        resource.entry("targets").or_insert_with(|| json!([]));
        let application_instance = identity_in(resource.get("source").and_then(|source| source.get("identity")))
            .get(&IdentityKind::ApplicationInstance)
            .map(|instance| instance.id_or_empty().to_owned());

        let mut peers = Vec::new();
        let mut end_with = None;
        let mut lobby_timeout = None;
        let mut bot_in_lobby = false;
        if let CallKind::Meeting { meeting_id } = &mut kind {
            match self.meeting(caller, request, &mut resource).await? {
                Some(joined) => {
                    *meeting_id = joined.meeting_id;
                    peers = joined.attendees;
                    bot_in_lobby = joined.bot_in_lobby;
                    lobby_timeout = Some(joined.lobby_timeout);
                }
                None => end_with = Some(codes::no_callee_endpoints()),
            }
        } else {
            let targets = resource.get("targets").and_then(Value::as_array).cloned().unwrap_or_default();
            for (index, target) in targets.iter().enumerate() {
                let identity = identity_in(target.get("identity"));
                let Some(endpoint) = self.endpoint(caller.tenant_id, &identity, &format!("targets[{index}]")).await?
                else {
                    continue;
                };
                // "Outgoing PSTN calls need an application instance" (docs:application-post-calls example 9);
                // Graph's end reason for a call it cannot route is 480/10134 (docs:call-delete).
                if endpoint.kind == EndpointKind::Phone && application_instance.is_none() {
                    end_with = Some(codes::cannot_route());
                }
                peers.push(peer(endpoint, PeerRole::Party, PeerStatus::Ringing));
            }
            if peers.is_empty() {
                end_with = Some(codes::no_callee_endpoints());
            }
        }
        let ringing_timeout = request
            .ringing_timeout_in_seconds
            .as_ref()
            .and_then(|s| u64::try_from(*s).ok())
            .map_or_else(|| self.world().ringing_timeout(), std::time::Duration::from_secs);
        let setup = CallSetup {
            id: call_id.clone(),
            tenant_id: caller.tenant_id,
            app_id: caller.app_id,
            api_version: version,
            direction: Direction::Outgoing,
            kind,
            callback_uri,
            my_participant_id: new_id(),
            call_chain_id,
            // The Graph SDKs send a `scenario-id` with each request; notifications about the call carry the one the
            // call was created with (inferred: graph-calls.md §c lists the header, not where its value comes from).
            scenario_id: caller.scenario_id.clone().unwrap_or_else(new_id),
            resource,
            media_hosting,
            application_instance,
            peers,
            ringing_timeout,
            lobby_timeout,
            bot_in_lobby,
        };
        let call = Call::new(setup, self.clock.now());
        // The 201 shows the call as created, before anything rang (docs:application-post-calls: `establishing`).
        let body = render::call_entity(&call, version, self.base_url(), self.config.shapes);
        let start = match end_with {
            None => Command::Start,
            Some(result) => Command::StartFailing { result },
        };
        self.insert(call, vec![start]).await?;
        Ok(Created { location: self.location(version, &render::call_path(&call_id)), call_id, body })
    }

    /// The meeting a join names, with the people in it as connected peers; `None` when a strict world has no
    /// such meeting (or the passcode is wrong). In dev mode an unknown meeting is created with its organizer in it.
    async fn meeting(
        &self,
        caller: &Caller,
        request: &wire::Call,
        resource: &mut Map<String, Value>,
    ) -> Result<Option<Joined>, CallsError> {
        let tenant_id = caller.tenant_id;
        let world = self.world();
        let thread_id = request.chat_info.as_ref().and_then(|c| c.thread_id.as_ref().cloned());
        let (key, organizer_id) = match request.meeting_info.as_ref() {
            Some(wire::AnyMeetingInfo::JoinMeetingIdMeetingInfo(info)) => {
                let join_meeting_id = info.join_meeting_id.as_ref().cloned().unwrap_or_default();
                (MeetingKey::JoinMeetingId { join_meeting_id, passcode: info.passcode.as_ref().cloned() }, None)
            }
            Some(wire::AnyMeetingInfo::TokenMeetingInfo(info)) => {
                (MeetingKey::Token(info.token.as_ref().cloned().unwrap_or_default()), None)
            }
            Some(wire::AnyMeetingInfo::OrganizerMeetingInfo(info)) => {
                let organizer = info.organizer.as_ref().map(|organizer| Value::Object(to_object(organizer)));
                let organizer_id = identity_in(organizer.as_ref()).get(&IdentityKind::User).and_then(|u| u.id.clone());
                (
                    MeetingKey::Thread {
                        thread_id: thread_id.clone().unwrap_or_default(),
                        organizer_id: organizer_id.clone(),
                    },
                    organizer_id,
                )
            }
            None => (MeetingKey::Thread { thread_id: thread_id.clone().unwrap_or_default(), organizer_id: None }, None),
        };
        if let MeetingKey::Thread { thread_id, .. } = &key
            && thread_id.is_empty()
        {
            return Err(CallsError::Invalid(
                "joining a meeting with 'organizerMeetingInfo' needs 'chatInfo.threadId' (docs:application-post-calls)"
                    .into(),
            ));
        }
        let now = self.clock.now();
        let meeting = match world.find_meeting(tenant_id, &key).await? {
            Some(meeting) => meeting,
            None if world.defaults(tenant_id).await?.strict => return Ok(None),
            None => {
                let organizer_id = match organizer_id {
                    Some(id) => id,
                    None => new_id(),
                };
                let organizer = match world.get::<SimUser>(tenant_id, &organizer_id.to_ascii_lowercase()).await? {
                    Some(user) => user,
                    None => {
                        let display_name = format!("Meeting organizer {}", &organizer_id[..organizer_id.len().min(8)]);
                        let user = SimUser {
                            id: organizer_id,
                            display_name,
                            user_principal_name: None,
                            guest: false,
                            behaviour: None,
                        };
                        world.put(tenant_id, user, now).await?
                    }
                };
                let mut meeting = SimMeeting {
                    id: String::new(),
                    join_meeting_id: String::new(),
                    passcode: None,
                    join_web_url: String::new(),
                    thread_id: String::new(),
                    organizer_id: organizer.id.clone(),
                    subject: None,
                    attendees: vec![SimAttendee { user_id: organizer.id, leave_after_ms: None }],
                    lobby_bypass: LobbyBypass::default(),
                    lobby_timeout_ms: SimMeeting::default_lobby_timeout_ms(),
                };
                match &key {
                    MeetingKey::JoinMeetingId { join_meeting_id, passcode } => {
                        meeting.join_meeting_id.clone_from(join_meeting_id);
                        meeting.passcode.clone_from(passcode);
                    }
                    MeetingKey::Thread { thread_id, .. } => meeting.thread_id.clone_from(thread_id),
                    MeetingKey::Token(token) => meeting.id.clone_from(token),
                }
                world.put(tenant_id, meeting, now).await?
            }
        };
        if let MeetingKey::JoinMeetingId { passcode, .. } = &key
            && meeting.passcode.is_some()
            && meeting.passcode != *passcode
        {
            tracing::debug!(meeting = %meeting.id, "join refused: wrong passcode");
            return Ok(None);
        }
        resource.entry("chatInfo").or_insert_with(|| {
            json!({"@odata.type": "#microsoft.graph.chatInfo", "threadId": meeting.thread_id, "messageId": "0", "replyChainMessageId": null})
        });
        let mut attendees = Vec::new();
        for attendee in &meeting.attendees {
            let user = world.get::<SimUser>(tenant_id, &attendee.user_id).await?;
            let identity = match &user {
                Some(user) => user.identity(),
                None => IdentitySet::one(IdentityKind::User, &attendee.user_id, None),
            };
            let behaviour = Behaviour {
                response: Response::Answer { after: std::time::Duration::ZERO },
                hang_up_after: attendee.leave_after_ms.map(std::time::Duration::from_millis),
            };
            let endpoint =
                Endpoint { kind: EndpointKind::User, endpoint_id: attendee.user_id.clone(), identity, behaviour };
            attendees.push(peer(endpoint, PeerRole::Party, PeerStatus::Connected));
        }
        // The bots already in the meeting are on the roster too (each is a call of its own).
        for other in self.meeting_calls(tenant_id, &meeting.id).await? {
            if other.bot.in_lobby {
                continue;
            }
            let identity = other.bot_identity();
            let bot = Endpoint {
                kind: EndpointKind::Application,
                endpoint_id: other.my_participant_id.clone(),
                identity,
                behaviour: Behaviour::present(None),
            };
            let mut attendee = bot.into_peer(other.my_participant_id.clone(), PeerRole::Party, PeerStatus::Connected);
            attendee.roster.server_muted = other.bot.muted;
            attendees.push(attendee);
        }
        // A bot that may only join as a guest is not of the organization (docs:application-post-calls permissions).
        let guest = !caller.has_any(&[Permission::CallsJoinGroupCallAll, Permission::CallsJoinGroupCallsChat]);
        Ok(Some(Joined {
            bot_in_lobby: meeting.holds_in_lobby(None, guest),
            lobby_timeout: meeting.lobby_timeout(),
            meeting_id: meeting.id,
            attendees,
        }))
    }

    /// `GET /communications/calls/{id}`.
    pub async fn get_call(&self, caller: &Caller, version: ApiVersion, call_id: &str) -> Result<Value, CallsError> {
        let call = self.load(call_id, Some(caller)).await?;
        if call.is_terminated() {
            return Err(CallsError::CallNotFound { call_id: call_id.to_owned() });
        }
        Ok(render::call_entity(&call, version, self.base_url(), self.config.shapes))
    }

    /// `DELETE /communications/calls/{id}` (docs:call-delete).
    pub async fn hang_up(&self, caller: &Caller, call_id: &str) -> Result<(), CallsError> {
        self.execute(call_id, Some(caller), vec![Command::HangUp]).await.map(drop)
    }

    /// `POST …/keepAlive` (docs:call-keepalive).
    pub async fn keep_alive(&self, caller: &Caller, call_id: &str) -> Result<(), CallsError> {
        self.execute(call_id, Some(caller), vec![Command::KeepAlive]).await.map(drop)
    }

    /// `POST …/answer` (docs:call-answer).
    pub async fn answer(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
        request: &wire::AnswerPostRequestBody,
    ) -> Result<(), CallsError> {
        let mut properties = to_object(request);
        let media_hosting = check_media_permission(caller, properties.get("mediaConfig"))?;
        let callback_uri = request.callback_uri.as_ref().cloned();
        properties.remove("callbackUri");
        let answer = Answer { callback_uri, api_version: version, properties, media_hosting };
        self.execute(call_id, Some(caller), vec![Command::Answer(answer)]).await.map(drop)
    }

    /// `POST …/reject` (docs:call-reject). The reason (`none`, `busy`, `forbidden`) is what the caller hears; the
    /// bot's notification is the same for each.
    pub async fn reject(
        &self,
        caller: &Caller,
        call_id: &str,
        request: &wire::RejectPostRequestBody,
    ) -> Result<(), CallsError> {
        let callback_uri = request.callback_uri.as_ref().cloned();
        self.execute(call_id, Some(caller), vec![Command::Reject { callback_uri }]).await.map(drop)
    }

    /// `POST …/redirect` (docs:call-redirect).
    pub async fn redirect(
        &self,
        caller: &Caller,
        call_id: &str,
        request: &wire::RedirectPostRequestBody,
    ) -> Result<(), CallsError> {
        let targets: Vec<Value> = request
            .targets
            .as_ref()
            .map(|t| t.iter().map(|t| Value::Object(to_object(t))).collect())
            .unwrap_or_default();
        let mut peers = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            let identity = identity_in(target.get("identity"));
            let endpoint = self
                .endpoint(caller.tenant_id, &identity, &format!("targets[{index}]"))
                .await?
                .unwrap_or_else(|| unreachable(&identity));
            peers.push(peer(endpoint, PeerRole::RedirectTarget, PeerStatus::Ringing));
        }
        let timeout = request
            .timeout
            .as_ref()
            .and_then(|s| u64::try_from(*s).ok())
            .map_or_else(|| default_redirect_timeout(peers.len()), std::time::Duration::from_secs);
        let callback_uri = request.callback_uri.as_ref().cloned();
        let command = Command::Redirect { targets: peers, timeout, callback_uri };
        self.execute(call_id, Some(caller), vec![command]).await.map(drop)
    }

    /// `POST …/transfer` (docs:call-transfer): blind, consultative (`replacesCallId`), or from a group call
    /// (`transferee`).
    pub async fn transfer(
        &self,
        caller: &Caller,
        call_id: &str,
        request: &wire::TransferPostRequestBody,
    ) -> Result<(), CallsError> {
        let target = request.transfer_target.as_ref().map(to_object).unwrap_or_default();
        let identity = identity_in(target.get("identity"));
        let endpoint = self.endpoint(caller.tenant_id, &identity, "transferTarget").await?;
        if endpoint.as_ref().is_some_and(|e| e.kind == EndpointKind::Phone) {
            let call = self.load(call_id, Some(caller)).await?;
            if call.application_instance.is_none() {
                return Err(CallsError::Invalid(
                    "a transfer to a phone number needs a call of an application instance with a phone number \
                     (docs:call-transfer example 3)"
                        .into(),
                ));
            }
        }
        let endpoint = endpoint.unwrap_or_else(|| unreachable(&identity));
        let replaces = match target.get("replacesCallId").and_then(Value::as_str) {
            None => None,
            Some(replaced) => Some(self.replaced_call(caller, call_id, replaced, &endpoint).await?),
        };
        let transferee = match request.transferee.as_ref().map(to_object) {
            None => None,
            Some(info) => Some(self.transferee(caller, call_id, &info).await?),
        };
        let peer = peer(endpoint, PeerRole::TransferTarget, PeerStatus::Ringing);
        let command = Command::Transfer(TransferRequest { target: peer, transferee, replaces });
        self.execute(call_id, Some(caller), vec![command]).await.map(drop)
    }

    /// The call a consultative transfer replaces, checked: an established call of the same app, with the target in
    /// it.
    pub(crate) async fn replaced_call(
        &self,
        caller: &Caller,
        call_id: &str,
        replaced: &str,
        target: &Endpoint,
    ) -> Result<Replaces, CallsError> {
        let problem = if replaced.eq_ignore_ascii_case(call_id) {
            Some("'replacesCallId' names this very call".to_owned())
        } else {
            match self.load(replaced, Some(caller)).await {
                Err(CallsError::CallNotFound { .. }) => {
                    Some(format!("'replacesCallId' {replaced} is not a call of this application"))
                }
                Err(error) => return Err(error),
                Ok(other) if other.state != CallState::Established => {
                    Some(format!("the call to replace is {}, not established", other.state.as_str()))
                }
                Ok(other) if !other.connected_parties().any(|p| p.endpoint_id == target.endpoint_id) => {
                    Some("the participant named is not in the call to replace".to_owned())
                }
                Ok(_) => None,
            }
        };
        Ok(Replaces { call_id: replaced.to_ascii_lowercase(), problem })
    }

    /// The participant id a `transferee` names, by `participantId` or by identity.
    async fn transferee(
        &self,
        caller: &Caller,
        call_id: &str,
        info: &Map<String, Value>,
    ) -> Result<String, CallsError> {
        if let Some(id) = info.get("participantId").and_then(Value::as_str) {
            return Ok(id.to_owned());
        }
        let call = self.load(call_id, Some(caller)).await?;
        let wanted = identity_in(info.get("identity")).ids();
        call.connected_parties()
            .find(|p| p.identity.ids().iter().any(|id| wanted.contains(id)))
            .map(|p| p.participant_id.clone())
            .ok_or_else(|| CallsError::Invalid("'transferee' names no participant of the call".into()))
    }

    /// A call-level action answered with an operation (or, for `changeScreenSharingRole`, with nothing).
    pub async fn act(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
        kind: ActionKind,
        client_context: Option<String>,
    ) -> Result<Option<OperationCreated>, CallsError> {
        let operation_id = new_id();
        let request = ActionRequest { operation_id: operation_id.clone(), kind, client_context };
        let call = self.execute(call_id, Some(caller), vec![Command::Action(request)]).await?;
        Ok(call.operation(&operation_id).map(|operation| OperationCreated {
            location: self.location(version, &format!("{}/operations/{operation_id}", render::call_path(&call.id))),
            body: render::operation_entity(operation, version, self.base_url(), self.config.shapes),
        }))
    }

    /// `GET …/operations/{id}`.
    pub async fn get_operation(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
        operation_id: &str,
    ) -> Result<Value, CallsError> {
        let call = self.load(call_id, Some(caller)).await?;
        if call.is_terminated() {
            return Err(CallsError::CallNotFound { call_id: call_id.to_owned() });
        }
        let operation = call.operation(operation_id).ok_or_else(|| CallsError::OperationNotFound {
            call_id: call_id.to_owned(),
            operation_id: operation_id.to_owned(),
        })?;
        Ok(render::operation_entity(operation, version, self.base_url(), self.config.shapes))
    }
}
