//! Gate 5 on the wire: the request's SigV4 (parsed by `bg-sigv4`) handed to the credentials gate
//! of `bg_gates::decide`, which looks the key up in the request's snapshot and checks the
//! signature with its secret.

use crate::error::ApiError;
use crate::{App, Incoming};
pub use bg_gates::decide::Protocol as Proto;
use bg_gates::decide::{AuthMethod, Call, Operation, Presented, Who};
use bg_gates::State;
use bg_sigv4::{ParsedAuth, SigError};
use std::sync::Arc;

/// Who called, proven, where the request was signed for, and the one state snapshot every
/// decision of this request reads.
#[derive(Clone, Debug)]
pub struct Caller {
    pub identity: bg_gates::Caller,
    pub region: String,
    pub service: String,
    pub state: Arc<State>,
}

/// Two clocks: signatures are checked against the wall clock (clients sign with real time);
/// session expiry, subscriptions, grants and quotas run on the gate clock, which tests advance.
#[derive(Clone, Copy, Debug)]
pub struct Clocks {
    pub wall: i64,
    pub gate: i64,
}

/// Parse only, to learn the scope (service and Region) before routing an awsQuery request.
pub fn parse(inc: &Incoming) -> Result<ParsedAuth, SigError> {
    inc.with_sig_request(bg_sigv4::parse)
}

/// The credentials gate for this request: `gates::decide` with the credentials as presented.
/// The admitted caller is noted for the request's CloudTrail event.
pub fn authenticate(
    app: &App,
    inc: &Incoming,
    parsed: &Result<ParsedAuth, SigError>,
    expected_service: &str,
    region_ok: &dyn Fn(&str) -> bool,
    proto: Proto,
) -> Result<Caller, ApiError> {
    let caller = authenticate_unnoted(app, inc, parsed, expected_service, region_ok, proto);
    if let Ok(c) = &caller {
        inc.trail.authenticated(c);
    }
    caller
}

/// [`authenticate`] without noting the caller: the runtime handler moves its caller into the
/// note when it is done with it ([`crate::cloudtrail::Note::authenticated_by`]), which spares
/// a copy of the caller's every string per model call.
pub(crate) fn authenticate_unnoted(
    app: &App,
    inc: &Incoming,
    parsed: &Result<ParsedAuth, SigError>,
    expected_service: &str,
    region_ok: &dyn Fn(&str) -> bool,
    proto: Proto,
) -> Result<Caller, ApiError> {
    let state = app.snapshot_arc();
    let clocks = app.clocks();
    // Bedrock API keys: only the restJson1 services (bedrock, bedrock-runtime) take them; on
    // IAM and STS `Bearer` stays an unsupported SigV4 algorithm, as AWS answers there.
    if proto == Proto::Json {
        if let Some(token) = bearer_token(inc) {
            let region = bearer_region(inc, token, region_ok);
            let call = Call {
                who: Who::Bearer(token),
                protocol: proto,
                region: &region,
                source_ip: inc.source_ip.as_deref(),
                secure_transport: inc.secure,
                op: Operation::Authenticate,
                now: clocks.gate,
            };
            let decision = bg_gates::decide(&call, &app.gate_snapshot(&state));
            return match decision.verdict {
                Ok(bg_gates::Plan {
                    caller: Some(identity),
                    ..
                }) => Ok(Caller {
                    identity,
                    region,
                    service: expected_service.to_string(),
                    state: state.clone(),
                }),
                Ok(_) => Err(no_caller()),
                Err(r) => Err(ApiError::from_refusal(r)),
            };
        }
    }
    let signature = |secret: &str| match parsed {
        Ok(a) => inc.with_sig_request(|r| {
            app.verifier
                .verify(r, a, secret, expected_service, region_ok, clocks.wall)
        }),
        Err(e) => Err(e.clone()),
    };
    let who = match parsed {
        Err(e) => Who::Unsigned(e),
        Ok(a) => Who::Presented(Presented {
            access_key: &a.access_key,
            session_token: a.security_token.as_deref(),
            method: if a.presigned {
                AuthMethod::SigV4Presigned
            } else {
                AuthMethod::SigV4Header
            },
            signature: &signature,
        }),
    };
    let region = parsed.as_ref().map(|a| a.region.as_str()).unwrap_or("");
    let call = Call {
        who,
        protocol: proto,
        region,
        source_ip: inc.source_ip.as_deref(),
        secure_transport: inc.secure,
        op: Operation::Authenticate,
        now: clocks.gate,
    };
    let decision = bg_gates::decide(&call, &app.gate_snapshot(&state));
    match (decision.verdict, parsed) {
        (Ok(plan), Ok(a)) => match plan.caller {
            Some(identity) => Ok(Caller {
                identity,
                region: a.region.clone(),
                service: a.service.clone(),
                state: state.clone(),
            }),
            None => Err(no_caller()),
        },
        (Ok(_), Err(e)) => Err(ApiError::refused(
            bg_gates::checks::credentials::signature_refusal(e, proto),
        )),
        (Err(r), _) => Err(ApiError::from_refusal(r)),
    }
}

fn no_caller() -> ApiError {
    ApiError::new(
        "InternalFailure",
        500,
        "the credentials gate admitted no caller",
    )
}

/// The token of `Authorization: Bearer <token>` (the scheme name is case-insensitive).
pub fn bearer_token(inc: &Incoming) -> Option<&str> {
    let h = inc.header("authorization")?.trim_start();
    let (scheme, rest) = h.split_at(h.find(' ').unwrap_or(h.len()));
    scheme.eq_ignore_ascii_case("Bearer").then(|| rest.trim())
}

/// The Region a bearer call is for. SigV4 names it in the credential scope; a bearer request
/// names it only in AWS's host name (`bedrock-runtime.<region>.amazonaws.com`). Locally: a
/// Region named by a label of the `Host` (`bedrock-runtime.us-west-2.localhost`), else a
/// short-term key's own Region (its credential scope), else us-east-1, the SDKs' usual default.
pub fn bearer_region(inc: &Incoming, token: &str, region_ok: &dyn Fn(&str) -> bool) -> String {
    let host = inc.header("host").unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host.split('.')
        .find(|label| region_ok(label))
        .map(str::to_string)
        .or_else(|| bg_gates::api_key::short_term_region(token).filter(|r| region_ok(r)))
        .unwrap_or_else(|| DEFAULT_BEARER_REGION.to_string())
}

/// Where a bearer call goes when nothing names a Region.
pub const DEFAULT_BEARER_REGION: &str = "us-east-1";
