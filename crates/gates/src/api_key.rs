//! Amazon Bedrock API keys: the bearer-token front door of the credentials gate.
//!
//! Two kinds (`../shared/reference/bedrock-api-keys-and-more.md` §1):
//! - **long-term**: `ABSK` + base64(`alias:secret`), an IAM service-specific credential for
//!   `bedrock.amazonaws.com`; it authenticates as its IAM user.
//! - **short-term**: `bedrock-api-key-` + base64 of a SigV4-presigned
//!   `POST https://bedrock.amazonaws.com/?Action=CallWithBearerToken` URL (scheme stripped) with
//!   `&Version=1` appended, exactly as AWS's token generator libraries make it; it
//!   authenticates as the principal that signed it, with that principal's session.
//!
//! Both are checked against the request's snapshot here, so a key deleted, deactivated or expired
//! is shut on the very next call.

use crate::authz::Caller;
use crate::credentials::{authenticate, CredentialError};
use crate::state::{ServiceCredential, State};
use base64::Engine;
use std::sync::LazyLock;

pub const LONG_TERM_PREFIX: &str = "ABSK";
pub const SHORT_TERM_PREFIX: &str = "bedrock-api-key-";
/// The host a short-term key is presigned for: always the Region-less name.
pub const SHORT_TERM_HOST: &str = "bedrock.amazonaws.com";
/// The generator libraries refuse longer; a key claiming more is not one they made.
pub const MAX_SHORT_TERM_SECS: u64 = 43_200;
/// The only service IAM issues Bedrock API keys for.
pub const SERVICE_NAME: &str = "bedrock.amazonaws.com";

/// AWS's texts (bedrock-facts: observed on the wire, 403 `AccessDeniedException`, `Message`).
pub const BAD_FORMAT: &str = "Invalid API Key format: Must start with pre-defined prefix";
pub const AUTH_FAILED: &str = "Authentication failed: Please make sure your API Key is valid.";

/// `bedrock:BearerTokenType`, as IAM conditions see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum BearerKind {
    #[serde(rename = "SHORT_TERM")]
    ShortTerm,
    #[serde(rename = "LONG_TERM")]
    LongTerm,
}

impl BearerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BearerKind::ShortTerm => "SHORT_TERM",
            BearerKind::LongTerm => "LONG_TERM",
        }
    }
}

/// Why a bearer token does not authenticate. The first is AWS's "format" refusal, every other
/// one is answered with [`AUTH_FAILED`]; the variant says why, for the audit log only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// No known prefix.
    Format,
    /// A prefix, but the rest does not decode to a key.
    Malformed,
    /// No such long-term key, or the secret is wrong.
    UnknownKey,
    Inactive,
    Expired,
    /// A short-term key whose signature does not verify (or whose signing key is unknown).
    BadSignature,
    /// A short-term key presented in another Region than its credential scope's.
    WrongRegion,
}

impl KeyError {
    pub fn message(self) -> &'static str {
        match self {
            KeyError::Format => BAD_FORMAT,
            _ => AUTH_FAILED,
        }
    }

    /// Our words, for the audit log and explain (never the key itself).
    pub fn reason(self) -> &'static str {
        match self {
            KeyError::Format => "the bearer token does not start with ABSK or bedrock-api-key-",
            KeyError::Malformed => "the API key does not decode (truncated or altered when copied)",
            KeyError::UnknownKey => "no long-term API key with this alias and secret (deleted, reset, or never created here)",
            KeyError::Inactive => "the long-term API key is Inactive",
            KeyError::Expired => "the API key has expired",
            KeyError::BadSignature => "the short-term API key's signature does not verify with a key this endpoint knows",
            KeyError::WrongRegion => "a short-term API key works only in the Region it was generated for",
        }
    }

    pub fn fix(self) -> &'static str {
        match self {
            KeyError::Format => "send a Bedrock API key (ABSK… or bedrock-api-key-…) as the bearer token, or unset AWS_BEARER_TOKEN_BEDROCK to use SigV4 credentials",
            KeyError::Inactive => "reactivate it: aws iam update-service-specific-credential --status Active",
            KeyError::Expired => "generate a new key (bedrock-gates api-key, or aws iam create-service-specific-credential)",
            KeyError::WrongRegion => "generate the key for the Region you call (bedrock-gates api-key --region R)",
            _ => "check AWS_BEARER_TOKEN_BEDROCK: copy the whole key, or create a new one",
        }
    }
}

/// A bearer token, classified by its prefix and decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum ApiKey {
    LongTerm {
        alias: String,
        secret: String,
    },
    /// The presigned query (without `Version=1`), to verify as a SigV4 presigned request.
    ShortTerm {
        query: String,
    },
}

fn b64(s: &str) -> Option<Vec<u8>> {
    let e = base64::engine::general_purpose::STANDARD;
    e.decode(s.trim_end()).ok()
}

pub fn classify(token: &str) -> Result<ApiKey, KeyError> {
    if let Some(rest) = token.strip_prefix(LONG_TERM_PREFIX) {
        let raw = b64(rest).ok_or(KeyError::Malformed)?;
        let text = String::from_utf8(raw).map_err(|_| KeyError::Malformed)?;
        let (alias, secret) = text.split_once(':').ok_or(KeyError::Malformed)?;
        if alias.is_empty() || secret.is_empty() {
            return Err(KeyError::Malformed);
        }
        return Ok(ApiKey::LongTerm {
            alias: alias.to_string(),
            secret: secret.to_string(),
        });
    }
    if let Some(rest) = token.strip_prefix(SHORT_TERM_PREFIX) {
        let raw = b64(rest).ok_or(KeyError::Malformed)?;
        let url = String::from_utf8(raw).map_err(|_| KeyError::Malformed)?;
        let url = url.strip_prefix("https://").unwrap_or(&url);
        let (host, query) = url.split_once("/?").ok_or(KeyError::Malformed)?;
        if !host.eq_ignore_ascii_case(SHORT_TERM_HOST) {
            return Err(KeyError::Malformed);
        }
        // `&Version=1` is appended after signing: not part of the signed query.
        let query = query
            .strip_suffix("&Version=1")
            .ok_or(KeyError::Malformed)?;
        return Ok(ApiKey::ShortTerm {
            query: query.to_string(),
        });
    }
    Err(KeyError::Format)
}

/// What a short-term key signed: `POST /` on the Region-less host, no body.
static SIGNED_HOST: [(&str, &str); 1] = [("host", SHORT_TERM_HOST)];

fn presigned(query: &str) -> bg_sigv4::Request<'_> {
    bg_sigv4::Request {
        method: "POST",
        path: "/",
        query,
        headers: &SIGNED_HOST,
        body: b"",
    }
}

/// The Region a short-term key was made for (its credential scope), if it is one; the face uses
/// it as the call's Region when the request names none.
pub fn short_term_region(token: &str) -> Option<String> {
    match classify(token) {
        Ok(ApiKey::ShortTerm { query }) => {
            let req = presigned(&query);
            bg_sigv4::parse(&req).ok().map(|a| a.region)
        }
        _ => None,
    }
}

/// Signing keys derived for short-term API keys, cached like serve's SigV4 verifier does.
static VERIFIER: LazyLock<bg_sigv4::Verifier> = LazyLock::new(bg_sigv4::Verifier::new);

/// Authenticate a bearer token against the snapshot: who it is (`Caller::bearer` says which
/// kind of key). `region` is the
/// call's Region; `now` the gate clock (short-term keys expire on it, as sessions do).
pub fn authenticate_bearer(
    state: &State,
    token: &str,
    region: &str,
    now: i64,
) -> Result<Caller, KeyError> {
    match classify(token)? {
        ApiKey::LongTerm { alias, secret } => {
            let cred = state
                .service_credential_aliases
                .get(&alias)
                .into_iter()
                .flatten()
                .filter_map(|id| state.service_credentials.get(id))
                .find(|c| ct_eq(c.secret.as_bytes(), secret.as_bytes()))
                .ok_or(KeyError::UnknownKey)?;
            match cred.status(now) {
                "Expired" => return Err(KeyError::Expired),
                "Inactive" => return Err(KeyError::Inactive),
                _ => {}
            }
            let caller = long_term_caller(state, cred).ok_or(KeyError::UnknownKey)?;
            Ok(caller)
        }
        ApiKey::ShortTerm { query } => {
            let req = presigned(&query);
            let auth = bg_sigv4::parse(&req).map_err(|_| KeyError::Malformed)?;
            if !auth.presigned
                || auth.service != "bedrock"
                || !matches!(auth.expires_secs, Some(e) if e <= MAX_SHORT_TERM_SECS)
                || !query.split('&').any(|p| p == "Action=CallWithBearerToken")
            {
                return Err(KeyError::Malformed);
            }
            if auth.region != region {
                return Err(KeyError::WrongRegion);
            }
            let (key, caller) =
                authenticate(state, &auth.access_key, auth.security_token.as_deref(), now)
                    .map_err(|e| match e {
                        CredentialError::ExpiredToken => KeyError::Expired,
                        CredentialError::InvalidToken => KeyError::BadSignature,
                    })?;
            let verify = |r: &bg_sigv4::Request| {
                VERIFIER.verify(r, &auth, &key.secret_access_key, "bedrock", &|_| true, now)
            };
            // botocore signs the empty body's SHA-256 over https; a signer that presigns with
            // UNSIGNED-PAYLOAD (as some SDKs' presign does) is accepted too.
            let unsigned = [
                ("host", SHORT_TERM_HOST),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ];
            let caller = Caller {
                bearer: Some(BearerKind::ShortTerm),
                ..caller
            };
            match verify(&req) {
                Ok(()) => Ok(caller),
                Err(bg_sigv4::SigError::Mismatch) => verify(&bg_sigv4::Request {
                    headers: &unsigned,
                    ..req
                })
                .map(|()| caller)
                .map_err(|_| KeyError::BadSignature),
                Err(bg_sigv4::SigError::PresignExpired) => Err(KeyError::Expired),
                Err(_) => Err(KeyError::BadSignature),
            }
        }
    }
}

/// A long-term key's caller: its IAM user, as a SigV4 key of that user would be.
fn long_term_caller(state: &State, cred: &ServiceCredential) -> Option<Caller> {
    let p = state.principals.get(&cred.user_arn)?;
    Some(Caller {
        arn: p.arn.clone(),
        account: p.account.to_string(),
        user_id: p.unique_id.clone(),
        entity_arn: p.arn.clone(),
        kind: crate::CallerKind::User,
        // CloudTrail names the key by its credential ID for API-key calls.
        access_key: cred.id.clone(),
        session: None,
        tags: p.tags().clone(),
        bearer: Some(BearerKind::LongTerm),
    })
}

/// Secrets compared in time independent of where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The long-term key string for a credential: `ABSK` + base64(`alias:secret`).
pub fn long_term_key(alias: &str, secret: &str) -> String {
    let e = base64::engine::general_purpose::STANDARD;
    format!(
        "{LONG_TERM_PREFIX}{}",
        e.encode(format!("{alias}:{secret}"))
    )
}

/// What a key says about itself without any secret: for doctor and explain.
#[derive(Debug, PartialEq, Eq)]
pub struct KeyFacts {
    pub kind: BearerKind,
    /// Long-term: the alias. Short-term: the signing access key ID.
    pub id: String,
    /// Short-term only: the Region, signing time and expiry (unix seconds).
    pub region: Option<String>,
    pub expires_unix: Option<i64>,
}

pub fn describe(token: &str) -> Result<KeyFacts, KeyError> {
    match classify(token)? {
        ApiKey::LongTerm { alias, .. } => Ok(KeyFacts {
            kind: BearerKind::LongTerm,
            id: alias,
            region: None,
            expires_unix: None,
        }),
        ApiKey::ShortTerm { query } => {
            let req = presigned(&query);
            let a = bg_sigv4::parse(&req).map_err(|_| KeyError::Malformed)?;
            let signed = time::PrimitiveDateTime::parse(
                &a.amz_date,
                time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
            )
            .map(|t| t.assume_utc().unix_timestamp())
            .ok();
            Ok(KeyFacts {
                kind: BearerKind::ShortTerm,
                id: a.access_key,
                region: Some(a.region),
                expires_unix: signed.zip(a.expires_secs).map(|(s, e)| s + e as i64),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_classify() {
        assert_eq!(classify("sk-abc"), Err(KeyError::Format));
        assert_eq!(classify(""), Err(KeyError::Format));
        assert_eq!(classify("ABSK!!!"), Err(KeyError::Malformed));
        let k = long_term_key("BedrockAPIKey-h42z-at-123456789012", "s3cret");
        assert_eq!(
            classify(&k),
            Ok(ApiKey::LongTerm {
                alias: "BedrockAPIKey-h42z-at-123456789012".into(),
                secret: "s3cret".into()
            })
        );
        let e = base64::engine::general_purpose::STANDARD;
        let short = format!(
            "{SHORT_TERM_PREFIX}{}",
            e.encode("bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Date=1&Version=1")
        );
        assert_eq!(
            classify(&short),
            Ok(ApiKey::ShortTerm {
                query: "Action=CallWithBearerToken&X-Amz-Date=1".into()
            })
        );
        let other_host = format!(
            "{SHORT_TERM_PREFIX}{}",
            e.encode("evil.example/?Action=CallWithBearerToken&Version=1")
        );
        assert_eq!(classify(&other_host), Err(KeyError::Malformed));
    }

    #[test]
    fn every_refusal_but_format_is_the_same_sentence() {
        assert_eq!(KeyError::Format.message(), BAD_FORMAT);
        for e in [
            KeyError::Malformed,
            KeyError::UnknownKey,
            KeyError::Inactive,
            KeyError::Expired,
            KeyError::BadSignature,
            KeyError::WrongRegion,
        ] {
            assert_eq!(e.message(), AUTH_FAILED);
        }
    }
}
