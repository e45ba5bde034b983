//! The call's media operations: the IVR queue of `playPrompt` and `recordResponse` (in order, cancelled together
//! by `cancelMediaProcessing` or a barging recording), `sendDtmfTones`, and what the media engine reports back —
//! the end of a job, keys sent, keys pressed.

use serde_json::Value;
use switchboard_catalogue::ApiVersion;

use super::Machine;
use crate::{
    codes,
    command::{JobResult, MediaReport, NotificationKind, RecordCompletion},
    model::{MediaJob, MediaJobKind, OperationStatus, ResultInfo},
};

impl Machine<'_> {
    pub(super) fn queue_media(&mut self, job: MediaJob) {
        self.call.media_jobs.push(job);
    }

    /// Fails every job of the IVR queue, running or waiting, as cancelled (docs:call-cancelmediaprocessing).
    pub(super) fn cancel_media_jobs(&mut self) {
        for job in std::mem::take(&mut self.call.media_jobs) {
            let properties = match job.kind {
                // The cancelled recording's notification in docs:call-cancelmediaprocessing.
                MediaJobKind::Record(_) => vec![
                    ("recordingLocation", Value::from("")),
                    ("recordingAccessToken", Value::from("")),
                    ("completionReason", Value::from("operationCanceled")),
                ],
                // beta `playPromptCompletionReason`.
                MediaJobKind::Play { .. } => self.beta_completion_reason("mediaOperationCanceled"),
            };
            self.finish_operation(
                &job.operation_id,
                OperationStatus::Failed,
                Some(codes::media_operation_cancelled()),
                properties,
            );
        }
    }

    pub(super) fn media_report(&mut self, report: MediaReport) {
        match report {
            MediaReport::JobFinished { operation_id, result } => {
                let Some(index) = self.call.media_jobs.iter().position(|j| j.operation_id == operation_id) else {
                    // Cancelled meanwhile: the bot has heard about it already.
                    return;
                };
                self.call.media_jobs.remove(index);
                let (status, result_info, properties) = match result {
                    JobResult::Played => (
                        OperationStatus::Completed,
                        codes::action_completed(),
                        self.beta_completion_reason("completedSuccessfully"),
                    ),
                    JobResult::PromptFailed { reason } => {
                        let reason_property = match self.call.operation(&operation_id).map(|o| o.odata_type.as_str()) {
                            Some("recordOperation") => vec![("completionReason", Value::from("playPromptFailed"))],
                            _ => self.beta_completion_reason("unknown"),
                        };
                        (OperationStatus::Failed, codes::prompt_failed(&reason), reason_property)
                    }
                    JobResult::Recorded { location, access_token, completion } => {
                        let (result_info, reason) = match completion {
                            RecordCompletion::MaxRecordDurationReached => {
                                (codes::max_record_duration_reached(), "maxRecordDurationReached")
                            }
                            // Graph documents no codes for these endings of a recording that kept something.
                            RecordCompletion::StopToneDetected => (codes::action_completed(), "stopToneDetected"),
                            RecordCompletion::MaxSilenceTimeout => (codes::action_completed(), "maxSilenceTimeout"),
                        };
                        let properties = vec![
                            ("recordingLocation", Value::from(location)),
                            ("recordingAccessToken", Value::from(access_token)),
                            ("completionReason", Value::from(reason)),
                        ];
                        (OperationStatus::Completed, result_info, properties)
                    }
                    JobResult::NothingHeard => (
                        OperationStatus::Failed,
                        codes::no_speech_detected(),
                        vec![
                            ("recordingLocation", Value::from("")),
                            ("recordingAccessToken", Value::from("")),
                            ("completionReason", Value::from("initialSilenceTimeout")),
                        ],
                    ),
                };
                self.finish_operation(&operation_id, status, Some(result_info), properties);
            }
            MediaReport::DtmfSent { operation_id } => {
                let before = self.call.dtmf_jobs.len();
                self.call.dtmf_jobs.retain(|j| j.operation_id != operation_id);
                if self.call.dtmf_jobs.len() == before {
                    return;
                }
                // The completion in docs:call-senddtmftones carries a completion reason and no result.
                let reason = vec![("completionReason", Value::from("completedSuccessfully"))];
                self.finish_operation(&operation_id, OperationStatus::Completed, None, reason);
            }
            MediaReport::KeyPressed { key, .. } => {
                // Graph says nothing unless the bot subscribed; its notification names no participant
                // (docs-contrib issue #1130).
                let Some(tone) = crate::tones::name(key) else { return };
                if !self.call.bot.tones_subscribed {
                    return;
                }
                self.call.bot.tone_sequence += 1;
                let sequence_id = self.call.bot.tone_sequence;
                self.notify(NotificationKind::ToneReceived { tone, sequence_id });
            }
        }
    }

    /// beta operations carry a `completionReason`; v1.0 ones of this type do not.
    fn beta_completion_reason(&self, reason: &'static str) -> Vec<(&'static str, Value)> {
        if self.call.api_version == ApiVersion::Beta {
            vec![("completionReason", Value::from(reason))]
        } else {
            Vec::new()
        }
    }

    /// Ends a running operation as the media engine says, with its completion notification.
    fn finish_operation(
        &mut self,
        operation_id: &str,
        status: OperationStatus,
        result_info: Option<ResultInfo>,
        properties: Vec<(&'static str, Value)>,
    ) {
        let Some(operation) = self.call.operation_mut(operation_id, |o| o.status == OperationStatus::Running) else {
            return;
        };
        operation.status = status;
        operation.result_info = result_info;
        for (name, value) in properties {
            operation.properties.insert(name.into(), value);
        }
        self.notify(NotificationKind::OperationFinished { operation_id: operation_id.to_owned() });
    }
}
