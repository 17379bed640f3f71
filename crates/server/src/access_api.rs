//! The bedrock control plane for model access (gates 1 and 4), inference profiles and
//! invocation logging.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::runtime::{Op, Refusal};
use crate::{App, Incoming};
use axum::body::Body;
use axum::http::Response;

pub fn handle(
    _app: &App,
    _caller: &Caller,
    op: Op,
    _label: &str,
    _inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    Err(ApiError::validation(format!("bedrock-gates does not serve {} yet.", op.name())).into())
}
