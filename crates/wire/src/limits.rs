//! The limits Graph documents for request bodies, checked before any handler runs.
//!
//! Each rule names its source (`shared/reference/graph-calls.md` §e and the docs pages it cites). A rule that only
//! makes sense against call state (group-call-only actions, one participant on hold) belongs to the engine, not here.

use std::{fmt, net::IpAddr, ops::RangeInclusive};

use url::Url;

use crate::{
    Maybe,
    model::{
        AnswerPostRequestBody, AnyMediaConfig, AnyPrompt, AudioRoutingGroup, Call,
        ChangeScreenSharingRolePostRequestBody, InvitationParticipantInfo, InvitePostRequestBody,
        LogTeleconferenceDeviceQualityPostRequestBody, MediaPrompt, MuteAllPostRequestBody,
        ParticipantStartHoldMusicPostRequestBody, PlayPromptPostRequestBody, RecordPostRequestBody,
        RecordResponsePostRequestBody, RedirectPostRequestBody, RejectPostRequestBody, RoutingMode,
        SendDtmfTonesPostRequestBody, TransferPostRequestBody, UpdateRecordingStatusPostRequestBody,
    },
};

/// `clientContext`: "Unique client context string. Can have a maximum of 256 characters." (res:commsoperation and
/// every action page).
pub const MAX_CLIENT_CONTEXT_CHARS: usize = 256;
/// playPrompt: at most 20 prompts (docs:call-playprompt).
pub const MAX_PROMPTS: usize = 20;
/// recordResponse: at most one prompt (docs:call-record).
pub const MAX_RECORD_PROMPTS: usize = 1;
/// recordResponse: initial/max silence and max record duration, in seconds: min 1, max 120 (docs:call-record).
pub const RECORD_SECONDS: RangeInclusive<i32> = 1..=120;
/// redirect: up to 25 simultaneous-ring targets (docs:call-redirect).
pub const MAX_REDIRECT_TARGETS: usize = 25;
/// redirect: `timeout` in seconds, 15–90 inclusive (docs:call-redirect).
pub const REDIRECT_TIMEOUT_SECONDS: RangeInclusive<i32> = 15..=90;
/// invite: up to 5 participants in one request (docs:participant-invite).
pub const MAX_INVITE_PARTICIPANTS: usize = 5;
/// create call: a group call has up to 5 VoIP targets (docs:application-post-calls).
pub const MAX_CALL_TARGETS: usize = 5;
/// sendDtmfTones: Graph documents no limit on `tones` (docs:call-senddtmftones); a dialled number, a PIN or an
/// extension is a few dozen keys, and each request's keys are kept with the call, so Switchboard takes at most this
/// many (inferred, not observed).
pub const MAX_DTMF_TONES: usize = 100;
/// sendDtmfTones: `delayBetweenTonesMs`, also undocumented; longer pauses than this are not dialling (inferred).
pub const MAX_DELAY_BETWEEN_TONES_MS: i32 = 10_000;
/// beta `ringingTimeoutInSeconds`: "The max value for this attribute is 115 seconds" (beta res:call).
pub const MAX_RINGING_TIMEOUT_SECONDS: i32 = 115;

/// What the checks need to know about the server they run in.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Dev mode: a `callbackUri` may be plain http when its host is a loopback address, so a bot under test
    /// needs no certificate. Graph itself requires https (res:call, docs:call-answer).
    pub allow_loopback_http_callbacks: bool,
}

/// A request body that breaks a documented rule; the message says which rule and what to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// A request body Graph documents rules for.
pub trait Validate {
    fn validate(&self, policy: &Policy) -> Result<(), Invalid>;
}

fn invalid<T>(message: impl Into<String>) -> Result<T, Invalid> {
    Err(Invalid(message.into()))
}

fn required<'a, T>(field: &'a Maybe<T>, name: &str) -> Result<&'a T, Invalid> {
    field.as_ref().ok_or_else(|| Invalid(format!("'{name}' is required")))
}

fn client_context(value: &Maybe<String>) -> Result<(), Invalid> {
    match value.as_ref() {
        Some(text) if text.chars().count() > MAX_CLIENT_CONTEXT_CHARS => invalid(format!(
            "'clientContext' is {} characters long; Graph allows at most {MAX_CLIENT_CONTEXT_CHARS}",
            text.chars().count()
        )),
        _ => Ok(()),
    }
}

fn count<T>(items: &[T], name: &str, allowed: RangeInclusive<usize>, source: &str) -> Result<(), Invalid> {
    if allowed.contains(&items.len()) {
        return Ok(());
    }
    invalid(format!("'{name}' has {} entries; {source} allows {} to {}", items.len(), allowed.start(), allowed.end()))
}

fn seconds(value: &Maybe<i32>, name: &str, allowed: RangeInclusive<i32>, source: &str) -> Result<(), Invalid> {
    match value.as_ref() {
        Some(number) if !allowed.contains(number) => {
            invalid(format!("'{name}' is {number}; {source} allows {} to {} seconds", allowed.start(), allowed.end()))
        }
        _ => Ok(()),
    }
}

/// `callbackUri` "must be https" (res:call, docs:call-answer, call-redirect, call-reject).
fn callback_uri(value: &Maybe<String>, is_required: bool, policy: &Policy) -> Result<(), Invalid> {
    let Some(text) = value.as_ref() else {
        return if is_required { invalid("'callbackUri' is required") } else { Ok(()) };
    };
    let url = Url::parse(text).map_err(|e| Invalid(format!("'callbackUri' '{text}' is not an absolute URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if policy.allow_loopback_http_callbacks && is_loopback(&url) => Ok(()),
        "http" if policy.allow_loopback_http_callbacks => invalid(format!(
            "'callbackUri' '{text}' must be https; in dev mode plain http is accepted only for loopback hosts \
             (127.0.0.1, ::1, localhost)"
        )),
        _ => invalid(format!("'callbackUri' '{text}' must be an https URL")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => IpAddr::V4(address).is_loopback(),
        Some(url::Host::Ipv6(address)) => IpAddr::V6(address).is_loopback(),
        None => false,
    }
}

fn media_uri(text: &str, name: &str) -> Result<(), Invalid> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(()),
        Ok(url) => invalid(format!("'{name}' '{text}' must be an http or https URL, not {}:", url.scheme())),
        Err(e) => invalid(format!("'{name}' '{text}' is not an absolute URL: {e}")),
    }
}

fn media_prompt(prompt: &MediaPrompt, name: &str) -> Result<(), Invalid> {
    let media_info = required(&prompt.media_info, &format!("{name}.mediaInfo"))?;
    let uri = required(&media_info.uri, &format!("{name}.mediaInfo.uri"))?;
    media_uri(uri, &format!("{name}.mediaInfo.uri"))
}

fn prompts(items: &[AnyPrompt], name: &str) -> Result<(), Invalid> {
    items
        .iter()
        .enumerate()
        .try_for_each(|(index, AnyPrompt::MediaPrompt(prompt))| media_prompt(prompt, &format!("{name}[{index}]")))
}

fn invitation(target: &InvitationParticipantInfo, name: &str) -> Result<(), Invalid> {
    required(&target.identity, &format!("{name}.identity")).map(|_| ())
}

fn invitations(items: &[InvitationParticipantInfo], name: &str) -> Result<(), Invalid> {
    items.iter().enumerate().try_for_each(|(index, target)| invitation(target, &format!("{name}[{index}]")))
}

fn media_config(value: &Maybe<AnyMediaConfig>) -> Result<(), Invalid> {
    match required(value, "mediaConfig")? {
        AnyMediaConfig::ServiceHostedMediaConfig(config) => {
            config.pre_fetch_media.as_ref().into_iter().flatten().enumerate().try_for_each(|(index, media)| match media
                .uri
                .as_ref()
            {
                Some(uri) => media_uri(uri, &format!("mediaConfig.preFetchMedia[{index}].uri")),
                None => invalid(format!("'mediaConfig.preFetchMedia[{index}].uri' is required")),
            })
        }
        AnyMediaConfig::AppHostedMediaConfig(_) => Ok(()),
    }
}

/// Stop tones are DTMF keys as the docs write them (`"#"`, `"1"`, `"*"`, docs:call-record) or tone names.
fn stop_tones(value: &Maybe<Vec<String>>) -> Result<(), Invalid> {
    for tone in value.as_ref().into_iter().flatten() {
        let is_key = tone.len() == 1 && tone.chars().all(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(c));
        if !is_key && tone.parse::<crate::model::Tone>().is_err() {
            return invalid(format!("'stopTones' contains '{tone}'; use DTMF keys 0-9, *, #, A-D"));
        }
    }
    Ok(())
}

impl Validate for Call {
    fn validate(&self, policy: &Policy) -> Result<(), Invalid> {
        callback_uri(&self.callback_uri, true, policy)?;
        media_config(&self.media_config)?;
        let targets = self.targets.as_ref().map(Vec::as_slice).unwrap_or_default();
        let joins_meeting = self.meeting_info.as_ref().is_some() || self.chat_info.as_ref().is_some();
        if targets.is_empty() && !joins_meeting {
            return invalid(
                "a call needs 'targets' (peer-to-peer or group call) or 'meetingInfo' and 'chatInfo' (to join a meeting)",
            );
        }
        count(targets, "targets", 0..=MAX_CALL_TARGETS, "docs:application-post-calls (group calls of up to 5)")?;
        invitations(targets, "targets")?;
        if let Some(seconds) = self.ringing_timeout_in_seconds.as_ref()
            && !(1..=MAX_RINGING_TIMEOUT_SECONDS).contains(seconds)
        {
            return invalid(format!(
                "'ringingTimeoutInSeconds' is {seconds}; the maximum is {MAX_RINGING_TIMEOUT_SECONDS} (beta res:call)"
            ));
        }
        Ok(())
    }
}

impl Validate for AnswerPostRequestBody {
    fn validate(&self, policy: &Policy) -> Result<(), Invalid> {
        // The docs mark it required, yet say the app's calling webhook is used without it (docs:call-answer), as
        // for reject and redirect: a bot relying on its webhook answers with none.
        callback_uri(&self.callback_uri, false, policy)?;
        media_config(&self.media_config)?;
        let modalities = required(&self.accepted_modalities, "acceptedModalities")?;
        count(modalities, "acceptedModalities", 1..=usize::MAX, "docs:call-answer")?;
        match self.participant_capacity.as_ref() {
            Some(capacity) if *capacity < 0 => {
                invalid(format!("'participantCapacity' is {capacity}; it cannot be negative"))
            }
            _ => Ok(()),
        }
    }
}

impl Validate for RejectPostRequestBody {
    fn validate(&self, policy: &Policy) -> Result<(), Invalid> {
        callback_uri(&self.callback_uri, false, policy)
    }
}

impl Validate for RedirectPostRequestBody {
    fn validate(&self, policy: &Policy) -> Result<(), Invalid> {
        let targets = required(&self.targets, "targets")?;
        count(targets, "targets", 1..=MAX_REDIRECT_TARGETS, "docs:call-redirect")?;
        invitations(targets, "targets")?;
        seconds(&self.timeout, "timeout", REDIRECT_TIMEOUT_SECONDS, "docs:call-redirect")?;
        callback_uri(&self.callback_uri, false, policy)
    }
}

impl Validate for TransferPostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        invitation(required(&self.transfer_target, "transferTarget")?, "transferTarget")
    }
}

impl Validate for PlayPromptPostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        client_context(&self.client_context)?;
        let items = required(&self.prompts, "prompts")?;
        count(items, "prompts", 1..=MAX_PROMPTS, "docs:call-playprompt")?;
        prompts(items, "prompts")
    }
}

/// recordResponse (v1.0) and beta record take the same parameters.
macro_rules! validate_record {
    ($body:ty) => {
        impl Validate for $body {
            fn validate(&self, _: &Policy) -> Result<(), Invalid> {
                client_context(&self.client_context)?;
                let items = self.prompts.as_ref().map(Vec::as_slice).unwrap_or_default();
                count(items, "prompts", 0..=MAX_RECORD_PROMPTS, "docs:call-record")?;
                prompts(items, "prompts")?;
                seconds(
                    &self.initial_silence_timeout_in_seconds,
                    "initialSilenceTimeoutInSeconds",
                    RECORD_SECONDS,
                    "docs:call-record",
                )?;
                seconds(
                    &self.max_silence_timeout_in_seconds,
                    "maxSilenceTimeoutInSeconds",
                    RECORD_SECONDS,
                    "docs:call-record",
                )?;
                seconds(
                    &self.max_record_duration_in_seconds,
                    "maxRecordDurationInSeconds",
                    RECORD_SECONDS,
                    "docs:call-record",
                )?;
                stop_tones(&self.stop_tones)
            }
        }
    };
}
validate_record!(RecordResponsePostRequestBody);
validate_record!(RecordPostRequestBody);

impl Validate for SendDtmfTonesPostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        client_context(&self.client_context)?;
        let tones = required(&self.tones, "tones")?;
        count(tones, "tones", 1..=MAX_DTMF_TONES, "Switchboard (Graph documents no limit)")?;
        match self.delay_between_tones_ms.as_ref() {
            Some(delay) if !(0..=MAX_DELAY_BETWEEN_TONES_MS).contains(delay) => invalid(format!(
                "'delayBetweenTonesMs' is {delay}; Switchboard allows 0 to {MAX_DELAY_BETWEEN_TONES_MS} (Graph documents \
                 no limit)"
            )),
            _ => Ok(()),
        }
    }
}

impl Validate for ChangeScreenSharingRolePostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        required(&self.role, "role").map(|_| ())
    }
}

impl Validate for UpdateRecordingStatusPostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        client_context(&self.client_context)?;
        required(&self.status, "status").map(|_| ())
    }
}

impl Validate for InvitePostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        client_context(&self.client_context)?;
        let participants = required(&self.participants, "participants")?;
        count(participants, "participants", 1..=MAX_INVITE_PARTICIPANTS, "docs:participant-invite")?;
        invitations(participants, "participants")
    }
}

impl Validate for MuteAllPostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        client_context(&self.client_context)
    }
}

impl Validate for ParticipantStartHoldMusicPostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        client_context(&self.client_context)?;
        match self.custom_prompt.as_ref() {
            Some(AnyPrompt::MediaPrompt(prompt)) => media_prompt(prompt, "customPrompt"),
            None => Ok(()),
        }
    }
}

impl Validate for LogTeleconferenceDeviceQualityPostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        required(&self.quality, "quality").map(|_| ())
    }
}

/// "oneToOne: sources and receivers have only one participant each. multicast: source has one participant but there
/// are multiple receivers." (res:audioroutinggroup)
impl Validate for AudioRoutingGroup {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        let mode = required(&self.routing_mode, "routingMode")?;
        let sources = required(&self.sources, "sources")?;
        let receivers = required(&self.receivers, "receivers")?;
        count(sources, "sources", 1..=1, "res:audioroutinggroup")?;
        match mode {
            RoutingMode::OneToOne => count(receivers, "receivers", 1..=1, "res:audioroutinggroup (oneToOne)"),
            RoutingMode::Multicast => {
                count(receivers, "receivers", 1..=usize::MAX, "res:audioroutinggroup (multicast)")
            }
            RoutingMode::UnknownFutureValue => invalid("'routingMode' must be oneToOne or multicast"),
        }
    }
}

/// Bodies whose only rule is the `clientContext` length.
macro_rules! validate_client_context_only {
    ($($body:ty),* $(,)?) => {
        $(impl Validate for $body {
            fn validate(&self, _: &Policy) -> Result<(), Invalid> {
                client_context(&self.client_context)
            }
        })*
    };
}
validate_client_context_only!(
    crate::model::AddLargeGalleryViewPostRequestBody,
    crate::model::AdmitAllFromLobbyPostRequestBody,
    crate::model::CancelMediaProcessingPostRequestBody,
    crate::model::MutePostRequestBody,
    crate::model::ParticipantAdmitFromLobbyPostRequestBody,
    crate::model::ParticipantRemoveFromLobbyPostRequestBody,
    crate::model::ParticipantStopHoldMusicPostRequestBody,
    crate::model::StartRecordingPostRequestBody,
    crate::model::StartTranscriptionPostRequestBody,
    crate::model::StopRecordingPostRequestBody,
    crate::model::StopTranscriptionPostRequestBody,
    crate::model::SubscribeToTonePostRequestBody,
    crate::model::UnmutePostRequestBody,
);

/// Bodies Graph documents no rule for.
impl Validate for crate::model::ParticipantReportSyntheticMediaPostRequestBody {
    fn validate(&self, _: &Policy) -> Result<(), Invalid> {
        Ok(())
    }
}
