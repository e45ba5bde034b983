//! Actions a bot takes in an established call that answer with an operation (graph-calls.md §b
//! "commsOperation.status"): completed at once, or running until a notification says how they ended.

use std::{sync::Arc, time::Duration};

use serde_json::{Map, Value, json};

use super::{Machine, Rejection};
use crate::{
    codes,
    command::{ActionKind, ActionRequest, NotificationKind, Timer},
    model::{
        DtmfJob, MediaHosting, MediaJob, MediaJobKind, Operation, OperationStatus, PeerStatus, ResultInfo,
        TranscriptionState,
    },
};

/// How many finished operations a call keeps for `GET …/operations/{id}` (see `forget_old_operations`).
pub(crate) const KEPT_FINISHED_OPERATIONS: usize = 20;
/// Media operations (prompts, recordings, DTMF) a call holds waiting at most.
pub(crate) const MAX_QUEUED_MEDIA_OPERATIONS: usize = 100;

impl Machine<'_> {
    pub(super) fn action(&mut self, request: ActionRequest) -> Result<(), Rejection> {
        let ActionRequest { operation_id, kind, client_context } = request;
        let name = kind.name();
        let odata_type = kind.operation_type();
        self.require(name, "established", self.call.state == super::CallState::Established)?;
        let group_only = |machine: &Self| {
            if machine.call.has_roster() {
                Ok(())
            } else {
                Err(Rejection::NotApplicable(format!("{name} is only supported for group calls and meetings")))
            }
        };
        let mut running = false;
        // Running until the media engine reports its end, rather than finishing on its own.
        let mut media_driven = false;
        let mut echoed_prompts = Vec::new();
        let mut properties = Map::new();
        let mut failure = None;
        let mut awaiting = Vec::new();
        match kind {
            ActionKind::SetSelfMuted(muted) => {
                // "This method is only supported for group calls" (docs:call-mute, call-unmute).
                group_only(self)?;
                self.call.bot.muted = muted;
                let bot = self.call.my_participant_id.clone();
                self.roster_changed(&[&bot]);
            }
            ActionKind::UpdateRecordingStatus(recording_status) => {
                self.call.bot.recording_status = Some(recording_status);
            }
            ActionKind::ChangeScreenSharingRole(role) => {
                // "only supported for group calls with app-hosted media" (docs:call-changescreensharingrole).
                group_only(self)?;
                if !self.app_hosted() {
                    return Err(Rejection::NotApplicable(
                        "changeScreenSharingRole is only supported for calls with app-hosted media \
                         (docs:call-changescreensharingrole)"
                            .into(),
                    ));
                }
                self.call.bot.screen_sharing_role = Some(role);
                // 202 Accepted with no body: Graph creates no operation for it.
                return Ok(());
            }
            ActionKind::AddLargeGalleryView => {
                group_only(self)?;
                self.call.bot.large_gallery_view = true;
                // 202 with the operation `running`, then a completion notification (docs:call-addlargegalleryview).
                running = true;
            }
            ActionKind::SetRecording(recording) => self.call.bot.recording = recording,
            ActionKind::SubscribeToTone => {
                self.require_service_hosted(name)?;
                self.call.bot.tones_subscribed = true;
            }
            ActionKind::SetTranscription { active, language } => {
                if let Some(language) = &language {
                    properties.insert("language".into(), language.clone().into());
                }
                self.call.bot.transcription = Some(TranscriptionState { active, language, changed_at: self.now });
            }
            ActionKind::Invite(invitees) => {
                let echoed: Vec<Value> = invitees.iter().map(|i| i.invitation.clone()).collect();
                properties.insert("participants".into(), Value::Array(echoed));
                awaiting = self.invite(&operation_id, invitees)?;
                running = true;
            }
            ActionKind::MuteParticipant { participant_id } => {
                // "only supported for group calls" (graph-calls.md §e), and the roster shows it (docs:participant-mute).
                group_only(self)?;
                self.server_mute(&[participant_id])?;
            }
            ActionKind::MuteAll { participants } => {
                group_only(self)?;
                // The beta operation lists who it muted; with no list it mutes everyone but the bot (inferred: the
                // beta SDK is all Graph publishes about muteAll).
                if let Some(unknown) = participants.iter().find(|id| {
                    !self.call.is_bot(id)
                        && !self.call.peers.iter().any(|p| p.participant_id == **id && p.is_in_conversation())
                }) {
                    return Err(Rejection::NotApplicable(format!("'{unknown}' is not a participant of the call")));
                }
                let targets = if participants.is_empty() {
                    self.call
                        .peers
                        .iter()
                        .filter(|p| p.is_in_conversation())
                        .map(|p| p.participant_id.clone())
                        .collect()
                } else {
                    participants
                };
                self.server_mute(&targets)?;
                properties.insert("participants".into(), json!(targets));
            }
            ActionKind::StartHoldMusic { participant_id, prompt } => {
                // 202 with the operation running, then its completion (docs:participant-startholdmusic).
                running = true;
                failure = self.hold(&participant_id, prompt)?;
            }
            ActionKind::StopHoldMusic { participant_id } => {
                running = true;
                let peer = self.conversation_peer(&participant_id)?;
                peer.roster.on_hold = false;
                peer.roster.hold_prompt = None;
            }
            ActionKind::AdmitFromLobby { participant_id } => self.admit(&[participant_id])?,
            ActionKind::AdmitAllFromLobby => {
                let waiting: Vec<String> = self
                    .call
                    .peers
                    .iter()
                    .filter(|p| p.is_on_roster() && p.roster.in_lobby)
                    .map(|p| p.participant_id.clone())
                    .collect();
                if !waiting.is_empty() {
                    self.admit(&waiting)?;
                }
            }
            ActionKind::RemoveFromLobby { participant_id } => {
                self.lobby_peer(&participant_id)?;
                self.peer_left(&participant_id, Some("removedFromLobby"));
                self.roster_changed(&[&participant_id]);
            }
            ActionKind::PlayPrompt { prompts, looped } => {
                self.require_service_hosted(name)?;
                self.require_room_in_media_queue(name)?;
                let uris = prompts.iter().map(|p| p.uri.clone()).collect();
                echoed_prompts = prompts;
                self.queue_media(MediaJob {
                    operation_id: operation_id.clone(),
                    kind: MediaJobKind::Play { prompts: uris, looped },
                });
                (running, media_driven) = (true, true);
            }
            ActionKind::Record { job, barge_in } => {
                self.require_service_hosted(name)?;
                self.require_room_in_media_queue(name)?;
                // "If true, the recordResponse request will barge into other existing queued-up/currently-processing
                // record/playprompt requests" (docs:call-record).
                if barge_in {
                    self.cancel_media_jobs();
                }
                properties.insert("recordingLocation".into(), Value::Null);
                self.queue_media(MediaJob { operation_id: operation_id.clone(), kind: MediaJobKind::Record(job) });
                (running, media_driven) = (true, true);
            }
            ActionKind::CancelMediaProcessing => self.cancel_media_jobs(),
            ActionKind::SendDtmfTones { keys, delay_between_tones_ms } => {
                self.require_room_in_media_queue(name)?;
                self.call.dtmf_jobs.push(DtmfJob { operation_id: operation_id.clone(), keys, delay_between_tones_ms });
                (running, media_driven) = (true, true);
            }
        }
        let status = if running { OperationStatus::Running } else { OperationStatus::Completed };
        let immediate = !running || awaiting.is_empty();
        self.call.operations.push(Arc::new(Operation {
            id: operation_id.clone(),
            odata_type: odata_type.to_owned(),
            status,
            client_context,
            result_info: (!running).then(codes::action_completed),
            properties,
            created_at: self.now,
            awaiting,
            failure,
            prompts: echoed_prompts,
        }));
        self.forget_old_operations();
        if running && immediate && !media_driven {
            self.schedule(Timer::OperationDue { operation_id }, Duration::ZERO);
        }
        Ok(())
    }

    /// Keeps the call's finished operations to the newest [`KEPT_FINISHED_OPERATIONS`]. Graph does not say how long
    /// `GET …/operations/{id}` answers for a finished operation; without a bound, a long call's document (read and
    /// written whole on every change) grew by every mute, and with it the cost of each change.
    fn forget_old_operations(&mut self) {
        let finished = |o: &Operation| matches!(o.status, OperationStatus::Completed | OperationStatus::Failed);
        let mut excess =
            self.call.operations.iter().filter(|o| finished(o)).count().saturating_sub(KEPT_FINISHED_OPERATIONS);
        // Oldest first: operations are kept in the order they were started.
        self.call.operations.retain(|o| {
            let forget = excess > 0 && finished(o);
            excess -= usize::from(forget);
            !forget
        });
    }

    /// playPrompt, recordResponse and subscribeToTone are "only supported for calls that are initiated with
    /// serviceHostedMediaConfig" (graph-calls.md §e).
    /// Media operations wait in the call's document, which is read and written whole with every change: their
    /// number is bounded (Graph documents no bound; a bot that queues this much is not waiting for any of them).
    fn require_room_in_media_queue(&self, action: &str) -> Result<(), Rejection> {
        let queued = self.call.media_jobs.len() + self.call.dtmf_jobs.len();
        if queued >= MAX_QUEUED_MEDIA_OPERATIONS {
            return Err(Rejection::NotApplicable(format!(
                "{action}: the call already has {queued} media operations waiting, Switchboard's limit; wait for them \
                 to finish (cancelMediaProcessing cancels prompts and recordings)"
            )));
        }
        Ok(())
    }

    fn require_service_hosted(&self, action: &str) -> Result<(), Rejection> {
        if self.app_hosted() {
            return Err(Rejection::NotApplicable(format!(
                "{action} is only supported for calls with service-hosted media (serviceHostedMediaConfig)"
            )));
        }
        Ok(())
    }

    fn app_hosted(&self) -> bool {
        self.call.media_hosting == MediaHosting::App
    }

    /// Finishes a running operation as its bookkeeping says, with its completion notification.
    pub(super) fn complete_operation(&mut self, operation_id: &str) {
        let Some(operation) = self.call.operation_mut(operation_id, |o| o.status == OperationStatus::Running) else {
            return;
        };
        match operation.failure.clone() {
            Some(failure) => {
                operation.status = OperationStatus::Failed;
                operation.result_info = Some(failure);
            }
            None => {
                operation.status = OperationStatus::Completed;
                operation.result_info = Some(codes::action_completed());
            }
        }
        self.notify(NotificationKind::OperationFinished { operation_id: operation_id.to_owned() });
    }

    /// An invitee answered (`failure` is `None`) or failed; the operation finishes once nobody is awaited.
    pub(super) fn invitee_resolved(&mut self, operation_id: &str, participant_id: &str, failure: Option<ResultInfo>) {
        let failure = failure.map(|result| match self.call.peer(participant_id) {
            Some(peer) => codes::invitation_failed(&peer.mri(), &result),
            None => result,
        });
        let Some(operation) = self.call.operation_mut(operation_id, |_| true) else {
            return;
        };
        operation.awaiting.retain(|p| p != participant_id);
        if operation.failure.is_none() {
            operation.failure = failure;
        }
        if operation.awaiting.is_empty() {
            self.complete_operation(operation_id);
        }
    }

    /// The invitees of an operation still ringing give up.
    pub(super) fn invite_timed_out(&mut self, operation_id: &str) {
        let Some(operation) = self.call.operations.iter().find(|o| o.id == operation_id) else { return };
        let ringing: Vec<String> = operation
            .awaiting
            .iter()
            .filter(|p| self.call.peer(p).is_some_and(|peer| peer.status == PeerStatus::Ringing))
            .cloned()
            .collect();
        for participant_id in ringing {
            self.peer_refused(&participant_id, codes::no_answer());
        }
    }
}

impl ActionKind {
    fn name(&self) -> &'static str {
        match self {
            ActionKind::SetSelfMuted(true) => "mute",
            ActionKind::SetSelfMuted(false) => "unmute",
            ActionKind::UpdateRecordingStatus(_) => "updateRecordingStatus",
            ActionKind::ChangeScreenSharingRole(_) => "changeScreenSharingRole",
            ActionKind::AddLargeGalleryView => "addLargeGalleryView",
            ActionKind::SetRecording(true) => "startRecording",
            ActionKind::SetRecording(false) => "stopRecording",
            ActionKind::SetTranscription { active: true, .. } => "startTranscription",
            ActionKind::SetTranscription { active: false, .. } => "stopTranscription",
            ActionKind::SubscribeToTone => "subscribeToTone",
            ActionKind::Invite(_) => "invite",
            ActionKind::MuteParticipant { .. } => "mute",
            ActionKind::MuteAll { .. } => "muteAll",
            ActionKind::StartHoldMusic { .. } => "startHoldMusic",
            ActionKind::StopHoldMusic { .. } => "stopHoldMusic",
            ActionKind::AdmitFromLobby { .. } => "admitFromLobby",
            ActionKind::AdmitAllFromLobby => "admitAllFromLobby",
            ActionKind::RemoveFromLobby { .. } => "removeFromLobby",
            ActionKind::PlayPrompt { .. } => "playPrompt",
            ActionKind::Record { .. } => "recordResponse",
            ActionKind::CancelMediaProcessing => "cancelMediaProcessing",
            ActionKind::SendDtmfTones { .. } => "sendDtmfTones",
        }
    }

    /// The Graph type of the operation the action answers with.
    fn operation_type(&self) -> &'static str {
        match self {
            ActionKind::SetSelfMuted(true) | ActionKind::MuteParticipant { .. } => "muteParticipantOperation",
            ActionKind::SetSelfMuted(false) => "unmuteParticipantOperation",
            ActionKind::UpdateRecordingStatus(_) => "updateRecordingStatusOperation",
            ActionKind::ChangeScreenSharingRole(_) => "commsOperation",
            ActionKind::AddLargeGalleryView => "addLargeGalleryViewOperation",
            ActionKind::SetRecording(true) => "startRecordingOperation",
            ActionKind::SetRecording(false) => "stopRecordingOperation",
            ActionKind::SetTranscription { active: true, .. } => "startTranscriptionOperation",
            ActionKind::SetTranscription { active: false, .. } => "stopTranscriptionOperation",
            ActionKind::SubscribeToTone => "subscribeToToneOperation",
            ActionKind::Invite(_) => "inviteParticipantsOperation",
            ActionKind::MuteAll { .. } => "muteParticipantsOperation",
            ActionKind::StartHoldMusic { .. } => "startHoldMusicOperation",
            ActionKind::StopHoldMusic { .. } => "stopHoldMusicOperation",
            ActionKind::AdmitFromLobby { .. } => "admitFromLobbyOperation",
            ActionKind::AdmitAllFromLobby => "admitAllFromLobbyOperation",
            ActionKind::RemoveFromLobby { .. } => "removeFromLobbyOperation",
            ActionKind::PlayPrompt { .. } => "playPromptOperation",
            ActionKind::Record { .. } => "recordOperation",
            ActionKind::CancelMediaProcessing => "cancelMediaProcessingOperation",
            ActionKind::SendDtmfTones { .. } => "sendDtmfTonesOperation",
        }
    }
}
