//! Gate 5, the part after the signature: is the access key known, active, and is its session
//! token present and unexpired. (The signature itself is checked by `bg-sigv4`.)

use crate::authz::Caller;
use crate::state::{AccessKey, State};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// Unknown or inactive key, or a session token that doesn't match the key.
    InvalidToken,
    /// Session credentials past their expiry.
    ExpiredToken,
}

impl CredentialError {
    /// AWS's exact sentences. Both protocols use the same text; only the code differs.
    pub fn message(self) -> &'static str {
        match self {
            CredentialError::InvalidToken => {
                "The security token included in the request is invalid."
            }
            CredentialError::ExpiredToken => {
                "The security token included in the request is expired"
            }
        }
    }

    /// restJson1 code (bedrock, bedrock-runtime).
    pub fn json_code(self) -> &'static str {
        match self {
            CredentialError::InvalidToken => "UnrecognizedClientException",
            CredentialError::ExpiredToken => "ExpiredTokenException",
        }
    }

    /// awsQuery code (sts, iam).
    pub fn query_code(self) -> &'static str {
        match self {
            CredentialError::InvalidToken => "InvalidClientTokenId",
            CredentialError::ExpiredToken => "ExpiredToken",
        }
    }
}

/// Find the key and who it belongs to. `token` is the request's `X-Amz-Security-Token`, if any.
pub fn authenticate<'s>(
    state: &'s State,
    access_key: &str,
    token: Option<&str>,
    now_unix: i64,
) -> Result<(&'s AccessKey, Caller), CredentialError> {
    let key = state
        .keys
        .get(access_key)
        .filter(|k| k.active)
        .ok_or(CredentialError::InvalidToken)?;
    // A long-term key sent with a token, or a session key without (or with another) token, is
    // refused the way AWS refuses it: the token is "invalid".
    if key.session_token.as_deref() != token {
        return Err(CredentialError::InvalidToken);
    }
    if let Some(exp) = key.expires_unix {
        if now_unix >= exp {
            return Err(CredentialError::ExpiredToken);
        }
    }
    let principal = state
        .principals
        .get(&key.principal_arn)
        .ok_or(CredentialError::InvalidToken)?;
    Ok((key, Caller::from_key(key, principal)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Change, Entity, Principal};

    fn state() -> State {
        let s = State::default();
        let mut s = s.with_changes(&s.bootstrap_changes());
        let p = Principal::user("000000000000", "dev", "/");
        s = s.with_changes(&[
            Change::Put(Entity::Principal(p.clone())),
            Change::Put(Entity::AccessKey(AccessKey {
                access_key_id: "ASIASESSION".into(),
                secret_access_key: "s".into(),
                principal_arn: p.arn.clone(),
                account: "000000000000".into(),
                session_token: Some("tok".into()),
                expires_unix: Some(1000),
                active: true,
                session: None,
                created_unix: 0,
            })),
        ]);
        s
    }

    #[test]
    fn known_key_passes() {
        let s = state();
        let (k, c) = authenticate(&s, "test", None, 0).unwrap();
        assert_eq!(k.secret_access_key, "test");
        assert_eq!(c.arn, "arn:aws:iam::000000000000:root");
        assert_eq!(c.user_id, "000000000000");
    }

    #[test]
    fn refusals() {
        let s = state();
        assert_eq!(
            authenticate(&s, "nope", None, 0).unwrap_err(),
            CredentialError::InvalidToken
        );
        assert_eq!(
            authenticate(&s, "test", Some("x"), 0).unwrap_err(),
            CredentialError::InvalidToken
        );
        assert_eq!(
            authenticate(&s, "ASIASESSION", None, 0).unwrap_err(),
            CredentialError::InvalidToken
        );
        assert_eq!(
            authenticate(&s, "ASIASESSION", Some("tok"), 1000).unwrap_err(),
            CredentialError::ExpiredToken
        );
        assert!(authenticate(&s, "ASIASESSION", Some("tok"), 999).is_ok());
        assert_eq!(
            CredentialError::InvalidToken.message(),
            "The security token included in the request is invalid."
        );
    }
}
