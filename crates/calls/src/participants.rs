//! The Graph operations on the people in a call (graph-calls.md §b "Participant lifecycle"): the roster, invite,
//! removal, reports, audio routing groups, content sharing sessions. Participant actions that answer with an
//! operation (mute, hold music, lobby) go through [`Calls::act`].

use serde_json::{Map, Value};
use std::sync::Arc;
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    ActionKind, Call, Command, Invitee,
    model::{AudioRoutingGroup, PeerRole, PeerStatus},
};
use switchboard_wire::model as wire;
use uuid::Uuid;

use crate::{
    Caller, Calls, CallsError,
    graph::{OperationCreated, to_object},
    render,
};

impl Calls {
    /// The call as its owner may see it: not ended.
    async fn live_call(&self, caller: &Caller, call_id: &str) -> Result<Arc<Call>, CallsError> {
        let call = self.load(call_id, Some(caller)).await?;
        if call.is_terminated() {
            return Err(CallsError::CallNotFound { call_id: call_id.to_owned() });
        }
        Ok(call)
    }

    /// `GET …/participants`.
    pub async fn list_participants(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
    ) -> Result<Value, CallsError> {
        let call = self.live_call(caller, call_id).await?;
        Ok(render::collection(
            self.base_url(),
            version,
            caller.root,
            &call.id,
            "participants",
            render::roster(&call, version, self.config.shapes),
        ))
    }

    /// `GET …/participants/{id}`.
    pub async fn get_participant(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
        participant_id: &str,
    ) -> Result<Value, CallsError> {
        let call = self.live_call(caller, call_id).await?;
        render::participant_entity(&call, version, participant_id, self.config.shapes).ok_or_else(|| {
            CallsError::Rejected(switchboard_engine::Rejection::UnknownParticipant(participant_id.into()))
        })
    }

    /// `DELETE …/participants/{id}` (docs:participant-delete).
    pub async fn remove_participant(
        &self,
        caller: &Caller,
        call_id: &str,
        participant_id: &str,
    ) -> Result<(), CallsError> {
        let command = Command::RemoveParticipant { participant_id: participant_id.to_owned() };
        self.execute(call_id, Some(caller), vec![command]).await.map(drop)
    }

    /// beta `…/participants/{id}/reportSyntheticMedia`.
    pub async fn report_synthetic_media(
        &self,
        caller: &Caller,
        call_id: &str,
        participant_id: &str,
        malicious: bool,
    ) -> Result<(), CallsError> {
        let command = Command::ReportSyntheticMedia { participant_id: participant_id.to_owned(), malicious };
        self.execute(call_id, Some(caller), vec![command]).await.map(drop)
    }

    /// `POST …/participants/invite` (docs:participant-invite): 200 with the operation `running`; its completion and
    /// the roster update come as notifications.
    pub async fn invite(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
        request: &wire::InvitePostRequestBody,
    ) -> Result<Option<OperationCreated>, CallsError> {
        let invitations: Vec<Map<String, Value>> =
            request.participants.as_ref().map(|list| list.iter().map(to_object).collect()).unwrap_or_default();
        let mut invitees = Vec::new();
        for (index, mut invitation) in invitations.into_iter().enumerate() {
            let identity = crate::graph::identity_in(invitation.get("identity"));
            let endpoint = self.endpoint(caller.tenant_id, &identity, &format!("participants[{index}]")).await?;
            let endpoint = endpoint.unwrap_or_else(|| crate::graph::unreachable(&identity));
            let replaces = match invitation.get("replacesCallId").and_then(Value::as_str) {
                Some(replaced) => Some(self.replaced_call(caller, call_id, replaced, &endpoint).await?),
                None => None,
            };
            // "Specify a value for participantId so that it can be used for later cancellation" (docs:participant-delete).
            let participant_id = invitation
                .get("participantId")
                .and_then(Value::as_str)
                .map_or_else(|| Uuid::new_v4().to_string(), str::to_owned);
            invitation.entry("id").or_insert(Value::Null);
            let peer = endpoint.into_peer(participant_id, PeerRole::Party, PeerStatus::Ringing);
            invitees.push(Invitee { peer, invitation: Value::Object(invitation), replaces });
        }
        let client_context = request.client_context.as_ref().cloned();
        self.act(caller, version, call_id, ActionKind::Invite(invitees), client_context).await
    }

    // ---- audio routing groups --------------------------------------------------------------------------------------

    pub async fn list_audio_routing_groups(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
    ) -> Result<Value, CallsError> {
        let call = self.live_call(caller, call_id).await?;
        let groups = call.audio_routing_groups.iter().map(render::audio_routing_group).collect();
        Ok(render::collection(self.base_url(), version, caller.root, &call.id, "audioRoutingGroups", groups))
    }

    pub async fn get_audio_routing_group(&self, caller: &Caller, call_id: &str, id: &str) -> Result<Value, CallsError> {
        let call = self.live_call(caller, call_id).await?;
        call.audio_routing_groups
            .iter()
            .find(|g| g.id == id)
            .map(render::audio_routing_group)
            .ok_or_else(|| no_such_group(id))
    }

    /// `POST …/audioRoutingGroups` (docs:call-post-audioroutinggroups): the group, with its id (made up when the
    /// request gives none).
    pub async fn create_audio_routing_group(
        &self,
        caller: &Caller,
        call_id: &str,
        request: &wire::AudioRoutingGroup,
    ) -> Result<Value, CallsError> {
        let group = AudioRoutingGroup {
            id: request.id.as_ref().cloned().unwrap_or_else(|| Uuid::new_v4().to_string()),
            routing_mode: request.routing_mode.as_ref().map(|m| m.as_str().to_owned()).unwrap_or_default(),
            sources: request.sources.as_ref().cloned().unwrap_or_default(),
            receivers: request.receivers.as_ref().cloned().unwrap_or_default(),
        };
        let id = group.id.clone();
        let call = self.execute(call_id, Some(caller), vec![Command::CreateAudioRoutingGroup(group)]).await?;
        let created =
            call.audio_routing_groups.iter().find(|g| g.id == id).expect("invariant: the group was just created");
        Ok(render::audio_routing_group(created))
    }

    /// `PATCH …/audioRoutingGroups/{id}`: "Update receivers list" (res:audioroutinggroup).
    pub async fn update_audio_routing_group(
        &self,
        caller: &Caller,
        call_id: &str,
        id: &str,
        request: &wire::AudioRoutingGroup,
    ) -> Result<Value, CallsError> {
        if let Some(mode) = request.routing_mode.as_ref() {
            let call = self.live_call(caller, call_id).await?;
            let current = call.audio_routing_groups.iter().find(|g| g.id == id).ok_or_else(|| no_such_group(id))?;
            if current.routing_mode != mode.as_str() {
                return Err(CallsError::Invalid(format!(
                    "'routingMode' cannot change ({} to {}): delete the group and create another",
                    current.routing_mode,
                    mode.as_str()
                )));
            }
        }
        let command = Command::UpdateAudioRoutingGroup {
            id: id.to_owned(),
            sources: request.sources.as_ref().cloned(),
            receivers: request.receivers.as_ref().cloned(),
        };
        let call = self.execute(call_id, Some(caller), vec![command]).await?;
        let group = call.audio_routing_groups.iter().find(|g| g.id == id).ok_or_else(|| no_such_group(id))?;
        Ok(render::audio_routing_group(group))
    }

    pub async fn delete_audio_routing_group(&self, caller: &Caller, call_id: &str, id: &str) -> Result<(), CallsError> {
        let command = Command::DeleteAudioRoutingGroup { id: id.to_owned() };
        self.execute(call_id, Some(caller), vec![command]).await.map(drop)
    }

    // ---- content sharing sessions ----------------------------------------------------------------------------------

    pub async fn list_content_sharing_sessions(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
    ) -> Result<Value, CallsError> {
        let call = self.live_call(caller, call_id).await?;
        let sessions =
            call.content_sharing_sessions.iter().map(|s| render::content_sharing_session(version, s)).collect();
        Ok(render::collection(self.base_url(), version, caller.root, &call.id, "contentSharingSessions", sessions))
    }

    pub async fn get_content_sharing_session(
        &self,
        caller: &Caller,
        version: ApiVersion,
        call_id: &str,
        session_id: &str,
    ) -> Result<Value, CallsError> {
        let call = self.live_call(caller, call_id).await?;
        let session = call.content_sharing_sessions.iter().find(|s| s.id == session_id);
        session.map(|s| render::content_sharing_session(version, s)).ok_or_else(|| no_such_session(session_id))
    }

    /// beta `…/contentSharingSessions/{id}/pngOfCurrentSlide`: the slide's PNG bytes.
    pub async fn slide_png(&self, caller: &Caller, call_id: &str, session_id: &str) -> Result<Vec<u8>, CallsError> {
        use base64::Engine as _;
        let call = self.live_call(caller, call_id).await?;
        let session = call
            .content_sharing_sessions
            .iter()
            .find(|s| s.id == session_id)
            .ok_or_else(|| no_such_session(session_id))?;
        let png = session.png_of_current_slide.as_deref().ok_or_else(|| {
            CallsError::Rejected(switchboard_engine::Rejection::NotFound(format!(
                "content sharing session '{session_id}' shows no slide"
            )))
        })?;
        base64::engine::general_purpose::STANDARD.decode(png).map_err(|e| CallsError::Corrupt {
            call_id: call.id.clone(),
            error: format!("the stored slide is not base64: {e}"),
        })
    }
}

fn no_such_group(id: &str) -> CallsError {
    CallsError::Rejected(switchboard_engine::Rejection::NotFound(format!("the call has no audio routing group '{id}'")))
}

fn no_such_session(id: &str) -> CallsError {
    CallsError::Rejected(switchboard_engine::Rejection::NotFound(format!(
        "the call has no content sharing session '{id}'"
    )))
}

/// A simulated participant's slide, checked to be a PNG (it is served as `image/png`).
pub fn encode_slide(bytes: &[u8]) -> Result<String, CallsError> {
    use base64::Engine as _;
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(CallsError::Invalid("a slide must be a PNG image".into()));
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The placeholder slide a sharing participant shows when no image was given: a 1×1 white PNG.
pub const BLANK_SLIDE_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC";
