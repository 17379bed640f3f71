//! STS beyond GetCallerIdentity: AssumeRole.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::App;

pub fn assume_role(
    _app: &App,
    _caller: &Caller,
    _params: &[(String, String)],
    _request_id: &str,
) -> Result<String, ApiError> {
    Err(ApiError::new(
        "InvalidAction",
        400,
        "Could not find operation AssumeRole for version 2011-06-15",
    ))
}
