//! AWS-shaped errors for both wire protocols.
//!
//! restJson1 (bedrock, bedrock-runtime): status, `x-amzn-ErrorType: Code:namespace/`, JSON body
//! `{"message": …}`. awsQuery (sts, iam): XML `<ErrorResponse><Error><Type/><Code/><Message/></Error>
//! <RequestId/></ErrorResponse>`.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode};

/// Namespace AWS puts after the code in `x-amzn-ErrorType` for Bedrock's own errors (seen on the
/// wire, bedrock-facts.md §1.5).
pub const BEDROCK_NS: &str = "http://internal.amazon.com/coral/com.amazon.bedrock/";
/// Namespace for errors raised by the front door before the service (signature, credentials). The
/// exact value is not documented for Bedrock; this is the one other Coral services send.
pub const CORAL_NS: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// The service itself (Bedrock's errors).
    Service,
    /// Before the service: signature and credentials.
    Front,
    /// Bedrock's API-key check.
    ApiKey,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
    /// Which part of AWS answers: it decides the namespace and the body's spelling.
    pub door: Door,
    /// The gate, reason and fix behind the refusal, for the audit log (never sent).
    pub diagnosis: Option<Box<bg_gates::Deny>>,
    /// `ModelErrorException`'s `originalStatusCode`: the status an upstream model answered with.
    pub original_status: Option<u16>,
}

impl ApiError {
    pub fn new(code: &'static str, status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            status,
            message: message.into(),
            door: Door::Service,
            diagnosis: None,
            original_status: None,
        }
    }

    /// A refusal the gates decided: AWS's code, status and message from the diagnosis, which
    /// stays attached for the audit log.
    pub fn refused(d: bg_gates::Deny) -> ApiError {
        let mut e = ApiError::new(d.error.as_str(), d.status, d.message.clone());
        // The credentials gate is AWS's front door, which answers before the service; an API key
        // it refuses is answered by Bedrock's own key check (AccessDeniedException there).
        if d.gate == bg_gates::Gate::Credentials {
            e.door = if d.error == bg_gates::ErrorCode::AccessDeniedException {
                Door::ApiKey
            } else {
                Door::Front
            };
        }
        e.diagnosed(d)
    }

    /// A decision's refusal: a gate's, with its diagnosis, or a request invalid for its model.
    pub fn from_refusal(r: bg_gates::Refusal) -> ApiError {
        match r {
            bg_gates::Refusal::Denied(d) => ApiError::refused(d),
            bg_gates::Refusal::Invalid(e) => ApiError::new(e.code.as_str(), e.status, e.message),
        }
    }

    /// The same error, with what we know beyond AWS's message for the audit log.
    pub fn diagnosed(self, d: bg_gates::Deny) -> ApiError {
        ApiError {
            diagnosis: Some(Box::new(d)),
            ..self
        }
    }

    pub fn front_door(code: &'static str, status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            door: Door::Front,
            ..ApiError::new(code, status, message)
        }
    }

    /// `x-amzn-ErrorType`: the code and the namespace of the part of AWS that answered.
    pub fn error_type(&self) -> String {
        let ns = if self.door == Door::Front {
            CORAL_NS
        } else {
            BEDROCK_NS
        };
        format!("{}:{ns}", self.code)
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new("ValidationException", 400, message)
    }

    /// Coral's wording for a member that must be present.
    pub fn missing_member(path: &str) -> ApiError {
        let mut v = Violations::default();
        v.null(path);
        v.into_error().expect("one violation")
    }

    /// A member of the wrong JSON type. SDKs never send one (they validate types) and AWS's
    /// text is undocumented, so this is Coral's constraint sentence with the expected type
    /// (`a structure`, `a list`, `a string`, `an integer`, `a number`, `a boolean`).
    pub fn wrong_type(path: &str, what: &str) -> ApiError {
        let mut v = Violations::default();
        v.wrong_type(path, what);
        v.into_error().expect("one violation")
    }
}

/// Coral's request validation: every violated constraint of a request is reported at once,
/// `1 validation error detected: A` or `2 validation errors detected: A; B`, where each part is
/// `Value … at 'path' failed to satisfy constraint: …`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations(Vec<String>);

impl Violations {
    /// `Value 'v' at 'member' failed to satisfy constraint: …`; `value` None for members AWS
    /// never echoes (blobs, sensitive strings, values of the wrong type).
    pub fn constraint(
        &mut self,
        value: Option<&str>,
        member: impl std::fmt::Display,
        constraint: &str,
    ) {
        let v = match value {
            Some(v) => format!("Value '{v}' at '{member}'"),
            None => format!("Value at '{member}'"),
        };
        self.0
            .push(format!("{v} failed to satisfy constraint: {constraint}"));
    }

    /// A required member that is absent (or JSON `null`).
    pub fn null(&mut self, member: impl std::fmt::Display) {
        self.0.push(format!(
            "Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// A member of the wrong JSON type (see [`ApiError::wrong_type`]).
    pub fn wrong_type(&mut self, member: impl std::fmt::Display, what: &str) {
        self.constraint(None, member, &format!("Member must be {what}"));
    }

    /// A value outside an enum: `Member must satisfy enum value set: [a, b]`.
    pub fn not_in_set(&mut self, value: &str, member: impl std::fmt::Display, set: &[&str]) {
        self.constraint(
            Some(value),
            member,
            &format!("Member must satisfy enum value set: [{}]", set.join(", ")),
        );
    }

    /// Length bounds in characters (strings) or bytes (blobs).
    pub fn length(
        &mut self,
        value: Option<&str>,
        member: impl std::fmt::Display,
        len: usize,
        min: usize,
        max: usize,
    ) {
        if len < min {
            self.constraint(
                value,
                &member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if len > max {
            self.constraint(
                value,
                &member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    pub fn pattern(&mut self, value: Option<&str>, member: impl std::fmt::Display, pattern: &str) {
        self.constraint(
            value,
            member,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ValidationException for what was collected, `None` when nothing was.
    pub fn into_error(self) -> Option<ApiError> {
        match self.0.len() {
            0 => None,
            1 => Some(ApiError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Some(ApiError::validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        self.into_error().map_or(Ok(()), Err)
    }
}

pub fn json_error(err: &ApiError, request_id: &str) -> Response<Body> {
    let body = match err.door {
        // Bedrock's API-key refusals spell the member `Message` (seen on the wire,
        // bedrock-api-keys-and-more.md §1.8); every other restJson1 error `message`.
        Door::ApiKey => serde_json::json!({ "Message": err.message }),
        _ => match err.original_status {
            Some(status) => {
                serde_json::json!({ "message": err.message, "originalStatusCode": status })
            }
            None => serde_json::json!({ "message": err.message }),
        },
    }
    .to_string();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&err.error_type()) {
        h.insert("x-amzn-errortype", v);
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

pub fn query_error(err: &ApiError, request_id: &str, xmlns: &str) -> Response<Body> {
    let kind = if err.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    let body = format!(
        "<ErrorResponse xmlns=\"{xmlns}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        err.code,
        xml_escape(&err.message),
        request_id
    );
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}
