//! The page frame (header with the Region selector, navigation, sign-out), the sign-in page and
//! the embedded static files.

use super::{html, session, Cx, Req};
use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};
use maud::{html, Markup, DOCTYPE};

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

/// `/console/static/NAME`: the style sheet and the script, from the binary.
pub fn static_file(name: &str) -> Response<Body> {
    let (body, ct) = match name {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return super::plain(StatusCode::NOT_FOUND, "Not found."),
    };
    let mut r = Response::new(Body::from(body));
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static(ct));
    r.headers_mut().insert(
        "cache-control",
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

fn head(title: &str) -> Markup {
    html! {
        (DOCTYPE)
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " | Amazon Bedrock | bedrock-gates console" }
            link rel="stylesheet" href="/console/static/console.css";
            script src="/console/static/console.js" defer {}
        }
    }
}

const NAV: [(&str, &str); 6] = [
    ("/console/models", "Model access"),
    ("/console/gates", "Five gates"),
    ("/console/playground", "Playground"),
    ("/console/refusals", "Refusals"),
    ("/console/iam", "IAM"),
    ("/console/quotas", "Quotas"),
];

/// Every signed-in page: the header (who, Region selector, switch role, sign-out) and the body.
pub fn frame(cx: &Cx, title: &str, body: Markup) -> Response<Body> {
    let app = cx.app;
    let regions: Vec<&str> = app
        .catalog
        .regions
        .iter()
        .map(|r| r.id.as_str())
        .filter(|r| app.catalog.models_in_region(r).next().is_some())
        .collect();
    let page = html! {
        html lang="en" {
            (head(title))
            body data-csrf=(cx.session.csrf) data-region=(cx.region) {
                header.top {
                    span.brand { "Amazon Bedrock" }
                    nav {
                        @for (href, name) in NAV {
                            a href={(href) "?region=" (cx.region)}
                              class=[(cx.req.path.starts_with(href)).then_some("current")] { (name) }
                        }
                    }
                    div.right {
                        span #principal title="Signed in as" { (cx.session.arn) }
                        form #region-form method="get" action=(cx.req.path) {
                            label for="region" { "Region" }
                            select #region name="region" {
                                @for r in &regions {
                                    option value=(r) selected[*r == cx.region] { (r) }
                                }
                            }
                            @if let Some(m) = cx.req.q("model") { input type="hidden" name="model" value=(m); }
                            button #region-go type="submit" { "Go" }
                        }
                        details.switch {
                            summary { "Switch role" }
                            form method="post" action="/console/switch-role" {
                                input type="hidden" name="csrf" value=(cx.session.csrf);
                                input type="hidden" name="region" value=(cx.region);
                                label { "Role ARN" input name="role_arn" required; }
                                label { "Session name" input name="session_name" value="console"; }
                                button type="submit" { "Switch role" }
                            }
                        }
                        form method="post" action="/console/signout" {
                            input type="hidden" name="csrf" value=(cx.session.csrf);
                            button #signout type="submit" { "Sign out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    html(StatusCode::OK, page)
}

pub fn message_page(cx: &Cx, title: &str, message: &str) -> Response<Body> {
    frame(cx, title, html! { p.error role="alert" { (message) } })
}

pub fn not_found(cx: &Cx) -> Response<Body> {
    let mut r = frame(
        cx,
        "Not found",
        html! { p { "This console page does not exist." } },
    );
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// The sign-in page: console password (IAM user or root) or access key. `error` is shown
/// above the forms. Sets the pre-session cookie its forms' CSRF token must match.
pub fn signin_page(req: &Req, error: Option<String>) -> Response<Body> {
    let token = session::random_token();
    let region = req
        .q("region")
        .or(req.f("region"))
        .unwrap_or(super::DEFAULT_REGION);
    let page = html! {
        html lang="en" {
            (head("Sign in"))
            body.signin {
                main {
                    h1 { "Sign in to the bedrock-gates console" }
                    @if let Some(e) = &error { p #signin-error .error role="alert" { (e) } }
                    div.cards {
                        form #password-form .card method="post" action="/console/signin" {
                            h2 { "IAM user or root user" }
                            input type="hidden" name="csrf" value=(token);
                            input type="hidden" name="mode" value="password";
                            input type="hidden" name="region" value=(region);
                            label { "Account ID or alias" input #account name="account" required value=(req.f("account").unwrap_or("")); }
                            label { "IAM user name (empty or root: the root user)" input #username name="username" autocomplete="username" value=(req.f("username").unwrap_or("")); }
                            label { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
                            button #signin-password type="submit" { "Sign in" }
                        }
                        form #key-form .card method="post" action="/console/signin" {
                            h2 { "Access key" }
                            input type="hidden" name="csrf" value=(token);
                            input type="hidden" name="mode" value="key";
                            input type="hidden" name="region" value=(region);
                            label { "Access key ID" input #access_key_id name="access_key_id" required; }
                            label { "Secret access key" input #secret_access_key type="password" name="secret_access_key" required; }
                            label { "Session token (optional)" input name="session_token"; }
                            button #signin-key type="submit" { "Sign in" }
                        }
                    }
                }
            }
        }
    };
    let mut r = html(
        if error.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        },
        page,
    );
    let cookie = session::set_cookie(&format!("pre-{token}"), req.origin.secure, 3600);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert("set-cookie", v);
    }
    r
}

/// The password change page (AWS's console shows it right after a sign-in whose login profile
/// requires a new password): current password, new password twice. `error` is shown above the
/// form. No navigation: until the change succeeds the session reaches nothing else.
pub fn change_password_page(cx: &Cx, error: Option<String>) -> Response<Body> {
    let page = html! {
        html lang="en" {
            (head("Change password"))
            body.signin data-csrf=(cx.session.csrf) {
                main {
                    h1 { "Change your password" }
                    p #change-who { "Signed in as " (cx.session.arn) }
                    @if cx.session.password_reset {
                        p #change-required { "Your administrator requires you to set a new password before you continue." }
                    }
                    @if let Some(e) = &error { p #change-error .error role="alert" { (e) } }
                    div.cards {
                        form #change-form .card method="post" action="/console/change-password" {
                            input type="hidden" name="csrf" value=(cx.session.csrf);
                            input type="hidden" name="region" value=(cx.region);
                            label { "Old password" input #old_password type="password" name="old_password" autocomplete="current-password" required; }
                            label { "New password" input #new_password type="password" name="new_password" autocomplete="new-password" required; }
                            label { "Retype new password" input #confirm_password type="password" name="confirm_password" autocomplete="new-password" required; }
                            button #change-submit type="submit" { "Confirm password change" }
                        }
                    }
                    form method="post" action="/console/signout" {
                        input type="hidden" name="csrf" value=(cx.session.csrf);
                        button #signout type="submit" { "Sign out" }
                    }
                }
            }
        }
    };
    html(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        page,
    )
}
