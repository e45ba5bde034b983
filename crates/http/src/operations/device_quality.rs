//! `POST /communications/calls/logTeleconferenceDeviceQuality` (docs:call-logteleconferencedevicequality):
//! a teleconferencing device reports its media quality; Graph answers 200 with no body. Switchboard keeps the
//! report in the store so a test or a person can read what a device sent.

use axum::http::{StatusCode, header};
use switchboard_store::NewDeviceQualityReport;
use switchboard_wire::model::LogTeleconferenceDeviceQualityPostRequestBody;

use crate::{
    error::ApiError,
    graph::{GraphRequest, GraphResponse, Json, Operation},
};

pub(crate) struct LogTeleconferenceDeviceQuality;

impl Operation for LogTeleconferenceDeviceQuality {
    type Body = Json<LogTeleconferenceDeviceQualityPostRequestBody>;

    async fn handle(request: GraphRequest, Json(body): Self::Body) -> Result<GraphResponse, ApiError> {
        let user_agent = request
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .ok_or(ApiError::MissingHeader {
                name: "User-Agent",
                why: "the docs require it to identify the reporting device",
            })?;
        let quality = body.quality.into_option().expect("Validate requires 'quality'");
        let report = NewDeviceQualityReport {
            received_at: request.state.clock.now(),
            tenant_id: request.app.tenant_id(),
            app_id: request.app.app_id(),
            api_version: request.version.as_str().to_owned(),
            user_agent: user_agent.to_owned(),
            call_chain_id: quality.call_chain_id.as_ref().cloned(),
            participant_id: quality.participant_id.as_ref().cloned(),
            media_leg_id: quality.media_leg_id.as_ref().cloned(),
            quality_json: serde_json::to_string(&quality).expect("wire types always serialize"),
        };
        request.state.store.add_device_quality_report(report).await?;
        Ok(GraphResponse::empty(StatusCode::OK))
    }
}
