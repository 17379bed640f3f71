//! Gate 5, credentials: the request is signed, by a key the snapshot knows, active, with its
//! session token present and unexpired, and the signature is right. Each failure is refused
//! with the code AWS uses on the call's protocol.

use crate::api_key::{authenticate_bearer, KeyError};
use crate::credentials::{authenticate, CredentialError};
use crate::decide::{Call, GateCheck, Protocol, Refusal, Snapshot, Who, Work};
use crate::{Deny, ErrorCode, Gate};
use bg_sigv4::SigError;

pub struct Credentials;

impl GateCheck for Credentials {
    fn name(&self) -> &'static str {
        "credentials"
    }

    fn applies(&self, _: &Call, _: &Snapshot) -> Result<(), &'static str> {
        Ok(())
    }

    fn check(&self, w: &mut Work) -> Result<(), Refusal> {
        let proto = w.call.protocol;
        match &w.call.who {
            Who::Authenticated(_) => {
                w.note(|| "admitted earlier in this request".into());
                Ok(())
            }
            Who::Unsigned(e) => Err(signature_refusal(e, proto).into()),
            Who::Bearer(token) => {
                let caller = authenticate_bearer(w.snap.state, token, w.call.region, w.call.now)
                    .map_err(bearer_refusal)?;
                w.note(|| {
                    let kind = caller.bearer.map_or("", |k| k.as_str());
                    format!("{kind} API key of {}", caller.arn)
                });
                w.plan.caller = Some(caller);
                Ok(())
            }
            Who::Presented(p) => {
                let (key, caller) =
                    authenticate(w.snap.state, p.access_key, p.session_token, w.call.now)
                        .map_err(|e| credential_refusal(e, proto))?;
                (p.signature)(&key.secret_access_key).map_err(|e| signature_refusal(&e, proto))?;
                w.note(|| format!("access key {} of {}", p.access_key, caller.arn));
                w.plan.caller = Some(caller);
                Ok(())
            }
        }
    }
}

fn credential_refusal(e: CredentialError, proto: Proto) -> Deny {
    let code = match (e, proto) {
        (CredentialError::InvalidToken, Protocol::Json) => ErrorCode::UnrecognizedClientException,
        (CredentialError::InvalidToken, Protocol::Query) => ErrorCode::InvalidClientTokenId,
        (CredentialError::ExpiredToken, Protocol::Json) => ErrorCode::ExpiredTokenException,
        (CredentialError::ExpiredToken, Protocol::Query) => ErrorCode::ExpiredToken,
    };
    refusal(code, 403, e.message().to_string())
}

type Proto = Protocol;

/// A Bedrock API key that does not authenticate: AWS answers 403 `AccessDeniedException` with
/// one of two sentences on either kind of key (the variant says why, for the diagnosis only).
pub fn bearer_refusal(e: KeyError) -> Deny {
    Deny {
        gate: Gate::Credentials,
        error: ErrorCode::AccessDeniedException,
        status: 403,
        message: e.message().to_string(),
        reason: format!("request refused at the credentials gate: {}", e.reason()),
        fix: e.fix().to_string(),
    }
}

/// The error code and status AWS uses for each signature failure. Where AWS's choice for Bedrock
/// is not documented (bedrock-facts.md §1.5 marks it unverified), we use the code other Coral
/// services send for the same sentence.
pub fn signature_refusal(e: &SigError, proto: Protocol) -> Deny {
    use ErrorCode as C;
    let msg = e.to_string();
    match (e, proto) {
        (SigError::Missing, Protocol::Json) => refusal(
            C::MissingAuthenticationTokenException,
            403,
            "Missing Authentication Token".into(),
        ),
        (SigError::Missing, Protocol::Query) => refusal(
            C::MissingAuthenticationToken,
            403,
            "Request is missing Authentication Token".into(),
        ),
        (SigError::Incomplete(_), Protocol::Json) => {
            refusal(C::IncompleteSignatureException, 400, msg)
        }
        (SigError::Incomplete(_), Protocol::Query) => refusal(C::IncompleteSignature, 400, msg),
        (SigError::PresignExpired, Protocol::Query) => refusal(C::RequestExpired, 400, msg),
        (_, Protocol::Json) => refusal(C::InvalidSignatureException, 403, msg),
        (_, Protocol::Query) => refusal(C::SignatureDoesNotMatch, 403, msg),
    }
}

/// A credentials refusal with its diagnosis.
fn refusal(code: ErrorCode, status: u16, message: String) -> Deny {
    use ErrorCode as C;
    let fix = match code {
        C::UnrecognizedClientException | C::InvalidClientTokenId => {
            "use an access key this endpoint knows (default: test/test) or create one in a scenario"
        }
        C::ExpiredTokenException | C::ExpiredToken => "refresh the session credentials",
        _ if message.starts_with("Signature expired")
            || message.starts_with("Signature not yet current") =>
        {
            "sync the client's clock (signatures are valid for 5 minutes either side)"
        }
        _ => "check the secret key and that the request is signed for service 'bedrock' in a Bedrock Region",
    };
    Deny {
        gate: Gate::Credentials,
        error: code,
        status,
        reason: format!("request refused at the credentials gate: {code}"),
        fix: fix.into(),
        message,
    }
}
