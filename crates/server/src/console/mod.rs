//! The web console at `/console`, served by `serve` on its own listeners (HTTP and HTTPS).
//!
//! It is one more client of the same app. Every action is the signed-in principal's API call,
//! signed with the session's credentials and answered by the front door an SDK reaches
//! ([`call`]): the console refuses exactly when the API would, with AWS's bytes, and the call
//! is in the audit log and CloudTrail as the principal's. Pages are server-rendered with maud
//! (compile-time templates, escaped by default); the one script and the style sheet are
//! embedded in the binary and served from `/console/static/`, under a Content-Security-Policy
//! that admits nothing inline and no other host.
//!
//! Sign-in: an IAM user's (or root's) console password (IAM login profiles), which mints
//! session credentials for that principal as AWS's console federation does, or an access key
//! ID and secret, proven by `sts:GetCallerIdentity` through the credentials gate. The session
//! ([`session`]) lives on the server; the browser holds an opaque cookie; every POST carries
//! the session's CSRF token.

pub mod call;
mod gates;
mod iam;
mod models;
mod pages;
mod playground;
mod quotas;
mod refusals;
pub mod session;
pub mod walk;

use crate::App;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Response, StatusCode};
use call::{Answer, ApiRequest, Origin};
use session::{Credentials, Session};
use std::sync::Arc;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/// The largest console form or JSON body (a chat prompt fits many times).
const MAX_FORM: usize = 256 * 1024;

/// The Region a page shows when none is chosen.
pub const DEFAULT_REGION: &str = "us-east-1";

pub fn serves(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// One console request, read.
pub struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub body: bytes::Bytes,
    pub cookie: Option<String>,
    pub csrf_header: Option<String>,
    pub origin: Origin,
}

impl Req {
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn f(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn f_all(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The Region chosen on the page (query or form), if the catalog knows it; else the default.
    pub fn region(&self, app: &App) -> String {
        self.q("region")
            .or_else(|| self.f("region"))
            .filter(|r| app.catalog.region(r).is_some())
            .unwrap_or(DEFAULT_REGION)
            .to_string()
    }
}

/// A signed-in request: the session and the app.
pub struct Cx<'a> {
    pub app: &'a Arc<App>,
    pub req: &'a Req,
    pub session: Session,
    pub region: String,
}

impl Cx<'_> {
    /// The principal's API call (see [`call`]).
    pub async fn api(&self, r: ApiRequest<'_>) -> Answer {
        Answer::read(call::call(self.app, &self.req.origin, &self.session.creds, r).await).await
    }

    /// A bedrock (control plane or runtime) restJson1 call in the page's Region.
    pub async fn bedrock(&self, method: Method, path: String, body: Option<Vec<u8>>) -> Answer {
        let ct = body.as_ref().map(|_| "application/json");
        self.api(ApiRequest {
            service: "bedrock",
            region: &self.region,
            method,
            path,
            query: String::new(),
            content_type: ct,
            body: body.unwrap_or_default(),
        })
        .await
    }

    /// An awsQuery call (`sts` or `iam`).
    pub async fn query(&self, service: &str, params: &[(&str, &str)]) -> Answer {
        self.api(ApiRequest::query(service, &self.region, params))
            .await
    }
}

pub async fn handle(
    app: Arc<App>,
    parts: axum::http::request::Parts,
    body: Body,
) -> Response<Body> {
    let body = match axum::body::to_bytes(body, MAX_FORM).await {
        Ok(b) => b,
        Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."),
    };
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let secure = parts
        .extensions
        .get::<crate::listen::Transport>()
        .is_some_and(|t| t.secure);
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let host = header("host")
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let is_form =
        header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let req = Req {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        query: crate::query::form_pairs(parts.uri.query().unwrap_or("")),
        form: if is_form {
            crate::query::form_pairs(&String::from_utf8_lossy(&body))
        } else {
            Vec::new()
        },
        body,
        cookie: session::cookie_value(header("cookie").as_deref()).map(str::to_string),
        csrf_header: header("x-csrf-token"),
        origin: Origin { host, peer, secure },
    };
    let mut resp = route(&app, &req).await;
    let h = resp.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: under it browsers send `Origin: null` with form POSTs, which the
    // Host/Origin guard (rightly) refuses.
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key("cache-control") {
        h.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    resp
}

async fn route(app: &Arc<App>, req: &Req) -> Response<Body> {
    let path = req.path.trim_end_matches('/');
    if let Some(name) = path.strip_prefix("/console/static/") {
        return pages::static_file(name);
    }
    match (&req.method, path) {
        (&Method::GET, "/console/signin") => return pages::signin_page(req, None),
        (&Method::POST, "/console/signin") => return signin(app, req).await,
        _ => {}
    }
    let now = crate::wall_unix();
    let Some(session) = req
        .cookie
        .as_deref()
        .and_then(|id| app.console.get(id, now))
    else {
        return if req.method == Method::GET && !path.starts_with("/console/api/") {
            redirect("/console/signin")
        } else {
            // A POST (or API read) without a live session: refused, never acted on.
            plain(
                StatusCode::FORBIDDEN,
                "Your console session has ended or was never started. Sign in again.",
            )
        };
    };
    if req.method == Method::POST {
        let presented = req.f("csrf").or(req.csrf_header.as_deref());
        if !session::Sessions::csrf_ok(&session, presented) {
            return plain(
                StatusCode::FORBIDDEN,
                "The request's CSRF token is missing or wrong: reload the page and try again.",
            );
        }
    }
    let must_change = session.password_reset;
    let cx = Cx {
        app,
        req,
        region: req.region(app),
        session,
    };
    match (&req.method, path) {
        (&Method::GET, "/console/change-password") => {
            return pages::change_password_page(&cx, None)
        }
        (&Method::POST, "/console/change-password") => return change_password(&cx).await,
        (&Method::POST, "/console/signout") => return signout(&cx),
        // As AWS's console: a user whose password must be reset reaches nothing else first.
        _ if must_change => return redirect("/console/change-password"),
        _ => {}
    }
    match (&req.method, path) {
        (&Method::GET, "/console") => redirect(&format!("/console/models?region={}", cx.region)),
        (&Method::POST, "/console/switch-role") => switch_role(&cx).await,
        (&Method::GET, "/console/models") => models::page(&cx, None).await,
        (&Method::GET, "/console/models/request") => models::request_page(&cx),
        (&Method::POST, "/console/models/request") => models::submit(&cx).await,
        (&Method::GET, "/console/playground") => playground::page(&cx),
        (&Method::POST, "/console/api/converse-stream") => playground::stream(&cx).await,
        (&Method::GET, "/console/refusals") => refusals::page(&cx),
        (&Method::GET, "/console/gates") => walk::page(&cx).await,
        (&Method::GET, "/console/iam") => iam::page(&cx).await,
        (&Method::GET, "/console/quotas") => quotas::page(&cx),
        (&Method::GET, "/console/api/refusals") => refusals::json(&cx),
        _ => pages::not_found(&cx),
    }
}

pub fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(text.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub fn html(status: StatusCode, m: maud::Markup) -> Response<Body> {
    let mut r = Response::new(Body::from(m.into_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

pub fn redirect(to: &str) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert("location", v);
    }
    r
}

/// Sign-in: with an access key (`mode=key`) or a console password (`mode=password`).
async fn signin(app: &Arc<App>, req: &Req) -> Response<Body> {
    // Login CSRF: the form's token must equal the pre-session cookie set with the form.
    let pre = req
        .cookie
        .as_deref()
        .filter(|c| c.starts_with("pre-"))
        .map(|c| &c[4..]);
    let form_token = req.f("csrf");
    let ok = matches!((pre, form_token), (Some(a), Some(b)) if subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into());
    if !ok {
        return plain(
            StatusCode::FORBIDDEN,
            "The request's CSRF token is missing or wrong: reload the page and try again.",
        );
    }
    let region = req.region(app);
    let (creds, minted, reset) = match req.f("mode") {
        Some("password") => {
            // PBKDF2 is CPU work (tenths of a second): off the async workers.
            let (worker, account, user, password) = (
                app.clone(),
                req.f("account").unwrap_or("").trim().to_string(),
                req.f("username").unwrap_or("").trim().to_string(),
                req.f("password").unwrap_or("").to_string(),
            );
            let minted = tokio::task::spawn_blocking(move || {
                password_credentials(&worker, &account, &user, &password)
            })
            .await
            .unwrap_or_else(|_| Err(BAD_PASSWORD.to_string()));
            match minted {
                Ok((c, k, reset)) => (c, Some(k), reset),
                Err(msg) => return pages::signin_page(req, Some(msg)),
            }
        }
        _ => {
            let id = req.f("access_key_id").unwrap_or("").trim();
            let secret = req.f("secret_access_key").unwrap_or("");
            let token = req
                .f("session_token")
                .map(str::trim)
                .filter(|t| !t.is_empty());
            (
                Credentials {
                    access_key_id: id.to_string(),
                    secret_access_key: secret.to_string(),
                    session_token: token.map(str::to_string),
                },
                None,
                false,
            )
        }
    };
    // Who are these credentials? The credentials gate answers, as for any SDK call.
    let a = Answer::read(
        call::call(
            app,
            &req.origin,
            &creds,
            ApiRequest::query(
                "sts",
                &region,
                &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
            ),
        )
        .await,
    )
    .await;
    if let Some((code, msg)) = a.error() {
        if let Some(k) = minted {
            delete_key(app, &k);
        }
        return pages::signin_page(req, Some(call::sdk_text(&code, "GetCallerIdentity", &msg)));
    }
    let xml = String::from_utf8_lossy(&a.body);
    let arn = call::xml_tag(&xml, "Arn").unwrap_or_default();
    let account = call::xml_tag(&xml, "Account").unwrap_or_default();
    let now = crate::wall_unix();
    let (s, stale) = app
        .console
        .create(creds, arn, account, minted.into_iter().collect(), now);
    for k in &stale {
        delete_key(app, k);
    }
    let mut r = if reset {
        app.console.set_password_reset(&s.id, true);
        redirect("/console/change-password")
    } else {
        redirect(&format!("/console/models?region={region}"))
    };
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        &s.id,
        req.origin.secure,
        session::SESSION_SECS,
    )) {
        r.headers_mut().insert("set-cookie", v);
    }
    r
}

/// The same answer for an unknown account, user or password: the page must not tell which.
const BAD_PASSWORD: &str = "Your authentication information is incorrect. Please try again.";

/// A console password sign-in: check the login profile, then mint session credentials for the
/// principal (what AWS's console does for a signed-in IAM user), until the session ends.
fn password_credentials(
    app: &Arc<App>,
    account_in: &str,
    user: &str,
    password: &str,
) -> Result<(Credentials, String, bool), String> {
    let state = app.snapshot_arc();
    // The account by ID or alias, as the AWS sign-in page takes either.
    let account = state
        .accounts
        .values()
        .find(|a| a.id == account_in || a.alias.as_deref() == Some(account_in))
        .map(|a| a.id.clone())
        .ok_or_else(|| BAD_PASSWORD.to_string())?;
    let arn = if user.is_empty() || user == "root" {
        bg_gates::Principal::root(&account).arn
    } else {
        state
            .user_named(&account, user)
            .map(|p| p.arn.clone())
            .ok_or_else(|| BAD_PASSWORD.to_string())?
    };
    let profile = state.login_profiles.get(&arn);
    // Hash even when there is no profile, so timing does not tell which part was wrong.
    let stored = profile.map(|p| p.password_hash.as_str()).unwrap_or(
        "pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    let good = crate::iam_api::login_profiles::verify_password(password, stored);
    let Some(profile) = profile.filter(|_| good) else {
        return Err(BAD_PASSWORD.to_string());
    };
    let reset = profile.password_reset_required;
    let now = app.now_unix();
    let key = bg_gates::AccessKey {
        access_key_id: crate::iam_api::awsquery::access_key_id("ASIA"),
        secret_access_key: crate::iam_api::awsquery::secret_access_key(),
        principal_arn: arn,
        account: account.into(),
        session_token: Some(crate::iam_api::awsquery::session_token()),
        expires_unix: Some(now + session::SESSION_SECS),
        active: true,
        session: None,
        created_unix: now,
    };
    app.write(&[bg_gates::Change::Put(bg_gates::Entity::AccessKey(
        key.clone(),
    ))])
    .map_err(|_| "The sign-in could not be recorded. Try again.".to_string())?;
    Ok((
        Credentials {
            access_key_id: key.access_key_id.clone(),
            secret_access_key: key.secret_access_key,
            session_token: key.session_token,
        },
        key.access_key_id,
        reset,
    ))
}

/// The password change (forced after a sign-in with `PasswordResetRequired`, or chosen): the
/// user's own IAM `ChangePassword`, so IAM decides (`iam:ChangePassword`, e.g. through
/// `IAMUserChangePassword`) and the old password is checked by the API, not here.
async fn change_password(cx: &Cx<'_>) -> Response<Body> {
    let (old, new, again) = (
        cx.req.f("old_password").unwrap_or(""),
        cx.req.f("new_password").unwrap_or(""),
        cx.req.f("confirm_password").unwrap_or(""),
    );
    if new != again {
        // The form's own check, as AWS's page has: no call is made.
        return pages::change_password_page(cx, Some("The new passwords do not match.".into()));
    }
    // IAM is global: signed for us-east-1, as the SDKs sign it.
    let a = cx
        .api(ApiRequest::query(
            "iam",
            "us-east-1",
            &[
                ("Action", "ChangePassword"),
                ("Version", "2010-05-08"),
                ("OldPassword", old),
                ("NewPassword", new),
            ],
        ))
        .await;
    if let Some((code, msg)) = a.error() {
        return pages::change_password_page(
            cx,
            Some(call::sdk_text(&code, "ChangePassword", &msg)),
        );
    }
    cx.app.console.set_password_reset(&cx.session.id, false);
    redirect(&format!("/console/models?region={}", cx.region))
}

fn delete_key(app: &App, id: &str) {
    if let Err(e) = app.write(&[bg_gates::Change::Delete {
        kind: "access-key",
        id: id.to_string(),
    }]) {
        tracing::warn!("console: could not delete session key: {e}");
    }
}

/// Sign-out: the session is removed on the server and its minted keys deleted, so the cookie
/// (and the credentials behind it) are refused from now on.
fn signout(cx: &Cx) -> Response<Body> {
    if let Some(s) = cx.app.console.remove(&cx.session.id) {
        for k in &s.minted {
            delete_key(cx.app, k);
        }
    }
    let mut r = redirect("/console/signin");
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(cx.req.origin.secure)) {
        r.headers_mut().insert("set-cookie", v);
    }
    r
}

/// Switch role: `sts:AssumeRole` as the signed-in principal; the session then acts as the role.
async fn switch_role(cx: &Cx<'_>) -> Response<Body> {
    let role = cx.req.f("role_arn").unwrap_or("").trim().to_string();
    let name = cx
        .req
        .f("session_name")
        .unwrap_or("console")
        .trim()
        .to_string();
    let a = cx
        .query(
            "sts",
            &[
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", &role),
                ("RoleSessionName", &name),
            ],
        )
        .await;
    if let Some((code, msg)) = a.error() {
        return pages::message_page(
            cx,
            "Switch role",
            &call::sdk_text(&code, "AssumeRole", &msg),
        );
    }
    let xml = String::from_utf8_lossy(&a.body);
    let get = |t| call::xml_tag(&xml, t).unwrap_or_default();
    let creds = Credentials {
        access_key_id: get("AccessKeyId"),
        secret_access_key: get("SecretAccessKey"),
        session_token: Some(get("SessionToken")),
    };
    let arn = get("Arn");
    cx.app
        .console
        .switch(&cx.session.id, creds, arn, get("AccessKeyId"));
    redirect(&format!("/console/models?region={}", cx.region))
}
