//! Graph's error body, `{"error":{"code","message","innerError":{…}}}`, built from the generated OData error types.

use crate::{
    Maybe,
    model::{InnerError, MainError, ODataError},
};

impl ODataError {
    /// An error body as Graph sends it: `innerError` carries the date (UTC, no zone suffix, as Graph writes it)
    /// and the request ids that let a person find the request in the server's log.
    pub fn new(
        code: impl Into<String>,
        message: impl Into<String>,
        request_id: &str,
        client_request_id: &str,
        date: &str,
    ) -> Self {
        ODataError {
            error: Maybe::Value(MainError {
                code: Maybe::Value(code.into()),
                message: Maybe::Value(message.into()),
                inner_error: Maybe::Value(InnerError {
                    date: Maybe::Value(date.to_owned()),
                    request_id: Maybe::Value(request_id.to_owned()),
                    client_request_id: Maybe::Value(client_request_id.to_owned()),
                    ..InnerError::default()
                }),
                ..MainError::default()
            }),
            ..ODataError::default()
        }
    }
}
