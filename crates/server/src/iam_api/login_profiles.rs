//! IAM login profiles: an IAM user's console password (`CreateLoginProfile`,
//! `GetLoginProfile`, `UpdateLoginProfile`, `DeleteLoginProfile`, and the user's own
//! `ChangePassword`), checked by the console's sign-in.
//!
//! The password is kept only as a salted PBKDF2-HMAC-SHA256 hash ([`hash_password`]); it is
//! never stored, logged, echoed in an error or returned. The account password policy is IAM's
//! default (no `UpdateAccountPasswordPolicy` here): 8 to 128 characters.
//!
//! Choices where AWS's exact text is not known to us are marked `// chosen:`.

use super::awsquery::{Checks, Xml};
use super::principals::user_for;
use super::{already_exists, no_such, Ctx, OpResult};
use crate::error::ApiError;
use base64::Engine;
use bg_gates::{Change, Entity, LoginProfile, Principal};

/// PBKDF2 rounds. OWASP's 2023 advice for PBKDF2-HMAC-SHA256 is 600 000, which costs 2.6 s per
/// hash in a debug build (measured): too slow for a test server that hashes each scenario
/// password at start. These are local test passwords; 100 000 rounds (0.45 s debug, ~30 ms
/// release). The count is stored in each hash, so raising it later keeps old hashes valid.
const ROUNDS: u32 = 100_000;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
const SCHEME: &str = "pbkdf2-sha256";
/// IAM's default password policy: at least 8 characters (the service model allows 1..128).
const MIN_LEN: usize = 8;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD_NO_PAD
}

/// A new salted hash of `password` (`pbkdf2-sha256$rounds$salt$hash`).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    if getrandom::getrandom(&mut salt).is_err() {
        // No OS randomness: a salt from a fresh UUID (v4 is random too, from another source).
        salt.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    hash_with(password, &salt, ROUNDS)
}

fn hash_with(password: &str, salt: &[u8], rounds: u32) -> String {
    let mut out = [0u8; HASH_LEN];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, rounds, &mut out);
    format!(
        "{SCHEME}${rounds}${}${}",
        b64().encode(salt),
        b64().encode(out)
    )
}

/// Does `password` match `stored` (a [`hash_password`] string)? Compared in constant time; a
/// malformed stored hash matches nothing.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(rounds), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(rounds), Ok(salt)) = (rounds.parse::<u32>(), b64().decode(salt)) else {
        return false;
    };
    if rounds == 0 || rounds > 10_000_000 {
        return false;
    }
    let again = hash_with(password, &salt, rounds);
    let want = again.rsplit('$').next().unwrap_or("");
    subtle::ConstantTimeEq::ct_eq(want.as_bytes(), hash.as_bytes()).into()
}

/// The service model's `passwordType` (1..128 characters of `[\t\n\r\x20-\xFF]`), then IAM's
/// default password policy. The password never appears in the message.
fn check_password(password: &str) -> Result<(), ApiError> {
    let mut checks = Checks::new();
    let n = password.chars().count();
    if n == 0 || n > 128 {
        // The value is sensitive: the message names the member only.
        checks.fail("***", "password", "have length between 1 and 128");
    }
    if !password
        .chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
    {
        checks.fail(
            "***",
            "password",
            r"satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+",
        );
    }
    checks.done()?;
    if n < MIN_LEN {
        // chosen: IAM's sentence for a password shorter than the policy's minimum.
        return Err(ApiError::new(
            "PasswordPolicyViolation",
            400,
            format!("Password should have a minimum length of {MIN_LEN}"),
        ));
    }
    Ok(())
}

fn no_profile(user: &str) -> ApiError {
    no_such(format!("Login Profile for User {user} cannot be found."))
}

fn profile_xml(l: &LoginProfile) -> String {
    let mut x = Xml::new();
    x.open("LoginProfile")
        .leaf("UserName", &l.user_name)
        .leaf("CreateDate", super::awsquery::iso8601(l.created_unix))
        .leaf("PasswordResetRequired", l.password_reset_required)
        .close("LoginProfile");
    x.finish()
}

/// The profile of `u`, if any.
fn profile_of<'s>(cx: &'s Ctx, u: &Principal) -> Option<&'s LoginProfile> {
    cx.state.login_profiles.get(&u.arn)
}

pub(crate) fn create(cx: &Ctx) -> OpResult {
    let u = user_for(cx, "iam:CreateLoginProfile")?;
    let Some(password) = cx.p.get("Password") else {
        // chosen: a profile without a password is a passwordless (SAML/IdC) one on AWS; this
        // console signs in with passwords only.
        return Err(super::invalid_input(
            "A password is required to create a login profile.",
        ));
    };
    check_password(password)?;
    if profile_of(cx, &u).is_some() {
        // chosen: AWS's wording for a second login profile.
        return Err(already_exists(format!(
            "Login Profile for user {} already exists.",
            u.name()
        )));
    }
    let l = LoginProfile {
        principal_arn: u.arn.clone(),
        account: u.account.to_string(),
        user_name: u.name().to_string(),
        password_hash: hash_password(password),
        password_reset_required: cx.p.bool("PasswordResetRequired"),
        created_unix: cx.now,
    };
    cx.write(vec![Change::Put(Entity::LoginProfile(l.clone()))])?;
    Ok(Some(profile_xml(&l)))
}

pub(crate) fn get(cx: &Ctx) -> OpResult {
    let u = user_for(cx, "iam:GetLoginProfile")?;
    let l = profile_of(cx, &u).ok_or_else(|| no_profile(u.name()))?;
    Ok(Some(profile_xml(l)))
}

pub(crate) fn update(cx: &Ctx) -> OpResult {
    // UserName is required here (service model), unlike the other three.
    cx.p.required("UserName")?;
    let u = user_for(cx, "iam:UpdateLoginProfile")?;
    let password = cx.p.get("Password");
    if let Some(pw) = password {
        check_password(pw)?;
    }
    let mut l = profile_of(cx, &u)
        .ok_or_else(|| no_profile(u.name()))?
        .clone();
    if let Some(pw) = password {
        l.password_hash = hash_password(pw);
    }
    if cx.p.get("PasswordResetRequired").is_some() {
        l.password_reset_required = cx.p.bool("PasswordResetRequired");
    }
    cx.write(vec![Change::Put(Entity::LoginProfile(l))])?;
    Ok(None)
}

/// `ChangePassword`: the calling IAM user changes their own password (the old one must match),
/// which also clears `PasswordResetRequired`. The console's forced change after a sign-in with
/// a reset-required profile is this call, made as the user.
pub(crate) fn change(cx: &Ctx) -> OpResult {
    let old = cx.p.required("OldPassword")?;
    let new = cx.p.required("NewPassword")?;
    if cx.caller.identity.kind != bg_gates::CallerKind::User {
        // chosen: AWS documents that the root user's password is not changed by this call and
        // that it is for IAM users; the exact sentence for another caller is not known to us.
        return Err(invalid_user_type(
            "Only an IAM user can change their own password with ChangePassword.",
        ));
    }
    let u = cx.implicit_user()?.clone();
    cx.authorize_entity("iam:ChangePassword", &u.arn, |_| {})?;
    let mut l = profile_of(cx, &u)
        .ok_or_else(|| no_profile(u.name()))?
        .clone();
    if !verify_password(old, &l.password_hash) {
        // chosen: InvalidUserType is what the service model offers for a caller whose password
        // cannot be changed; AWS's sentence for a wrong old password is not known to us.
        return Err(invalid_user_type("The old password is incorrect."));
    }
    check_password(new)?;
    l.password_hash = hash_password(new);
    l.password_reset_required = false;
    cx.write(vec![Change::Put(Entity::LoginProfile(l))])?;
    Ok(None)
}

fn invalid_user_type(message: &str) -> ApiError {
    ApiError::new("InvalidUserType", 400, message)
}

pub(crate) fn delete(cx: &Ctx) -> OpResult {
    let u = user_for(cx, "iam:DeleteLoginProfile")?;
    let l = profile_of(cx, &u).ok_or_else(|| no_profile(u.name()))?;
    cx.write(vec![Change::Delete {
        kind: "login-profile",
        id: l.principal_arn.clone(),
    }])?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trip_and_salted() {
        let a = hash_with("correct horse", b"0123456789abcdef", 1000);
        assert!(a.starts_with("pbkdf2-sha256$1000$"));
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("correct horsf", &a));
        let b = hash_with("correct horse", b"fedcba9876543210", 1000);
        assert_ne!(a, b, "a different salt gives a different hash");
        assert!(!a.contains("correct"));
    }

    #[test]
    fn malformed_hash_matches_nothing() {
        for bad in [
            "",
            "pbkdf2-sha256$x$a$b",
            "md5$1$a$b",
            "pbkdf2-sha256$0$AAAA$AAAA",
        ] {
            assert!(!verify_password("", bad), "{bad}");
        }
    }

    #[test]
    fn password_rules() {
        let short = check_password("short").unwrap_err();
        assert_eq!(short.code, "PasswordPolicyViolation");
        assert_eq!(short.status, 400);
        assert_eq!(short.message, "Password should have a minimum length of 8");
        let long = check_password(&"x".repeat(129)).unwrap_err();
        assert_eq!(long.code, "ValidationError");
        assert!(!long.message.contains("xxxx"), "{}", long.message);
        let bad = check_password("pässwörd\u{0100}").unwrap_err();
        assert_eq!(bad.code, "ValidationError");
        assert!(check_password("long enough").is_ok());
    }
}

/// The four operations through the whole front door: requests signed by root's key and answered
/// as an SDK's would be (the console's signed dispatch, `console::call`).
#[cfg(test)]
mod api_tests {
    use crate::console::call::{self, Answer, ApiRequest, Origin};
    use crate::console::session::Credentials;

    async fn iam(app: &std::sync::Arc<crate::App>, params: &[(&str, &str)]) -> (u16, String) {
        let root = Credentials {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            session_token: None,
        };
        let origin = Origin {
            host: "127.0.0.1:4950".into(),
            peer: None,
            secure: false,
        };
        let mut p = vec![("Version", "2010-05-08")];
        p.extend_from_slice(params);
        let req = ApiRequest::query("iam", "us-east-1", &p);
        let a = Answer::read(call::call(app, &origin, &root, req).await).await;
        (a.status, String::from_utf8_lossy(&a.body).into_owned())
    }

    fn error(body: &str) -> (String, String) {
        (
            call::xml_tag(body, "Code").unwrap_or_default(),
            call::xml_tag(body, "Message").unwrap_or_default(),
        )
    }

    #[tokio::test]
    async fn create_get_update_delete_and_their_errors() {
        let store = bg_store::SqliteStore::open(":memory:").unwrap();
        let app = crate::App::new(Box::new(store), None).unwrap();
        let pw = "first-password";
        let (s, _) = iam(&app, &[("Action", "CreateUser"), ("UserName", "alice")]).await;
        assert_eq!(s, 200);

        let (s, b) = iam(
            &app,
            &[("Action", "GetLoginProfile"), ("UserName", "alice")],
        )
        .await;
        assert_eq!(
            (s, error(&b)),
            (
                404,
                (
                    "NoSuchEntity".into(),
                    "Login Profile for User alice cannot be found.".into()
                )
            )
        );
        let create = [
            ("Action", "CreateLoginProfile"),
            ("UserName", "alice"),
            ("Password", pw),
        ];
        let (s, b) = iam(&app, &create).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(call::xml_tag(&b, "UserName").as_deref(), Some("alice"));
        assert!(!b.contains(pw), "the password is never returned");
        let stored = &app
            .snapshot()
            .login_profiles
            .values()
            .next()
            .unwrap()
            .clone();
        assert!(!stored.password_hash.contains(pw));
        assert!(super::verify_password(pw, &stored.password_hash));

        let (s, b) = iam(&app, &create).await;
        assert_eq!(
            (s, error(&b)),
            (
                409,
                (
                    "EntityAlreadyExists".into(),
                    "Login Profile for user alice already exists.".into()
                )
            )
        );
        let (s, b) = iam(
            &app,
            &[
                ("Action", "UpdateLoginProfile"),
                ("UserName", "alice"),
                ("Password", "short"),
            ],
        )
        .await;
        assert_eq!(
            (s, error(&b)),
            (
                400,
                (
                    "PasswordPolicyViolation".into(),
                    "Password should have a minimum length of 8".into()
                )
            )
        );
        let (s, _) = iam(
            &app,
            &[
                ("Action", "UpdateLoginProfile"),
                ("UserName", "alice"),
                ("Password", "second-password"),
                ("PasswordResetRequired", "true"),
            ],
        )
        .await;
        assert_eq!(s, 200);
        let (_, b) = iam(
            &app,
            &[("Action", "GetLoginProfile"), ("UserName", "alice")],
        )
        .await;
        assert_eq!(
            call::xml_tag(&b, "PasswordResetRequired").as_deref(),
            Some("true")
        );
        let l = app
            .snapshot()
            .login_profiles
            .values()
            .next()
            .unwrap()
            .clone();
        assert!(super::verify_password("second-password", &l.password_hash));

        let (s, b) = iam(&app, &[("Action", "DeleteUser"), ("UserName", "alice")]).await;
        assert_eq!(
            (s, error(&b)),
            (
                409,
                (
                    "DeleteConflict".into(),
                    "Cannot delete entity, must delete login profile first.".into()
                )
            )
        );
        let (s, _) = iam(
            &app,
            &[("Action", "DeleteLoginProfile"), ("UserName", "alice")],
        )
        .await;
        assert_eq!(s, 200);
        let (s, b) = iam(
            &app,
            &[("Action", "DeleteLoginProfile"), ("UserName", "alice")],
        )
        .await;
        assert_eq!((s, error(&b).0), (404, "NoSuchEntity".into()));
        let (s, b) = iam(
            &app,
            &[
                ("Action", "CreateLoginProfile"),
                ("UserName", "nobody"),
                ("Password", pw),
            ],
        )
        .await;
        assert_eq!(
            (s, error(&b)),
            (
                404,
                (
                    "NoSuchEntity".into(),
                    "The user with name nobody cannot be found.".into()
                )
            )
        );
    }
}
