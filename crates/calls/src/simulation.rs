//! What the test-control API does to the world's side of calls: a simulated user calls an app, a simulated
//! endpoint answers, rejects or hangs up, a meeting ends, faults are injected.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    Call, CallSetup, Command, PeerAction, codes,
    model::{
        Behaviour, CallKind, Direction, EndpointKind, IdentityKind, IdentitySet, MediaHosting, PeerRole, PeerStatus,
        ResultInfo,
    },
};
use switchboard_store::CallFilter;
use uuid::Uuid;

use switchboard_media::{Utterance, synth};

use crate::{
    Calls, CallsError,
    media::Heard,
    view::CallView,
    world::{Endpoint, Entity, SimAttendee, SimMeeting, SimUser, WorldError},
};

/// The longest a simulated person says a tone or silence in one go.
const MAX_SPEECH_MS: u64 = 600_000;

/// What a simulated person says: one of a media file of `/_sim/media`, a tone, or silence.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Speech {
    pub media: Option<String>,
    pub tone_hz: Option<f64>,
    /// How long the tone lasts [default: 1000].
    pub duration_ms: Option<u64>,
    pub silence_ms: Option<u64>,
}

/// Keys a simulated person presses.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Keypresses {
    pub keys: String,
    /// As DTMF audio rather than RFC 4733 events.
    #[serde(default)]
    pub in_band: bool,
    #[serde(default = "key_ms")]
    pub tone_ms: u64,
    #[serde(default = "key_ms")]
    pub gap_ms: u64,
}

fn key_ms() -> u64 {
    100
}

/// The participant `who` names in a call: its participant id, or its endpoint's id (user id, number, …).
fn peer_of(call: &Call, who: &str) -> Result<String, CallsError> {
    call.peers
        .iter()
        .rev()
        .find(|p| p.participant_id.eq_ignore_ascii_case(who) || p.endpoint_id.eq_ignore_ascii_case(who))
        .map(|p| p.participant_id.clone())
        .ok_or_else(|| CallsError::Invalid(format!("call {} has no participant or endpoint '{who}'", call.id)))
}

/// A call a simulated endpoint places to an app.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncomingCall {
    /// Who calls: an identity set naming a simulated user, phone or bot (`{"user": {"id": "…"}}`).
    pub from: IdentitySet,
    /// The app called: its notifications go to its registered calling webhook.
    pub app_id: Uuid,
    /// Calls to a phone number arrive at an application instance of the app (docs:call-redirect example 3).
    #[serde(default)]
    pub application_instance_id: Option<Uuid>,
    #[serde(default = "audio")]
    pub modalities: Vec<String>,
}

fn audio() -> Vec<String> {
    vec!["audio".into()]
}

/// A fault injected into the next requests of one Graph operation of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// The operation, as `docs/compatibility.md` names it in its first column (`answer`, `createCall`, …).
    pub operation: String,
    /// How many of the next requests it affects.
    pub count: u32,
    pub effect: FaultEffect,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", deny_unknown_fields)]
pub enum FaultEffect {
    /// The request fails with this status and Graph error code.
    Fail { status: u16, code: String, message: String },
    /// The request is acknowledged as usual but never reaches the call, as if it got lost on the way: an `answer`
    /// lost this way lets the 15-second deadline pass.
    Lose,
}

impl Entity for Fault {
    const KIND: &'static str = "faults";
    fn key(&self) -> &str {
        &self.operation
    }
    fn prepare(&mut self) -> Result<(), WorldError> {
        if self.count == 0 {
            return Err(WorldError::Invalid("'count' must be at least 1".into()));
        }
        if let FaultEffect::Fail { status, .. } = &self.effect
            && !(400..=599).contains(status)
        {
            return Err(WorldError::Invalid(format!("'status' {status} is not an HTTP error status (400-599)")));
        }
        Ok(())
    }
}

impl Calls {
    /// A simulated endpoint calls an app: Graph posts the incoming call to the app's calling webhook
    /// (docs:call-answer), and the app has 15 seconds to act.
    pub async fn place_incoming_call(&self, tenant_id: Uuid, incoming: IncomingCall) -> Result<CallView, CallsError> {
        let app = self
            .store
            .application(incoming.app_id)
            .await?
            .filter(|app| app.tenant_id == tenant_id)
            .ok_or_else(|| CallsError::Invalid(format!("tenant {tenant_id} has no app {}", incoming.app_id)))?;
        let now = self.clock.now();
        let caller = match self.world().resolve(tenant_id, &incoming.from, now).await? {
            Ok(endpoint) => endpoint,
            Err(unresolved) => {
                return Err(CallsError::Invalid(format!("'from' names no simulated endpoint: {unresolved:?}")));
            }
        };
        let application_instance = incoming.application_instance_id.map(|instance| instance.to_string());
        let target = match incoming.application_instance_id {
            Some(instance) => {
                IdentitySet::one(IdentityKind::ApplicationInstance, &instance.to_string(), Some(&app.display_name))
            }
            None => IdentitySet::one(IdentityKind::Application, &app.app_id.to_string(), Some(&app.display_name)),
        };
        let my_participant_id = Uuid::new_v4().to_string();
        let mut resource = Map::new();
        resource.insert(
            "source".into(),
            json!({"@odata.type": "#microsoft.graph.participantInfo", "identity": caller.identity, "region": "amer", "languageId": "en-US"}),
        );
        resource.insert(
            "targets".into(),
            json!([{"@odata.type": "#microsoft.graph.invitationParticipantInfo", "identity": target, "endpointType": "default", "id": my_participant_id}]),
        );
        resource.insert("requestedModalities".into(), json!(incoming.modalities));
        resource.insert("tenantId".into(), tenant_id.to_string().into());
        let peer = caller.into_peer(Uuid::new_v4().to_string(), PeerRole::Party, PeerStatus::Connected);
        let setup = CallSetup {
            id: Uuid::new_v4().to_string(),
            tenant_id,
            app_id: app.app_id,
            // Incoming calls are rendered for v1.0 until the bot answers (through either version).
            api_version: ApiVersion::V1,
            direction: Direction::Incoming,
            kind: CallKind::PeerToPeer,
            // Incoming calls always go to the app's registered webhook (graph-calls.md §c).
            callback_uri: app.calling_webhook.clone(),
            my_participant_id,
            call_chain_id: Uuid::new_v4().to_string(),
            scenario_id: Uuid::new_v4().to_string(),
            resource,
            // Until the bot answers with its own.
            media_hosting: MediaHosting::Service,
            application_instance,
            peers: vec![peer],
            ringing_timeout: self.world().ringing_timeout(),
            lobby_timeout: None,
            bot_in_lobby: false,
        };
        Ok(CallView::from(&*self.insert(Call::new(setup, now), vec![Command::Start]).await?))
    }

    /// A simulated endpoint in a call acts. `who` is its participant id or its endpoint id (user id, number, …).
    pub async fn peer_act(&self, call_id: &str, who: &str, action: PeerAction) -> Result<CallView, CallsError> {
        let call = self.load(call_id, None).await?;
        let participant_id = peer_of(&call, who)?;
        self.sim_execute(call_id, Command::Peer { participant_id, action }).await
    }

    /// A command of the test-control API, answered with the call as the simulation sees it.
    async fn sim_execute(&self, call_id: &str, command: Command) -> Result<CallView, CallsError> {
        Ok(CallView::from(&*self.execute(call_id, None, vec![command]).await?))
    }

    // ---- media ----------------------------------------------------------------------------------------------------

    /// A simulated person says something: a media file, a tone or silence, after what it is already saying.
    pub async fn say(&self, call_id: &str, who: &str, speech: Speech) -> Result<(), CallsError> {
        let call = self.load(call_id, None).await?;
        let participant_id = peer_of(&call, who)?;
        let clip = match speech {
            Speech { media: Some(name), tone_hz: None, silence_ms: None, .. } => self
                .media
                .library
                .clip(&format!("{}{name}", crate::media::library::SIM_PREFIX))
                .await
                .map_err(CallsError::Invalid)?,
            Speech { media: None, tone_hz: Some(hz), silence_ms: None, duration_ms }
                if (20.0..=7_900.0).contains(&hz) =>
            {
                synth::tone(hz, duration_ms.unwrap_or(1000).min(MAX_SPEECH_MS))
            }
            Speech { media: None, tone_hz: None, silence_ms: Some(ms), .. } => synth::silence(ms.min(MAX_SPEECH_MS)),
            _ => {
                return Err(CallsError::Invalid(
                    "say one thing: {\"media\": name}, {\"toneHz\": 20-7900, \"durationMs\": …} or {\"silenceMs\": …}"
                        .into(),
                ));
            }
        };
        Ok(self.media.say(&call, &participant_id, Utterance::Audio(clip), self.clock.now())?)
    }

    /// A simulated person presses keys: as RFC 4733 events (the default, as phones send them) or as DTMF audio.
    pub async fn press_keys(&self, call_id: &str, who: &str, presses: Keypresses) -> Result<(), CallsError> {
        let call = self.load(call_id, None).await?;
        let participant_id = peer_of(&call, who)?;
        let keys: Vec<char> = presses.keys.chars().collect();
        if let Some(bad) = keys.iter().find(|k| switchboard_engine::tones::name(**k).is_none()) {
            return Err(CallsError::Invalid(format!("'{bad}' is not a DTMF key (0-9, *, #, A-D)")));
        }
        if !(40..=2000).contains(&presses.tone_ms) || presses.gap_ms > 5000 {
            return Err(CallsError::Invalid("toneMs must be 40 to 2000 and gapMs at most 5000".into()));
        }
        let utterance =
            Utterance::Keys { keys, in_band: presses.in_band, tone_ms: presses.tone_ms, gap_ms: presses.gap_ms };
        Ok(self.media.say(&call, &participant_id, utterance, self.clock.now())?)
    }

    /// What a participant (or `bot`, the bot's leg) heard, from `from_ms` to `to_ms` of its capture.
    pub async fn heard(
        &self,
        call_id: &str,
        who: &str,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<(String, Heard), CallsError> {
        let call = self.load(call_id, None).await?;
        let leg = if who.eq_ignore_ascii_case("bot") || who.eq_ignore_ascii_case(&call.my_participant_id) {
            call.my_participant_id.clone()
        } else {
            peer_of(&call, who)?
        };
        let heard = self.media.heard(&call.id, &leg, from_ms, to_ms, self.clock.now())?;
        Ok((leg, heard))
    }

    /// Stores a media file the simulated people can say; returns its length in ms.
    pub async fn upload_media(&self, name: &str, bytes: Vec<u8>) -> Result<u64, CallsError> {
        self.media.library.upload(name, bytes).await.map_err(CallsError::Invalid)
    }

    /// The simulated people's media files: name and size.
    pub async fn media_files(&self) -> Vec<(String, u64)> {
        self.media.library.files().await
    }

    pub async fn media_file(&self, name: &str) -> Result<Vec<u8>, CallsError> {
        self.media.library.file(name).await.map(|b| b.to_vec()).map_err(CallsError::MediaFileNotFound)
    }

    pub async fn delete_media_file(&self, name: &str) -> bool {
        self.media.library.delete_file(name).await
    }

    /// Someone in the meeting admits the bot waiting in its lobby.
    pub async fn admit_bot(&self, call_id: &str) -> Result<CallView, CallsError> {
        self.sim_execute(call_id, Command::AdmitBot).await
    }

    /// Ends a call with the given result, as the service would for a failure (500/3002, 410/301005, …).
    pub async fn terminate(&self, call_id: &str, result: ResultInfo) -> Result<CallView, CallsError> {
        self.sim_execute(call_id, Command::Terminate { result }).await
    }

    /// The meeting ends for everyone: every call in it ends.
    pub async fn end_meeting(&self, tenant_id: Uuid, meeting_id: &str) -> Result<Vec<String>, CallsError> {
        self.world().require::<SimMeeting>(tenant_id, meeting_id).await?;
        let mut ended = Vec::new();
        for call in self.calls_in_meeting(tenant_id, meeting_id).await? {
            self.execute(&call.id, None, vec![Command::Terminate { result: codes::meeting_ended() }]).await?;
            ended.push(call.id);
        }
        Ok(ended)
    }

    /// A simulated user joins a meeting: every bot in it sees them in the roster, in the lobby if the meeting's
    /// lobby holds them (or `lobby` says so), else as an attendee.
    pub async fn join_meeting(
        &self,
        tenant_id: Uuid,
        meeting_id: &str,
        user_id: &str,
        leave_after: Option<std::time::Duration>,
        lobby: Option<bool>,
    ) -> Result<Vec<String>, CallsError> {
        let world = self.world();
        let now = self.clock.now();
        let mut meeting = world.require::<SimMeeting>(tenant_id, meeting_id).await?;
        let user = world.require::<SimUser>(tenant_id, &user_id.to_ascii_lowercase()).await?;
        let waits = lobby.unwrap_or_else(|| meeting.holds_in_lobby(Some(&user.id), user.guest));
        if !waits {
            meeting.attendees.retain(|a| a.user_id != user.id);
            let leave_after_ms = leave_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            meeting.attendees.push(SimAttendee { user_id: user.id.clone(), leave_after_ms });
            world.put(tenant_id, meeting, now).await?;
        }
        let mut joined = Vec::new();
        for call in self.calls_in_meeting(tenant_id, meeting_id).await? {
            let attendee = Endpoint {
                kind: EndpointKind::User,
                endpoint_id: user.id.clone(),
                identity: user.identity(),
                behaviour: Behaviour::present(leave_after),
            };
            let mut peer = attendee.into_peer(Uuid::new_v4().to_string(), PeerRole::Party, PeerStatus::Connected);
            peer.roster.in_lobby = waits;
            self.execute(&call.id, None, vec![Command::Join(peer)]).await?;
            joined.push(call.id);
        }
        Ok(joined)
    }

    /// A simulated user leaves a meeting: every bot in it sees the roster without them.
    pub async fn leave_meeting(
        &self,
        tenant_id: Uuid,
        meeting_id: &str,
        user_id: &str,
    ) -> Result<Vec<String>, CallsError> {
        let world = self.world();
        let mut meeting = world.require::<SimMeeting>(tenant_id, meeting_id).await?;
        let user_id = user_id.to_ascii_lowercase();
        meeting.attendees.retain(|a| a.user_id != user_id);
        world.put(tenant_id, meeting, self.clock.now()).await?;
        let mut left = Vec::new();
        for call in self.calls_in_meeting(tenant_id, meeting_id).await? {
            let present = call.peers.iter().find(|p| p.endpoint_id == user_id && p.is_in_conversation());
            if let Some(peer) = present {
                let command = Command::Peer { participant_id: peer.participant_id.clone(), action: PeerAction::HangUp };
                self.execute(&call.id, None, vec![command]).await?;
                left.push(call.id.clone());
            }
        }
        Ok(left)
    }

    async fn calls_in_meeting(&self, tenant_id: Uuid, meeting_id: &str) -> Result<Vec<Call>, CallsError> {
        self.meeting_calls(tenant_id, meeting_id).await
    }

    /// Calls that have not ended, newest first.
    pub async fn active_calls(&self, tenant_id: Option<Uuid>) -> Result<Vec<Call>, CallsError> {
        self.stored_calls(CallFilter { tenant_id, active_only: true, limit: u32::MAX, ..CallFilter::default() }).await
    }

    pub async fn list_calls(&self, filter: CallFilter) -> Result<Vec<CallView>, CallsError> {
        Ok(self.stored_calls(filter).await?.iter().map(CallView::from).collect())
    }

    async fn stored_calls(&self, filter: CallFilter) -> Result<Vec<Call>, CallsError> {
        let records = self.store.calls(filter).await?;
        records.into_iter().map(|record| crate::runtime::call_of(&record)).collect()
    }

    /// A call, ended or not, as the simulation sees it.
    pub async fn inspect(&self, call_id: &str) -> Result<CallView, CallsError> {
        Ok(CallView::from(&*self.load(call_id, None).await?))
    }

    pub async fn set_fault(&self, tenant_id: Uuid, fault: Fault) -> Result<Fault, CallsError> {
        let _faults = self.faults.lock().await;
        self.faults_maybe_armed.store(true, Ordering::SeqCst);
        Ok(self.world().put(tenant_id, fault, self.clock.now()).await?)
    }

    /// The fault to apply to this request of `operation`, if one is armed; each use counts down.
    pub async fn take_fault(&self, tenant_id: Uuid, operation: &str) -> Result<Option<FaultEffect>, CallsError> {
        // Every Graph request asks; almost always nothing is armed, and then nothing is read or locked.
        if !self.faults_maybe_armed.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let _faults = self.faults.lock().await;
        let world = self.world();
        let Some(mut fault) = world.get::<Fault>(tenant_id, operation).await? else {
            if self.store.world_entities(None, Some(Fault::KIND)).await?.is_empty() {
                self.faults_maybe_armed.store(false, Ordering::SeqCst);
            }
            return Ok(None);
        };
        let effect = fault.effect.clone();
        fault.count -= 1;
        if fault.count == 0 {
            world.delete::<Fault>(tenant_id, operation).await?;
        } else {
            world.put(tenant_id, fault, self.clock.now()).await?;
        }
        Ok(Some(effect))
    }

    /// Forgets the world, every call, timer and notification.
    pub async fn reset(&self) -> Result<(), CallsError> {
        self.store.reset_simulation().await?;
        // The store's calls are gone: so are this node's leases on them.
        self.ownership.forget_all();
        self.media.reset();
        self.activity().clear();
        Ok(())
    }
}
