//! Console sessions: who is signed in, with which credentials, and the CSRF token of each.
//!
//! A session lives only in this process (a restart signs everyone out, as a revoked console
//! session would). The browser holds an opaque random ID in a cookie (`HttpOnly`,
//! `SameSite=Strict`, `Path=/console`, `Secure` over HTTPS, `Max-Age` = what is left of the
//! session); the credentials stay on the server. Sign-out removes the session, so its cookie is
//! refused from then on, whoever presents it.

use parking_lot::Mutex;
use std::collections::HashMap;

/// How long a console session lasts: AWS's console sessions for IAM users last 12 hours.
pub const SESSION_SECS: i64 = 12 * 3600;
pub const COOKIE: &str = "bg_console";

/// The credentials the console signs the principal's calls with.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // Never print the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub csrf: String,
    pub creds: Credentials,
    /// The principal's ARN as GetCallerIdentity answered it.
    pub arn: String,
    pub account: String,
    /// Keys this session minted (password sign-in, switch role): deleted at sign-out.
    pub minted: Vec<String>,
    /// Wall-clock second after which the session is gone.
    pub expires: i64,
    /// Signed in with a password whose login profile says `PasswordResetRequired`: until the
    /// user changes it (IAM `ChangePassword`, as the user), the console shows nothing else.
    pub password_reset: bool,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes, hex: a session ID or CSRF token.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    if getrandom::getrandom(&mut b).is_err() {
        // No OS randomness: two v4 UUIDs (random too).
        b[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        b[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ct_eq(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

impl Sessions {
    /// A new session for `creds` (the caller `arn` of `account`), until `now + SESSION_SECS`;
    /// with the keys that sessions found expired meanwhile had minted (for deletion).
    pub fn create(
        &self,
        creds: Credentials,
        arn: String,
        account: String,
        minted: Vec<String>,
        now: i64,
    ) -> (Session, Vec<String>) {
        let s = Session {
            id: random_token(),
            csrf: random_token(),
            creds,
            arn,
            account,
            minted,
            expires: now + SESSION_SECS,
            password_reset: false,
        };
        let mut map = self.map.lock();
        let mut stale = Vec::new();
        map.retain(|_, v| {
            let live = v.expires > now;
            if !live {
                stale.append(&mut v.minted);
            }
            live
        });
        map.insert(s.id.clone(), s.clone());
        (s, stale)
    }

    /// The live session with this ID.
    pub fn get(&self, id: &str, now: i64) -> Option<Session> {
        let map = self.map.lock();
        map.get(id).filter(|s| s.expires > now).cloned()
    }

    /// Replace the credentials of a session (switch role), keeping its ID and CSRF token.
    pub fn switch(&self, id: &str, creds: Credentials, arn: String, minted: String) {
        if let Some(s) = self.map.lock().get_mut(id) {
            s.creds = creds;
            s.arn = arn;
            s.minted.push(minted);
        }
    }

    /// Set or clear the session's password-reset requirement.
    pub fn set_password_reset(&self, id: &str, required: bool) {
        if let Some(s) = self.map.lock().get_mut(id) {
            s.password_reset = required;
        }
    }

    /// Sign-out: the session is gone; its minted keys are returned for deletion.
    pub fn remove(&self, id: &str) -> Option<Session> {
        self.map.lock().remove(id)
    }

    /// The form's (or header's) token against the session's, in constant time.
    pub fn csrf_ok(session: &Session, presented: Option<&str>) -> bool {
        presented.is_some_and(|t| ct_eq(t, &session.csrf))
    }
}

/// The session cookie's value from a `Cookie` header.
pub fn cookie_value(header: Option<&str>) -> Option<&str> {
    header?.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE).then_some(v)
    })
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(id: &str, secure: bool, max_age: i64) -> String {
    format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the cookie (sign-out).
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", secure, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "AKIA".into(),
            secret_access_key: "very-secret".into(),
            session_token: None,
        }
    }

    #[test]
    fn session_lifecycle_and_csrf() {
        let s = Sessions::default();
        let (a, _) = s.create(creds(), "arn".into(), "0".into(), vec!["ASIA1".into()], 100);
        assert_eq!(a.id.len(), 64);
        assert_ne!(a.id, a.csrf);
        assert!(s.get(&a.id, 101).is_some());
        assert!(s.get(&a.id, 100 + SESSION_SECS).is_none(), "expired");
        assert!(Sessions::csrf_ok(&a, Some(&a.csrf)));
        assert!(!Sessions::csrf_ok(&a, None));
        assert!(!Sessions::csrf_ok(&a, Some("")));
        let (b, stale) = s.create(creds(), "arn".into(), "0".into(), vec![], 100);
        assert!(stale.is_empty());
        assert!(
            !Sessions::csrf_ok(&a, Some(&b.csrf)),
            "another session's token"
        );
        assert!(s.remove(&a.id).is_some());
        assert!(s.get(&a.id, 101).is_none(), "signed out");
        assert!(s.get(&b.id, 101).is_some(), "others stay");
        // A session left to expire hands its minted keys back when the next one is created.
        let (c, _) = s.create(creds(), "arn".into(), "0".into(), vec!["ASIA2".into()], 200);
        let (_, stale) = s.create(
            creds(),
            "arn".into(),
            "0".into(),
            vec![],
            200 + SESSION_SECS,
        );
        assert_eq!(stale, vec!["ASIA2".to_string()]);
        assert!(s.get(&c.id, 201 + SESSION_SECS).is_none());
    }

    #[test]
    fn cookies() {
        assert_eq!(cookie_value(Some("a=b; bg_console=xyz; c=d")), Some("xyz"));
        assert_eq!(cookie_value(Some("bg_consolex=1")), None);
        assert_eq!(cookie_value(None), None);
        let c = set_cookie("id", true, 60);
        assert_eq!(
            c,
            "bg_console=id; Path=/console; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert!(!clear_cookie(false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }

    #[test]
    fn debug_hides_secrets() {
        let d = format!("{:?}", creds());
        assert!(!d.contains("very-secret"), "{d}");
    }
}
