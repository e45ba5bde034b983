//! Driving the media: the worker that steps every conference in real time, what the media engine reports turned
//! into commands of the call, recordings kept for their bot, and conferences rebuilt after a restart.

use std::{future::Future, sync::Arc, time::Duration};

use switchboard_engine::{Command, JobResult, MediaReport, RecordCompletion};
use switchboard_media::{Event, JobOutcome, RecordEnd, codec};
use switchboard_store::RecordingRecord;
use uuid::Uuid;

use super::Happening;
use crate::{Calls, CallsError, clock::ClockMode};

/// The scheduler's beat: one engine frame.
const TICK: Duration = Duration::from_millis(switchboard_media::FRAME_MS);
/// How often recordings past their retention are deleted.
const RECORDING_SWEEP: Duration = Duration::from_secs(60);

impl Calls {
    /// Steps every call's media in real time until `shutdown`, one frame every 20 ms for all calls, asleep while
    /// no call's media has anything to do. On a virtual clock it waits: [`Calls::advance`] steps the media then.
    pub async fn run_media(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut beat = tokio::time::interval(TICK);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sweep = tokio::time::Instant::now();
        loop {
            if !self.media.busy() {
                // No call's media has anything to do: sleep until one has (or a minute passes, for the sweep).
                tokio::select! {
                    () = &mut shutdown => return,
                    () = self.media.woken() => {}
                    () = tokio::time::sleep(RECORDING_SWEEP) => {}
                }
                beat.reset();
            }
            tokio::select! {
                () = &mut shutdown => return,
                _ = beat.tick() => {}
            }
            if self.clock.mode() == ClockMode::Virtual {
                continue;
            }
            if let Err(error) = self.step_media().await {
                tracing::error!(%error, "stepping the media failed");
            }
            if last_sweep.elapsed() >= RECORDING_SWEEP {
                last_sweep = tokio::time::Instant::now();
                if let Err(error) = self.drop_expired_recordings().await {
                    tracing::error!(%error, "deleting expired recordings failed");
                }
            }
        }
    }

    /// Brings the media up to now, acting on whatever happened on the way.
    async fn step_media(&self) -> Result<(), CallsError> {
        loop {
            let happenings = self.media.run_until(self.clock.now());
            if happenings.is_empty() {
                return Ok(());
            }
            for happening in happenings {
                self.media_event(happening).await?;
            }
        }
    }

    /// Tells a call what its media did.
    pub(crate) async fn media_event(&self, happening: Happening) -> Result<(), CallsError> {
        let Happening { call_id, event, .. } = happening;
        let report = match event {
            Event::KeyPressed { person, key } => MediaReport::KeyPressed { participant_id: person, key },
            Event::DtmfDone { operation_id } => MediaReport::DtmfSent { operation_id },
            Event::JobDone { operation_id, outcome } => {
                let result = match outcome {
                    JobOutcome::Played => JobResult::Played,
                    JobOutcome::PromptFailed(reason) => JobResult::PromptFailed { reason },
                    JobOutcome::NothingHeard => JobResult::NothingHeard,
                    JobOutcome::Recorded { samples, end } => {
                        let (location, access_token) = self.keep_recording(&call_id, &samples).await?;
                        let completion = match end {
                            RecordEnd::StopKey(_) => RecordCompletion::StopToneDetected,
                            RecordEnd::MaxDuration => RecordCompletion::MaxRecordDurationReached,
                            RecordEnd::MaxSilence => RecordCompletion::MaxSilenceTimeout,
                        };
                        JobResult::Recorded { location, access_token, completion }
                    }
                };
                MediaReport::JobFinished { operation_id, result }
            }
        };
        match self.execute(&call_id, None, vec![Command::Media(report)]).await {
            Ok(_) | Err(CallsError::CallNotFound { .. } | CallsError::Rejected(_)) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Stores a recording as a WAV, readable at the returned location with the returned access token.
    async fn keep_recording(&self, call_id: &str, samples: &[i16]) -> Result<(String, String), CallsError> {
        let call = self.load(call_id, None).await?;
        let recording_id = Uuid::new_v4();
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret).expect("invariant: the system random source works");
        let token = switchboard_store::hex(&secret);
        self.store
            .put_recording(RecordingRecord {
                recording_id,
                call_id: call.id.clone(),
                tenant_id: call.tenant_id,
                app_id: call.app_id,
                token_sha256: switchboard_store::sha256_hex(token.as_bytes()),
                wav: codec::wav(samples),
                created_at: self.clock.now(),
            })
            .await?;
        Ok((format!("{}/recordings/{recording_id}", self.base_url()), token))
    }

    /// The WAV of a recording, for whoever presents its access token.
    pub async fn recording(&self, recording_id: Uuid, token: &str) -> Result<Vec<u8>, CallsError> {
        let not_found = || CallsError::RecordingNotFound { recording_id };
        let recording = self.store.recording(recording_id).await?.ok_or_else(not_found)?;
        let presented = switchboard_store::sha256_hex(token.as_bytes());
        if aws_lc_rs::constant_time::verify_slices_are_equal(presented.as_bytes(), recording.token_sha256.as_bytes())
            .is_err()
        {
            return Err(not_found());
        }
        Ok(recording.wav)
    }

    /// Deletes the recordings of calls that ended longer ago than the retention ("discarded shortly after the call
    /// ends", docs:call-record).
    pub(crate) async fn drop_expired_recordings(&self) -> Result<(), CallsError> {
        let retention =
            chrono::Duration::from_std(self.media.config().recording_retention).unwrap_or(chrono::Duration::MAX);
        let cutoff = self.clock.now().checked_sub_signed(retention).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let deleted = self.store.delete_recordings_of_calls_ended_before(cutoff).await?;
        if deleted > 0 {
            tracing::info!(deleted, "deleted recordings past their retention");
        }
        Ok(())
    }

    /// At start-up, rebuilds the conferences of the calls that have media and that this node owns or may take (no
    /// live node holds them), taking the lease of those it does not hold already — so that their earlier owner, if
    /// it comes back, finds them gone; a call another live node owns has its conference there. Their jobs start
    /// again from the beginning; what was heard before the restart is not kept.
    pub async fn restore_media(&self) -> Result<(), CallsError> {
        const PAGE: u32 = 1000;
        let mut after = None;
        loop {
            let page = self.store.claimable_calls_after(&self.ownership.claimant(), after.take(), PAGE).await?;
            let now = self.clock.now();
            let full = page.len() == PAGE as usize;
            let last = page.last().map(|(record, _)| record.call_id.clone());
            for (record, lease) in page {
                let call = match crate::runtime::call_of(&record) {
                    Ok(call) => call,
                    Err(error) => {
                        tracing::warn!(call_id = %record.call_id, %error, "a call this build cannot read");
                        continue;
                    }
                };
                if !crate::media::has_media(&call) {
                    continue;
                }
                if self.ownership.claim(self.store.as_ref(), &call.id, lease).await?.is_some() {
                    self.media.sync(&call, now);
                }
            }
            match last {
                Some(last) if full => after = Some(last),
                _ => return Ok(()),
            }
        }
    }
}
