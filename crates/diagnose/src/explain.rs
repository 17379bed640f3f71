//! `explain`: an AWS error, as people paste it, mapped to the gate that refused, the cause, the
//! facts in the text, and the fix with the command that applies it. Pure and offline: it reads
//! only the text and the embedded catalog.
//!
//! Accepted renderings: the AWS CLI's `An error occurred (CODE) when calling the OP operation:
//! MESSAGE`, boto3 tracebacks, raw JSON bodies (`message` or `Message`, `__type`), HTTP dumps
//! with `x-amzn-ErrorType`, aws-sdk-rust debug prints (`code: Some("…")`), Go SDK v2
//! (`https response error StatusCode: 403, RequestID: …, AccessDeniedException: …`), the JS SDK v3
//! (`AccessDeniedException: …`, `name: 'AccessDeniedException'`, `httpStatusCode: 403`), Java and
//! Swift renderings, awsQuery XML (`<Code>…</Code>`), and the SDKs' own credential-chain and
//! Region errors.
//!
//! Classification is by AWS's message texts (bedrock-facts §1.6, the SigV4 front door's texts),
//! never by a guess: an `AccessDeniedException` whose text is not recognised stays `unknown`,
//! since it can come from IAM or from model access.

use crate::document::{Condition, PolicyDocument, Statement};
use crate::generate;
use bg_catalog::Catalog;
use bg_gates::Gate;
use serde::Serialize;
use serde_json::{json, Value};

/// What the text says, as far as it says it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_profile: Option<String>,
    /// The policy type that denied: identity, boundary, session, scp, rcp, resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
    /// Whether the deny was explicit (a Deny statement) or implicit (no Allow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explicit_deny: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For signature-time errors: how far the client's clock is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<String>,
}

/// The diagnosis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// `None`: unknown.
    pub gate: Option<Gate>,
    pub cause: String,
    pub facts: Facts,
    pub fix: String,
    pub command: Option<String>,
}

impl Explanation {
    pub fn gate_name(&self) -> &'static str {
        self.gate.map(Gate::as_str).unwrap_or("unknown")
    }

    /// `{ "gate", "cause", "facts": {...}, "fix", "command" }`.
    pub fn to_json(&self) -> Value {
        json!({
            "gate": self.gate_name(),
            "cause": self.cause,
            "facts": serde_json::to_value(&self.facts).unwrap_or(Value::Null),
            "fix": self.fix,
            "command": self.command,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Normalisation and extraction
// ---------------------------------------------------------------------------------------------

/// The text with JSON escapes undone, the curly apostrophe repaired and whitespace collapsed,
/// plus its lower-case form for matching.
struct Text {
    t: String,
    l: String,
    json: Option<Value>,
}

impl Text {
    fn new(input: &str) -> Text {
        let json = serde_json::from_str::<Value>(input.trim()).ok();
        let s = input
            .replace("\\u2019", "\u{2019}")
            .replace("â€™", "\u{2019}")
            .replace("\\\"", "\"")
            .replace("\\n", "\n")
            .replace("\\/", "/");
        let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
        let l = t.to_lowercase();
        Text { t, l, json }
    }

    fn has(&self, needle: &str) -> bool {
        self.l.contains(&needle.to_lowercase())
    }

    /// The text after the first case-insensitive occurrence of `needle`.
    fn after(&self, needle: &str) -> Option<&str> {
        let i = self.l.find(&needle.to_lowercase())?;
        Some(&self.t[i + needle.len()..])
    }
}

/// A token: up to whitespace, without surrounding quotes and trailing punctuation.
fn token(s: &str) -> String {
    let s = s.trim_start();
    let end = s
        .find(|c: char| {
            c.is_whitespace()
                || c == '"'
                || c == '\''
                || c == ','
                || c == ')'
                || c == '<'
                || c == '`'
        })
        .unwrap_or(s.len());
    s[..end]
        .trim_end_matches(['.', ';', ']', '}', ':'])
        .to_string()
}

fn ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| {
            c.is_ascii_alphanumeric()
                || *c == '_'
                || *c == '.'
                || *c == '#'
                || *c == ':'
                || *c == '-'
        })
        .collect()
}

/// The Go SDK v2 rendering "…, RequestID: id, Code: message": the alphanumeric run after the
/// request id (the code candidate) and the text right after it.
fn go_code(x: &Text) -> Option<(&str, &str)> {
    let (_, tail) = x.after("RequestID: ")?.split_once(", ")?;
    let end = tail
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(tail.len());
    Some(tail.split_at(end))
}

/// `com.amazon.coral…#Code`, `Code:http://…` → `Code`.
fn clean_code(s: &str) -> Option<String> {
    let s = s.rsplit('#').next().unwrap_or(s);
    let s = s.split(':').next().unwrap_or(s);
    let s = s.rsplit('.').next().unwrap_or(s);
    let s: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if s.len() < 3 || !s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut c = s.chars();
    let first = c.next()?.to_ascii_uppercase();
    Some(std::iter::once(first).chain(c).collect())
}

/// Error codes an AWS Bedrock, STS or IAM caller can see.
const KNOWN_CODES: [&str; 34] = [
    "AccessDeniedException",
    "ValidationException",
    "ThrottlingException",
    "ResourceNotFoundException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "MissingAuthenticationTokenException",
    "MissingAuthenticationToken",
    "IncompleteSignatureException",
    "IncompleteSignature",
    "ServiceUnavailableException",
    "ServiceQuotaExceededException",
    "ModelTimeoutException",
    "ModelNotReadyException",
    "ModelErrorException",
    "ModelStreamErrorException",
    "InternalServerException",
    "ConflictException",
    "RequestExpired",
    "ExpiredToken",
    "AccessDenied",
    "NoSuchEntity",
    "InvalidAction",
    "NotAuthorized",
    "FTUFormNotFilled",
    "MPAgreementBeingCreated",
    "BadCScoreException",
    "NoCredentialsError",
    "NoRegionError",
    "CredentialsProviderError",
    "ThrottledException",
];

fn word_at(l: &str, i: usize, len: usize) -> bool {
    let before = l[..i].chars().next_back();
    let after = l[i + len..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric())
        && !after.is_some_and(|c| c.is_ascii_alphanumeric())
}

fn extract_code(x: &Text) -> Option<String> {
    if let Some(rest) = x.after("An error occurred (") {
        if let Some(end) = rest.find(')') {
            return clean_code(&rest[..end]);
        }
    }
    if let Some(j) = &x.json {
        for k in ["__type", "code", "Code", "name", "errorType"] {
            if let Some(s) = j.get(k).and_then(Value::as_str) {
                return clean_code(s);
            }
        }
        if let Some(s) = j.pointer("/Error/Code").and_then(Value::as_str) {
            return clean_code(s);
        }
    }
    for marker in [
        "x-amzn-errortype:",
        "x-amzn-errortype\":\"",
        "x-amzn-errortype': '",
        "<code>",
        "code: some(\"",
        "\"__type\":\"",
        "\"__type\": \"",
        "name: '",
        "\"name\": \"",
        "error code: ",
        ":error-code: ",
    ] {
        if let Some(rest) = x.after(marker) {
            if let Some(c) = clean_code(&ident(rest)) {
                return Some(c);
            }
        }
    }
    // Go SDK v2: "https response error StatusCode: 403, RequestID: …, Code: message"
    if let Some((c, after)) = go_code(x) {
        if after.starts_with(':') {
            if let Some(c) = clean_code(c) {
                return Some(c);
            }
        }
    }
    // The earliest known code anywhere (also the lower-camel stream form).
    let mut best: Option<(usize, &str)> = None;
    for code in KNOWN_CODES {
        let lc = code.to_lowercase();
        let mut from = 0;
        while let Some(i) = x.l[from..].find(&lc) {
            let at = from + i;
            if word_at(&x.l, at, lc.len()) {
                if best.is_none_or(|(b, bc)| at < b || (at == b && code.len() > bc.len())) {
                    best = Some((at, code));
                }
                break;
            }
            from = at + lc.len();
        }
    }
    best.map(|(_, c)| c.to_string())
}

fn extract_status(x: &Text) -> Option<u16> {
    if let Some(j) = &x.json {
        if let Some(n) = j
            .pointer("/$metadata/httpStatusCode")
            .and_then(Value::as_u64)
        {
            return u16::try_from(n).ok();
        }
    }
    for marker in [
        "statuscode: ",
        "status code: ",
        "httpstatuscode: ",
        "\"httpstatuscode\":",
        "http/1.1 ",
        "http/2 ",
        "http/2.0 ",
        "status: ",
        "status_code=",
        "status code ",
        "\"status\":",
        "httpstatuscode\":",
    ] {
        let mut from = 0;
        while let Some(i) = x.l[from..].find(marker) {
            let at = from + i + marker.len();
            let digits: String = x.l[at..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if digits.len() == 3 {
                if let Ok(n) = digits.parse::<u16>() {
                    if (100..600).contains(&n) {
                        return Some(n);
                    }
                }
            }
            from = at;
        }
    }
    None
}

fn extract_operation(x: &Text) -> Option<String> {
    if let Some(rest) = x.after("when calling the ") {
        let op = ident(rest);
        if rest[op.len()..].trim_start().starts_with("operation") && !op.is_empty() {
            return Some(op);
        }
    }
    for marker in [
        "operation error Bedrock Runtime: ",
        "operation error Bedrock: ",
        "operation error STS: ",
        "operation error IAM: ",
    ] {
        if let Some(rest) = x.after(marker) {
            let op = ident(rest);
            if !op.is_empty() {
                return Some(op.trim_end_matches(',').to_string());
            }
        }
    }
    for (suffix, op) in [
        ("/converse-stream", "ConverseStream"),
        (
            "/invoke-with-response-stream",
            "InvokeModelWithResponseStream",
        ),
        ("/converse", "Converse"),
        ("/invoke", "InvokeModel"),
        ("/count-tokens", "CountTokens"),
    ] {
        if x.l.contains("/model/") && x.l.contains(suffix) {
            return Some(op.to_string());
        }
    }
    None
}

fn extract_message(x: &Text) -> Option<String> {
    if let Some(j) = &x.json {
        for k in ["message", "Message", "errorMessage"] {
            if let Some(s) = j.get(k).and_then(Value::as_str) {
                return Some(s.to_string());
            }
        }
        if let Some(s) = j.pointer("/Error/Message").and_then(Value::as_str) {
            return Some(s.to_string());
        }
    }
    let start = x.l.find("when calling the ");
    if let Some(i) = start.and_then(|w| x.l[w..].find(" operation").map(|i| w + i)) {
        {
            let rest = &x.t[i + " operation".len()..];
            let rest = rest
                .strip_prefix(" (reached max retries:")
                .and_then(|r| r.split_once("):"))
                .map(|(_, m)| m)
                .or_else(|| rest.strip_prefix(':'))
                .unwrap_or("");
            let m = rest.trim();
            if !m.is_empty() {
                return Some(m.to_string());
            }
        }
    }
    // Go SDK v2: "…, RequestID: id, Code: message"
    if let Some((c, after)) = go_code(x) {
        if let Some(m) = after.strip_prefix(": ") {
            if !c.is_empty() {
                return Some(m.trim().to_string());
            }
        }
    }
    for (open, close) in [("<Message>", "</Message>"), ("message: Some(\"", "\")")] {
        if let Some(rest) = x.after(open) {
            if let Some(end) = rest.find(close) {
                return Some(rest[..end].to_string());
            }
        }
    }
    None
}

fn extract_request_id(x: &Text) -> Option<String> {
    for marker in [
        "x-amzn-requestid: ",
        "requestid: ",
        "request id: ",
        "requestid: '",
        "\"requestid\": \"",
        "request_id: some(\"",
    ] {
        if let Some(rest) = x.after(marker) {
            let id: String = rest
                .trim_start_matches(['\'', '"'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if id.len() >= 8 {
                return Some(id);
            }
        }
    }
    None
}

fn percent_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Region named by the endpoint host or the client configuration, if the text shows one.
fn region_hint(x: &Text, catalog: &Catalog) -> Option<String> {
    let known = |r: &str| catalog.is_known_region(r) || catalog.region(r).is_some();
    for prefix in [
        "bedrock-runtime.",
        "bedrock-runtime-fips.",
        "bedrock.",
        "bedrock-fips.",
    ] {
        let mut from = 0;
        while let Some(i) = x.l[from..].find(prefix) {
            let at = from + i + prefix.len();
            let r: String = x.l[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if x.l[at + r.len()..].starts_with(".amazonaws.com") && known(&r) {
                return Some(r);
            }
            from = at;
        }
    }
    for marker in [
        "--region ",
        "region_name='",
        "region_name=\"",
        "region: '",
        "region: \"",
        "\"region\": \"",
        "aws_region=",
        "aws_default_region=",
        "region: some(region(\"",
        "region=",
    ] {
        if let Some(rest) = x.after(marker) {
            let r: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if known(&r) {
                return Some(r);
            }
        }
    }
    None
}

/// A model identifier named by the request (modelId parameter, CLI flag or URL path).
fn model_hint(x: &Text) -> Option<String> {
    for marker in [
        "modelid='",
        "modelid=\"",
        "modelid: '",
        "modelid: \"",
        "\"modelid\": \"",
        "\"modelid\":\"",
        "modelid=",
        "--model-id ",
        "model_id='",
        "model_id=\"",
        "model_id: some(\"",
        "/model/",
    ] {
        if let Some(rest) = x.after(marker) {
            let id: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '\'' | '"' | ',' | ')' | '?'))
                .collect();
            let id = if marker == "/model/" {
                id.split('/').next().unwrap_or("").to_string()
            } else {
                id
            };
            let id = percent_decode(&id);
            if !id.is_empty() && !id.starts_with('<') {
                return Some(id);
            }
        }
    }
    None
}

/// Model or profile facts from a model identifier (bare ID, profile ID or ARN).
fn identifier_facts(id: &str, f: &mut Facts, catalog: &Catalog) {
    let id = id.trim_end_matches(['.', ',']);
    if id.starts_with("arn:") {
        resource_facts(id, f, catalog);
        return;
    }
    if let Some(p) = catalog.profile(id) {
        f.inference_profile.get_or_insert_with(|| p.id.clone());
        f.model.get_or_insert_with(|| p.model_id.clone());
    } else {
        f.model.get_or_insert_with(|| id.to_string());
    }
}

/// Region, model and profile from a Bedrock ARN (only from complete segments).
fn resource_facts(arn: &str, f: &mut Facts, catalog: &Catalog) {
    let truncated = arn.contains('\u{2026}') || arn.ends_with("...");
    let arn = arn.trim_end_matches("...").trim_end_matches('\u{2026}');
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() >= 5 && parts[2] == "bedrock" {
        if parts[3].is_empty() {
            f.region.get_or_insert_with(|| "unspecified".to_string());
        } else if !parts[3].contains('\u{2026}') {
            f.region = Some(parts[3].to_string());
        }
    }
    if parts.len() == 6 && !truncated {
        let res = parts[5];
        if let Some(m) = res.strip_prefix("foundation-model/") {
            f.model = Some(m.to_string());
        } else if let Some(p) = res.strip_prefix("inference-profile/") {
            f.inference_profile = Some(p.to_string());
            if let Some(pr) = catalog.profile(p) {
                f.model = Some(pr.model_id.clone());
            }
        } else if res.starts_with("application-inference-profile/") {
            f.inference_profile = Some(res.to_string());
        }
    }
}

fn extract_facts(x: &Text, catalog: &Catalog) -> Facts {
    let mut f = Facts {
        error_code: extract_code(x),
        http_status: extract_status(x),
        operation: extract_operation(x),
        message: extract_message(x),
        request_id: extract_request_id(x),
        ..Facts::default()
    };
    if let Some(id) = model_hint(x) {
        identifier_facts(&id, &mut f, catalog);
    }
    if let Some(r) = region_hint(x, catalog) {
        f.region.get_or_insert(r);
    }
    f
}

// ---------------------------------------------------------------------------------------------
// IAM denials
// ---------------------------------------------------------------------------------------------

struct Denial {
    principal: Option<String>,
    action: String,
    resource: Option<String>,
    resource_truncated: bool,
    /// identity, boundary, session, scp, rcp, resource
    layer: Option<&'static str>,
    explicit: bool,
    policy_arn: Option<String>,
}

const LAYERS: [(&str, &str); 6] = [
    ("identity-based policy", "identity"),
    ("permissions boundary", "boundary"),
    ("session policy", "session"),
    ("service control policy", "scp"),
    ("resource control policy", "rcp"),
    ("resource-based policy", "resource"),
];

fn parse_denial(x: &Text) -> Option<Denial> {
    let key = " is not authorized to perform: ";
    let i = x.l.find(key)?;
    let before = &x.t[..i];
    let principal = before
        .rfind("User: ")
        .map(|j| before[j + "User: ".len()..].trim().to_string())
        .filter(|p| !p.is_empty());
    let rest = &x.t[i + key.len()..];
    let action = token(rest);
    if action.is_empty() {
        return None;
    }
    let mut rest = &rest[rest.find(&action).map(|k| k + action.len()).unwrap_or(0)..];
    let mut resource = None;
    let mut resource_truncated = false;
    if let Some(r) = rest.trim_start().strip_prefix("on resource: ") {
        let tok = token(r);
        resource_truncated =
            tok.contains('\u{2026}') || r.trim_start()[tok.len()..].starts_with("...");
        rest = &r[r.find(&tok).map(|k| k + tok.len()).unwrap_or(0)..];
        resource = Some(tok.trim_end_matches('\u{2026}').to_string());
    }
    let rl = rest.to_lowercase();
    let mut layer = None;
    let mut explicit = false;
    let mut policy_arn = None;
    if let Some(k) = rl.find("with an explicit deny in ") {
        explicit = true;
        let tail = &rest[k + "with an explicit deny in ".len()..];
        let tail = tail
            .strip_prefix("an ")
            .or_else(|| tail.strip_prefix("a "))
            .unwrap_or(tail);
        for (words, short) in LAYERS {
            if tail.to_lowercase().starts_with(words) {
                layer = Some(short);
                if let Some(arn) = tail[words.len()..].strip_prefix(": ") {
                    let a = token(arn);
                    if !a.is_empty() {
                        policy_arn = Some(a.trim_end_matches('\u{2026}').to_string());
                    }
                }
            }
        }
    } else if let Some(k) = rl.find("because no ") {
        let tail = &rl[k + "because no ".len()..];
        layer = LAYERS
            .iter()
            .find(|(w, _)| tail.starts_with(w))
            .map(|(_, s)| *s);
    }
    Some(Denial {
        principal,
        action,
        resource,
        resource_truncated,
        layer,
        explicit,
        policy_arn,
    })
}

/// How to name the entity whose policies to change: (`user`|`role`, name).
fn entity_of(principal: Option<&str>) -> Option<(&'static str, String)> {
    let p = principal?;
    let parts: Vec<&str> = p.splitn(6, ':').collect();
    if parts.len() < 6 {
        return None;
    }
    let res = parts[5];
    let clean = |s: &str| {
        if s.is_empty() || s.contains('\u{2026}') || s.contains("***") || s.contains("...") {
            None
        } else {
            Some(s.to_string())
        }
    };
    if let Some(r) = res.strip_prefix("assumed-role/") {
        let role = r.split('/').next().unwrap_or("");
        return Some(("role", clean(role).unwrap_or_else(|| "<role-name>".into())));
    }
    if let Some(u) = res.strip_prefix("user/") {
        let name = u.rsplit('/').next().unwrap_or("");
        return Some(("user", clean(name).unwrap_or_else(|| "<user-name>".into())));
    }
    if let Some(r) = res.strip_prefix("role/") {
        let name = r.rsplit('/').next().unwrap_or("");
        return Some(("role", clean(name).unwrap_or_else(|| "<role-name>".into())));
    }
    None
}

/// `aws iam put-user-policy …` / `put-role-policy …` with the document inline.
pub fn put_policy_command(
    principal: Option<&str>,
    policy_name: &str,
    doc: &PolicyDocument,
) -> String {
    let (kind, name) = entity_of(principal).unwrap_or(("role", "<role-name>".to_string()));
    format!(
        "aws iam put-{kind}-policy --{kind}-name {name} --policy-name {policy_name} --policy-document '{}'",
        doc.to_compact()
    )
}

/// The identity policy that allows `action` on `resource` (and what a profile call needs with
/// it), or `None` when the resource is not known completely.
fn allow_document(
    action: &str,
    resource: Option<&str>,
    catalog: &Catalog,
) -> Option<PolicyDocument> {
    let lower = action.to_ascii_lowercase();
    if lower.starts_with("aws-marketplace:") {
        return Some(PolicyDocument {
            statements: vec![generate::marketplace_statement()],
        });
    }
    let statements = match resource {
        None | Some("*") => vec![Statement::allow("AllowAction", &[action], vec!["*".into()])],
        Some(arn) => {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            if parts.len() != 6 {
                return None;
            }
            let (region, account, res) = (parts[3], parts[4], parts[5]);
            if let Some(pid) = res.strip_prefix("inference-profile/") {
                match catalog
                    .profile(pid)
                    .and_then(|p| Some((p, catalog.model(&p.model_id)?)))
                {
                    Some((p, m)) if !region.is_empty() => {
                        generate::profile_arns(p, m, region, account).statements(&[action])
                    }
                    _ => vec![Statement::allow(
                        "AllowAction",
                        &[action],
                        vec![arn.to_string()],
                    )],
                }
            } else if let (true, Some(model)) =
                (region.is_empty(), res.strip_prefix("foundation-model/"))
            {
                vec![Statement::allow(
                    "InvokeModelsThroughGlobalProfiles",
                    &[action],
                    vec![arn.to_string()],
                )
                .with(Condition::new(
                    "StringEquals",
                    "aws:RequestedRegion",
                    vec!["unspecified".into()],
                ))
                .with(Condition::new(
                    "ArnLike",
                    "bedrock:InferenceProfileArn",
                    vec![format!(
                        "arn:{}:bedrock:*:*:inference-profile/global.{model}",
                        parts[1]
                    )],
                ))]
            } else {
                vec![Statement::allow(
                    "AllowAction",
                    &[action],
                    vec![arn.to_string()],
                )]
            }
        }
    };
    let doc = PolicyDocument { statements };
    doc.validate(bg_iam::PolicyKind::Identity).ok().map(|_| doc)
}

fn iam_explanation(d: Denial, mut f: Facts, x: &Text, catalog: &Catalog) -> Explanation {
    f.principal = d.principal.clone();
    f.action = Some(d.action.clone());
    if let Some(r) = &d.resource {
        f.resource = Some(if d.resource_truncated {
            format!("{r}\u{2026} (truncated)")
        } else {
            r.clone()
        });
        let arn = if d.resource_truncated {
            format!("{r}\u{2026}")
        } else {
            r.clone()
        };
        resource_facts(&arn, &mut f, catalog);
    }
    f.policy_type = d.layer.map(str::to_string);
    f.explicit_deny = Some(d.explicit);
    f.policy_arn = d.policy_arn.clone();
    let who = d.principal.clone().unwrap_or_else(|| "the caller".into());
    let on = d
        .resource
        .as_deref()
        .map(|r| {
            format!(
                " on {r}{}",
                if d.resource_truncated { "\u{2026}" } else { "" }
            )
        })
        .unwrap_or_default();
    let action = d.action.as_str();
    let converse_note = match f.operation.as_deref() {
        Some("Converse") => {
            " (Converse is authorized as bedrock:InvokeModel; there is no bedrock:Converse action)"
        }
        Some("ConverseStream") => {
            " (ConverseStream is authorized as bedrock:InvokeModelWithResponseStream)"
        }
        _ => "",
    };
    let global = f.region.as_deref() == Some("unspecified");
    let profile_note = if global {
        " The Region-less model ARN is what IAM checks for a global cross-Region inference profile (aws:RequestedRegion = unspecified)."
    } else if d
        .resource
        .as_deref()
        .is_some_and(|r| r.contains(":inference-profile/"))
    {
        " A profile call also needs the model ARN in the source Region and in every destination Region."
    } else {
        ""
    };
    let entity = entity_of(d.principal.as_deref());
    let generate_hint = match (&f.model, &f.region) {
        (Some(m), Some(r)) if r != "unspecified" => format!(
            " `bedrock-gates policy generate --model {m} --region {r}{}` writes the whole least-privilege policy.",
            f.inference_profile
                .as_deref()
                .and_then(|p| catalog.profile(p))
                .map(|p| format!(" --profile-prefix {}", p.prefix))
                .unwrap_or_default()
        ),
        _ => String::new(),
    };
    let (cause, fix, command) = match (d.layer.unwrap_or("identity"), d.explicit) {
        ("identity", false) => {
            let doc = if d.resource_truncated {
                None
            } else {
                allow_document(action, d.resource.as_deref(), catalog)
            };
            let cause = format!(
                "no identity-based policy of {who} allows {action}{on}{converse_note}.{profile_note}"
            );
            let fix = match &doc {
                Some(_) => format!(
                    "Attach an identity policy that allows {action}{on} to the {} behind the caller.{generate_hint}",
                    entity.as_ref().map(|e| e.0).unwrap_or("user or role")
                ),
                None => format!(
                    "The resource ARN is cut off in this text; find the full ARN in the complete error, then allow {action} on it.{generate_hint}"
                ),
            };
            (cause, fix, doc.map(|doc| put_policy_command(d.principal.as_deref(), "bedrock-gates-allow", &doc)))
        }
        ("identity", true) => {
            let (kind, name) = entity.clone().unwrap_or(("role", "<role-name>".into()));
            (
                format!("a Deny statement in an identity-based policy of {who} matches {action}{on}."),
                format!("Find the Deny statement in the {kind}'s inline and attached policies (and its groups'), then remove or narrow it; an Allow cannot override an explicit Deny."),
                Some(format!(
                    "aws iam list-{kind}-policies --{kind}-name {name}\naws iam list-attached-{kind}-policies --{kind}-name {name}"
                )),
            )
        }
        ("boundary", explicit) => {
            let (kind, name) = entity.clone().unwrap_or(("role", "<role-name>".into()));
            let cap = if kind == "user" { "User" } else { "Role" };
            let doc = allow_document(action, d.resource.as_deref(), catalog);
            (
                if explicit {
                    format!("a Deny statement in the permissions boundary of {who} matches {action}{on}.")
                } else {
                    format!("the permissions boundary of {who} does not allow {action}{on}; identity policies alone are not enough.")
                },
                format!(
                    "{} the permissions boundary policy (or remove the boundary), then set the new version as default{}.",
                    if explicit { "Remove or narrow the Deny in" } else { "Add this action and resource to" },
                    doc.as_ref()
                        .map(|d| format!("; the statements to add: {}", d.to_compact()))
                        .unwrap_or_default()
                ),
                Some(format!(
                    "aws iam get-{kind} --{kind}-name {name} --query {cap}.PermissionsBoundary.PermissionsBoundaryArn\naws iam create-policy-version --policy-arn <boundary-arn> --policy-document file://boundary.json --set-as-default"
                )),
            )
        }
        ("session", explicit) => {
            let role = entity.clone().map(|e| e.1).unwrap_or_else(|| "<role-name>".into());
            let account = d
                .principal
                .as_deref()
                .and_then(|p| p.split(':').nth(4))
                .filter(|a| !a.is_empty() && !a.contains('*'))
                .unwrap_or("<account>")
                .to_string();
            (
                if explicit {
                    format!("a Deny in the session policy passed when {who} was assumed matches {action}{on}.")
                } else {
                    format!("the session policy passed when {who} was assumed (AssumeRole --policy / --policy-arns) does not allow {action}{on}; a session gets the intersection of the role's policies and the session policy.")
                },
                "Assume the role again without a session policy, or with one that allows this action and resource.".to_string(),
                Some(format!(
                    "aws sts assume-role --role-arn arn:aws:iam::{account}:role/{role} --role-session-name bedrock"
                )),
            )
        }
        ("scp", explicit) => {
            let policy_id = d
                .policy_arn
                .as_deref()
                .and_then(|a| a.rsplit('/').next())
                .filter(|p| p.starts_with("p-") && !p.contains('\u{2026}'))
                .unwrap_or("<policy-id>")
                .to_string();
            let account = d
                .principal
                .as_deref()
                .and_then(|p| p.split(':').nth(4))
                .filter(|a| !a.is_empty())
                .unwrap_or("<account-id>")
                .to_string();
            let cause = if explicit {
                let region_words = match f.region.as_deref() {
                    Some("unspecified") => " The call went through a global cross-Region inference profile: IAM checks the Region-less model ARN with aws:RequestedRegion = unspecified, which an SCP that restricts Regions denies.".to_string(),
                    Some(r) => format!(" aws:RequestedRegion for this ARN is {r}; for a cross-Region profile that is the destination Region, so an SCP restricting Regions denies calls routed there."),
                    None => String::new(),
                };
                format!(
                    "an explicit Deny in a service control policy{} of the organization matches {action}{on}.{region_words}",
                    d.policy_arn.as_deref().map(|a| format!(" ({a})")).unwrap_or_default()
                )
            } else {
                format!("no service control policy at some level of the organization (root, OU or account) allows {action}; SCPs are allow-lists at every level.")
            };
            let alternative = if global {
                " Or call a geographic profile (us., eu., apac., …) whose destination Regions the SCP allows."
            } else {
                ""
            };
            (
                cause,
                format!("Only the organization's management account can change SCPs: ask its administrator to exempt this call (or this principal) from the SCP.{alternative}"),
                Some(if explicit {
                    format!("aws organizations describe-policy --policy-id {policy_id}   # in the management account")
                } else {
                    format!("aws organizations list-policies-for-target --target-id {account} --filter SERVICE_CONTROL_POLICY   # in the management account")
                }),
            )
        }
        ("rcp", _) => (
            format!("a resource control policy of the organization denies {action}{on}."),
            "Ask the organization's administrator to change the resource control policy.".to_string(),
            Some("aws organizations list-policies --filter RESOURCE_CONTROL_POLICY   # in the management account".to_string()),
        ),
        (_, explicit) => (
            format!(
                "the resource-based policy of the resource {} {action}{on}.",
                if explicit { "explicitly denies" } else { "does not allow" }
            ),
            "Change the resource-based policy (or call from the resource's own account).".to_string(),
            None,
        ),
    };
    let _ = x;
    Explanation {
        gate: Some(Gate::Iam),
        cause,
        facts: f,
        fix,
        command,
    }
}

// ---------------------------------------------------------------------------------------------
// Region and model-access helpers
// ---------------------------------------------------------------------------------------------

const HI: &str = r#"'[{"role":"user","content":[{"text":"hi"}]}]'"#;

/// The fix for a model identifier that names nothing callable in the Region: (fix, command).
fn region_fix(f: &Facts, catalog: &Catalog) -> (String, Option<String>) {
    let region = f.region.as_deref().filter(|r| *r != "unspecified");
    let Some(model) = f.model.as_deref().and_then(|m| catalog.model(m)) else {
        let r = region.unwrap_or("<region>");
        return (
            format!(
                "Check the model ID against the Region's catalog{}; IDs are case-sensitive and versioned (e.g. amazon.nova-lite-v1:0).",
                f.model.as_deref().map(|m| format!(" ({m} is not a model this tool knows)")).unwrap_or_default()
            ),
            Some(format!(
                "aws bedrock list-foundation-models --region {r} --query 'modelSummaries[].[modelId,inferenceTypesSupported[0]]' --output text"
            )),
        );
    };
    if let (Some(pid), Some(r)) = (f.inference_profile.as_deref(), region) {
        if let Some(p) = catalog.profile(pid) {
            if !p.is_callable_from(r) {
                let here: Vec<&str> = catalog
                    .profiles_in_region(r)
                    .filter(|q| q.model_id == model.id)
                    .map(|q| q.id.as_str())
                    .collect();
                return (
                    format!(
                        "{pid} can be called only from its source Regions ({}), not {r}.{}",
                        p.source_regions.join(", "),
                        if here.is_empty() {
                            String::new()
                        } else {
                            format!(" From {r} use {}.", here.join(" or "))
                        }
                    ),
                    Some(match here.first() {
                        Some(h) => format!("aws bedrock-runtime converse --region {r} --model-id {h} --messages {HI}"),
                        None => format!(
                            "aws bedrock-runtime converse --region {} --model-id {pid} --messages {HI}",
                            p.source_regions.first().map(String::as_str).unwrap_or("<region>")
                        ),
                    }),
                );
            }
        }
    }
    if let Some(r) = region {
        let profiles: Vec<&str> = catalog
            .profiles_in_region(r)
            .filter(|p| p.model_id == model.id)
            .map(|p| p.id.as_str())
            .collect();
        if model.is_on_demand_in(r) && f.inference_profile.is_none() {
            return (
                format!(
                    "The catalog lists {} as offered in {r} on demand: check that the request is really signed for {r} (AWS_REGION, the profile's region, region_name) and that the ID is spelled exactly.",
                    model.id
                ),
                Some(format!(
                    "aws bedrock get-foundation-model --region {r} --model-identifier {}",
                    model.id
                )),
            );
        }
        if let Some(p) = profiles.first() {
            return (
                format!(
                    "In {r}, {} is reachable through the inference profile{} {}. IAM must then allow the profile ARN and the model in every destination Region (`bedrock-gates policy generate --model {} --region {r} --profile-prefix {}`).",
                    model.id,
                    if profiles.len() > 1 { "s" } else { "" },
                    profiles.join(", "),
                    model.id,
                    p.split('.').next().unwrap_or("us")
                ),
                Some(format!("aws bedrock-runtime converse --region {r} --model-id {p} --messages {HI}")),
            );
        }
    }
    let offered = generate::where_offered(catalog, model);
    let command = match (
        model.on_demand_regions.first(),
        catalog.profiles_for_model(&model.id).next(),
    ) {
        (Some(r), _) => format!(
            "aws bedrock-runtime converse --region {r} --model-id {} --messages {HI}",
            model.id
        ),
        (None, Some(p)) => format!(
            "aws bedrock-runtime converse --region {} --model-id {} --messages {HI}",
            p.source_regions
                .first()
                .map(String::as_str)
                .unwrap_or("us-east-1"),
            p.id
        ),
        (None, None) => "aws bedrock list-foundation-models --region <region>".to_string(),
    };
    (
        format!(
            "{} is not offered in {}. {offered}.",
            model.id,
            region.unwrap_or("the Region the request was signed for")
        ),
        Some(command),
    )
}

/// The form is per account, but the call is signed for a Region: name it when known, since the
/// AWS CLI v1 reads only AWS_DEFAULT_REGION, not AWS_REGION.
fn use_case_command(region: Option<&str>) -> String {
    let region = region
        .filter(|r| *r != "unspecified")
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default();
    [
        "cat > use-case.json <<'EOF'".to_string(),
        r#"{"companyName":"Example Corp","companyWebsite":"https://example.com","intendedUsers":"0","industryOption":"Technology","otherIndustryOption":"","useCases":"Internal assistant"}"#.to_string(),
        "EOF".to_string(),
        format!("aws bedrock put-use-case-for-model-access{region} --form-data fileb://use-case.json"),
    ]
    .join("\n")
}

fn quota_command(f: &Facts) -> String {
    format!(
        "aws service-quotas list-service-quotas --service-code bedrock{} --query \"Quotas[?contains(QuotaName, '{}')].[QuotaName,QuotaCode,Value]\" --output table",
        f.region.as_deref().filter(|r| *r != "unspecified").map(|r| format!(" --region {r}")).unwrap_or_default(),
        f.model
            .as_deref()
            .and_then(|m| bg_catalog::catalog().model(m))
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "On-demand".into())
    )
}

const QUOTA_FIX: &str = "Retry with exponential backoff (boto3: Config(retries={\"mode\": \"adaptive\", \"max_attempts\": 10}); the SDKs' standard retry mode does this), spread the load over a cross-Region inference profile, or request a higher quota in Service Quotas (`aws service-quotas request-service-quota-increase --service-code bedrock --quota-code <code> --desired-value <n>`).";

/// Parse `YYYYMMDDTHHMMSSZ` to seconds since the epoch.
fn amz_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() != 16 || &s[8..9] != "T" || !s.ends_with('Z') {
        return None;
    }
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0, 4)?,
        n(4, 6)?,
        n(6, 8)?,
        n(9, 11)?,
        n(11, 13)?,
        n(13, 15)?,
    );
    // days from civil (Howard Hinnant)
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

fn human_duration(secs: i64) -> String {
    let s = secs.abs();
    if s >= 3600 {
        format!("{}h {}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

// ---------------------------------------------------------------------------------------------
// The classifier
// ---------------------------------------------------------------------------------------------

fn out(
    gate: Option<Gate>,
    cause: impl Into<String>,
    facts: Facts,
    fix: impl Into<String>,
    command: Option<String>,
) -> Explanation {
    Explanation {
        gate,
        cause: cause.into(),
        facts,
        fix: fix.into(),
        command,
    }
}

/// Explain pasted error text.
pub fn explain(input: &str) -> Explanation {
    explain_with(input, bg_catalog::catalog())
}

/// Explain an SDK error from its parts (what the doctor has after a failed call).
pub fn explain_parts(code: Option<&str>, message: &str, operation: &str) -> Explanation {
    explain_call(code, message, operation, &Hints::default())
}

/// What the caller of a failed call knows besides the error: who called, where, which model.
/// Facts the text does not carry are taken from here (never the gate).
#[derive(Clone, Debug, Default)]
pub struct Hints {
    pub principal: Option<String>,
    pub region: Option<String>,
    pub model: Option<String>,
}

/// Explain a failed SDK call from its parts and what the caller knows.
pub fn explain_call(
    code: Option<&str>,
    message: &str,
    operation: &str,
    hints: &Hints,
) -> Explanation {
    let text = match code {
        Some(c) => {
            format!("An error occurred ({c}) when calling the {operation} operation: {message}")
        }
        None => message.to_string(),
    };
    explain_hinted(&text, bg_catalog::catalog(), hints)
}

pub fn explain_with(input: &str, catalog: &Catalog) -> Explanation {
    if let Some(e) = cloudtrail_record(input) {
        return explain_record(&e, catalog);
    }
    explain_hinted(input, catalog, &Hints::default())
}

/// A CloudTrail record in `input`: the record's JSON, the `CloudTrailEvent` string of a
/// LookupEvents event (as JSON text or as the quoted string), a LookupEvents event, or a whole
/// LookupEvents answer (its first refused event).
fn cloudtrail_record(input: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(input.trim()).ok()?;
    let is_record = |v: &Value| v.get("eventName").is_some() && v.get("eventSource").is_some();
    let from = |v: Value| -> Option<Value> {
        match v {
            Value::String(s) => serde_json::from_str::<Value>(&s).ok().filter(is_record),
            v if is_record(&v) => Some(v),
            v => v
                .get("CloudTrailEvent")
                .and_then(Value::as_str)
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .filter(is_record),
        }
    };
    if let Some(events) = v.get("Events").and_then(Value::as_array) {
        let records: Vec<Value> = events.iter().cloned().filter_map(from).collect();
        return records
            .iter()
            .find(|r| r.get("errorCode").is_some())
            .or(records.first())
            .cloned();
    }
    from(v)
}

/// A CloudTrail record's refusal: its error code and message, with who called, where and
/// which model as the record says, through the same rules as pasted text.
fn explain_record(e: &Value, catalog: &Catalog) -> Explanation {
    let s = |p: &str| e.pointer(p).and_then(Value::as_str).map(str::to_string);
    let hints = Hints {
        principal: s("/userIdentity/arn"),
        region: s("/awsRegion"),
        model: s("/requestParameters/modelId").or_else(|| s("/requestParameters/modelIdentifier")),
    };
    let operation = s("/eventName").unwrap_or_default();
    let Some(code) = s("/errorCode") else {
        let f = Facts {
            principal: hints.principal,
            region: hints.region,
            ..Facts::default()
        };
        return out(
            None,
            format!("the CloudTrail event records a {operation} call that succeeded: no gate refused it"),
            f,
            "Nothing to fix; explain the event of a refused call (one with errorCode).",
            None,
        );
    };
    // CloudTrail writes Bedrock's IAM denials as `AccessDenied`; the client saw the exception.
    let code = match (code.as_str(), s("/eventSource").as_deref()) {
        ("AccessDenied", Some("bedrock.amazonaws.com")) => "AccessDeniedException".to_string(),
        _ => code,
    };
    let message = s("/errorMessage").unwrap_or_default();
    let text =
        format!("An error occurred ({code}) when calling the {operation} operation: {message}");
    explain_hinted(&text, catalog, &hints)
}

fn explain_hinted(input: &str, catalog: &Catalog, hints: &Hints) -> Explanation {
    let x = Text::new(input);
    let mut f = extract_facts(&x, catalog);
    if f.model.is_none() && f.inference_profile.is_none() {
        if let Some(m) = &hints.model {
            identifier_facts(m, &mut f, catalog);
        }
    }
    if f.region.is_none() {
        f.region = hints.region.clone();
    }
    if f.principal.is_none() {
        f.principal = hints.principal.clone();
    }
    let region = f.region.clone().filter(|r| r != "unspecified");
    let c = Ctx {
        x: &x,
        catalog,
        code: f.error_code.clone().unwrap_or_default(),
        r_or: region.clone().unwrap_or_else(|| "<region>".into()),
        region,
    };

    if x.t.trim().is_empty() {
        return out(
            None,
            "no text to explain",
            f,
            "Paste the whole error message (or pipe it: `… 2>&1 | bedrock-gates explain -`).",
            None,
        );
    }

    match matching_rule(&c) {
        Some(rule) => (rule.explain)(&c, f),
        None => unrecognised(&c, f),
    }
}

/// The first rule whose matcher accepts the text (the order of [`RULES`] decides).
fn matching_rule(c: &Ctx) -> Option<&'static Rule> {
    RULES.iter().find(|r| (r.matches)(c))
}

// ---------------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------------

/// What every rule sees: the normalised text, the catalog, the error code and the Region.
struct Ctx<'a> {
    x: &'a Text,
    catalog: &'a Catalog,
    /// The error code, or "" when the text names none.
    code: String,
    /// The Region the text (or the caller) names, unless "unspecified".
    region: Option<String>,
    /// `region`, or `<region>` for commands.
    r_or: String,
}

impl Ctx<'_> {
    fn code_is(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.code.eq_ignore_ascii_case(n))
    }

    fn has(&self, needle: &str) -> bool {
        self.x.has(needle)
    }

    /// `needle` with its apostrophes as typed or as AWS's curly one.
    fn has_either_apostrophe(&self, needle: &str) -> bool {
        self.x.has(needle) || self.x.has(&needle.replace('\'', "\u{2019}"))
    }
}

/// One error family: its matcher and the explanation it builds.
struct Rule {
    /// The family's name: how the tests say which rule a text must reach.
    #[cfg_attr(not(test), allow(dead_code))]
    name: &'static str,
    matches: fn(&Ctx) -> bool,
    explain: fn(&Ctx, Facts) -> Explanation,
}

/// Words `from..to` of a message the gates emit, lower-cased and without trailing punctuation:
/// the matching key for that message. A fragment rather than the whole sentence, so the match
/// survives what pasting does to it (wrapping and quoting, which [`Text`] undoes, lower-casing,
/// an SDK's truncation after the fragment).
fn words(msg: &str, from: usize, to: usize) -> String {
    let w: Vec<&str> = msg.split_whitespace().collect();
    let to = to.min(w.len());
    w[from.min(to)..to]
        .join(" ")
        .to_lowercase()
        .trim_end_matches(|c: char| c.is_ascii_punctuation())
        .to_string()
}

/// The last `n` words of a gate's message, as [`words`].
fn last_words(msg: &str, n: usize) -> String {
    let len = msg.split_whitespace().count();
    words(msg, len.saturating_sub(n), len)
}

/// The two fixed parts of [`bg_gates::region::on_demand_unsupported`] around the model ID: its
/// opening (`invocation of model id`) and the rest up to AWS's apostrophe (`with on-demand
/// throughput isn`), so either apostrophe matches.
fn on_demand_keys() -> (String, String) {
    let m = bg_gates::region::on_demand_unsupported("\u{0}");
    let (before, after) = m.split_once('\u{0}').unwrap_or((&m, ""));
    let after = after.split(['\'', '\u{2019}']).next().unwrap_or("");
    (before.trim().to_lowercase(), after.trim().to_lowercase())
}

fn expired_token_key() -> String {
    // "The security token included in the request is expired", without "The".
    words(
        bg_gates::credentials::CredentialError::ExpiredToken.message(),
        1,
        usize::MAX,
    )
}

fn invalid_token_key() -> String {
    words(
        bg_gates::credentials::CredentialError::InvalidToken.message(),
        1,
        usize::MAX,
    )
}

fn marketplace_key() -> String {
    // "Model access is denied due to …"
    words(bg_gates::access::MARKETPLACE_MESSAGE, 0, 6)
}

fn subscribing_key() -> String {
    // "… marketplace subscription for this model is still being processed"
    last_words(bg_gates::access::SUBSCRIBING_MESSAGE, 9)
}

fn use_case_key() -> String {
    // "Model use case details have not been submitted" opens both FTU_MESSAGE (the runtime
    // refusal) and NO_USE_CASE_MESSAGE (GetUseCaseForModelAccess's 404).
    words(bg_gates::access::FTU_MESSAGE, 0, 8)
}

fn end_of_life_key() -> String {
    // "This model version has reached the end of its life."
    words(bg_gates::checks::region::END_OF_LIFE_MESSAGE, 4, 10)
}

fn legacy_key() -> String {
    // "Access denied. This Model is marked by provider as Legacy …"
    words(bg_gates::access::LEGACY_MESSAGE, 5, 10)
}

fn no_access_key() -> String {
    words(bg_gates::access::NO_ACCESS_MESSAGE, 0, usize::MAX)
}

fn not_authorized_key() -> String {
    // The first sentence of SUBSCRIBING_MESSAGE: "Your account is not authorized to access this model."
    words(bg_gates::access::SUBSCRIBING_MESSAGE, 0, 9)
}

fn invalid_model_id_key() -> String {
    words(bg_gates::region::INVALID_MODEL_ID, 0, usize::MAX)
}

fn tpd_key() -> String {
    // "Too many tokens per day, …"
    words(bg_gates::quota::TPD_MESSAGE, 0, 5)
}

fn tpm_key() -> String {
    // "Too many tokens, …" (also a prefix of the TPD text, which is tested first)
    words(bg_gates::quota::TPM_MESSAGE, 0, 3)
}

fn rpm_key() -> String {
    // "Too many requests, …"
    words(bg_gates::quota::RPM_MESSAGE, 0, 3)
}

fn fault_message(kind: bg_gates::quota::FaultKind) -> &'static str {
    kind.http_error().2
}

fn unavailable_key() -> String {
    // "Bedrock is unable to process your request."
    words(
        fault_message(bg_gates::quota::FaultKind::Unavailable),
        0,
        usize::MAX,
    )
}

fn not_ready_key() -> String {
    // "Model is not ready to serve inference requests. …"
    words(fault_message(bg_gates::quota::FaultKind::NotReady), 0, 8)
}

fn timeout_key() -> String {
    // "Model has timed out in processing the request. …"
    words(fault_message(bg_gates::quota::FaultKind::Timeout), 0, 4)
}

fn not_chat_key() -> String {
    // "This action doesn't support the model that you provided. …"
    words(bg_gates::checks::request::NOT_CHAT, 0, 9)
}

/// The Region in an unreachable Bedrock host name, when it is not a Bedrock Region.
fn unknown_host_region(c: &Ctx) -> Option<String> {
    let host_region = ["bedrock-runtime.", "bedrock."].iter().find_map(|p| {
        c.x.after(p).map(|r| {
            r.chars()
                .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
                .collect::<String>()
        })
    });
    host_region.filter(|r| !r.is_empty() && c.catalog.region(r).is_none())
}

/// The classifier, in order: the first rule that matches explains. Rules whose texts the gates
/// emit match keys derived from the gates' own message constants; the others (texts of the
/// SigV4 front door, of the SDKs, of other services, or older AWS wordings the gates never
/// emit) keep literal lower-case fragments, marked "literal" below.
static RULES: &[Rule] = &[
    // ---- credentials (the SigV4 front door and the SDKs' credential chain) ----
    Rule {
        // literal: the SigV4 front door's texts (bg-sigv4, not a gate message).
        name: "signature-time",
        matches: |c| c.has("signature expired:") || c.has("signature not yet current:"),
        explain: signature_time,
    },
    Rule {
        // api_key::BAD_FORMAT: a bearer token that is not a Bedrock API key.
        name: "api-key-format",
        matches: |c| c.has(bg_gates::api_key::BAD_FORMAT),
        explain: api_key_format,
    },
    Rule {
        // api_key::AUTH_FAILED: a Bedrock API key that does not authenticate.
        name: "api-key-invalid",
        matches: |c| c.has(bg_gates::api_key::AUTH_FAILED),
        explain: api_key_invalid,
    },
    Rule {
        // the IAM gate's sentence for bedrock:CallWithBearerToken, before the general IAM rule.
        name: "api-key-iam",
        matches: |c| c.has("not authorized to perform: bedrock:callwithbearertoken"),
        explain: api_key_iam,
    },
    Rule {
        // literal: the User Guide's RequestExpired, not emitted by the gates.
        name: "request-expired",
        matches: |c| c.code_is(&["RequestExpired"]) || c.has("request has expired"),
        explain: request_expired,
    },
    Rule {
        // CredentialError::ExpiredToken; literal: the SDKs' SSO texts.
        name: "expired-token",
        matches: |c| {
            c.has(&expired_token_key())
                || c.code_is(&["ExpiredTokenException", "ExpiredToken"])
                || c.has("token has expired and refresh failed")
                || c.has("sso session associated with this profile has expired")
                || c.has("the sso session has expired")
        },
        explain: expired_token,
    },
    Rule {
        // CredentialError::InvalidToken.
        name: "invalid-token",
        matches: |c| {
            c.has(&invalid_token_key())
                || c.code_is(&["UnrecognizedClientException", "InvalidClientTokenId"])
        },
        explain: invalid_token,
    },
    Rule {
        // literal: the SigV4 front door's text.
        name: "signature-mismatch",
        matches: |c| {
            c.has("request signature we calculated does not match")
                || c.code_is(&["SignatureDoesNotMatch"])
                || (c.code_is(&["InvalidSignatureException"])
                    && !c.has("credential should be scoped"))
        },
        explain: signature_mismatch,
    },
    Rule {
        // literal: the SigV4 front door's text.
        name: "scope-region",
        matches: |c| c.has("credential should be scoped to a valid region"),
        explain: scope_region,
    },
    Rule {
        // literal: the SigV4 front door's text.
        name: "scope-service",
        matches: |c| c.has("credential should be scoped to correct service"),
        explain: scope_service,
    },
    Rule {
        // literal: the SigV4 front door's text.
        name: "missing-auth-token",
        matches: |c| {
            c.has("missing authentication token")
                || c.code_is(&[
                    "MissingAuthenticationTokenException",
                    "MissingAuthenticationToken",
                ])
        },
        explain: missing_auth_token,
    },
    Rule {
        // literal: the SDKs' credential-chain texts.
        name: "no-credentials",
        matches: |c| {
            c.has("unable to locate credentials")
                || c.has("no providers in chain provided credentials")
                || c.has("no credentials found in chain")
                || c.has("the credential provider was not enabled")
                || c.has("could not load credentials from any providers")
                || c.has("nocredentialproviders")
                || c.has("failed to load credentials")
                || c.has("credentialsnotloaded")
                || c.has("no valid credential sources")
        },
        explain: no_credentials,
    },
    Rule {
        // the SigV4 front door's text for `Authorization: Bearer` on IAM or STS.
        name: "bearer-not-here",
        matches: |c| c.has("unsupported aws 'algorithm': 'bearer'"),
        explain: bearer_not_here,
    },
    Rule {
        // literal: the SigV4 front door's text.
        name: "incomplete-signature",
        matches: |c| {
            c.code_is(&["IncompleteSignatureException", "IncompleteSignature"])
                || c.has("authorization header requires")
                || c.has("credential must have exactly 5 slash-delimited elements")
                // serve's text for a request with two Authorization headers
                || c.has("'authorization' http headers; a request carries exactly one")
        },
        explain: incomplete_signature,
    },
    // ---- model access and provider terms (before IAM: these texts quote IAM denials) ----
    Rule {
        // access::MARKETPLACE_MESSAGE.
        name: "marketplace-first-use",
        matches: |c| c.has(&marketplace_key()),
        explain: marketplace_first_use,
    },
    Rule {
        // access::SUBSCRIBING_MESSAGE.
        name: "marketplace-subscribing",
        matches: |c| c.has(&subscribing_key()) || c.code_is(&["MPAgreementBeingCreated"]),
        explain: marketplace_subscribing,
    },
    Rule {
        // access::FTU_MESSAGE / NO_USE_CASE_MESSAGE; literal: the console's older wordings.
        name: "use-case-form",
        matches: |c| {
            c.has(&use_case_key())
                || c.has("required use-case form")
                || c.has("use case details form")
                || c.code_is(&["FTUFormNotFilled"])
        },
        explain: use_case_form,
    },
    Rule {
        // checks::region::END_OF_LIFE_MESSAGE.
        name: "end-of-life",
        matches: |c| c.has(&end_of_life_key()),
        explain: end_of_life,
    },
    Rule {
        // access::LEGACY_MESSAGE.
        name: "legacy",
        matches: |c| c.has(&legacy_key()),
        explain: legacy,
    },
    Rule {
        // access::NO_ACCESS_MESSAGE.
        name: "no-access",
        matches: |c| c.has_either_apostrophe(&no_access_key()),
        explain: no_access,
    },
    Rule {
        // literal: Prompt management's text, not emitted by the gates.
        name: "prompt-resource",
        matches: |c| {
            c.has("your account is not authorized to invoke this api operation with a prompt resource")
        },
        explain: prompt_resource,
    },
    Rule {
        // literal: the 2023 wording of the model-access refusal, not emitted by the gates.
        name: "not-authorized-2023",
        matches: |c| c.has("your account is not authorized to invoke this api operation"),
        explain: not_authorized_2023,
    },
    Rule {
        // The first sentence of access::SUBSCRIBING_MESSAGE (AWS sends it alone too).
        name: "account-not-authorized",
        matches: |c| c.has(&not_authorized_key()) || c.code_is(&["BadCScoreException"]),
        explain: account_not_authorized,
    },
    Rule {
        // literal: Marketplace agreement texts, not emitted by the gates.
        name: "agreement-failed",
        matches: |c| {
            c.has("marketplace agreement failed") || c.has("marketplace agreement pending")
        },
        explain: agreement_failed,
    },
    Rule {
        // literal: an account-level block, not emitted by the gates.
        name: "operation-not-allowed",
        matches: |c| c.code_is(&["ValidationException"]) && c.has("operation not allowed"),
        explain: operation_not_allowed,
    },
    // ---- GetFoundationModelAvailability output pasted ----
    Rule {
        // Not a message: the JSON record's fields.
        name: "availability-record",
        matches: |c| {
            c.x.json.as_ref().is_some_and(|j| {
                j.get("regionAvailability").is_some() && j.get("authorizationStatus").is_some()
            })
        },
        explain: availability_record,
    },
    // ---- IAM ----
    Rule {
        // IAM's denial texts, parsed by parse_denial.
        name: "iam",
        matches: |c| parse_denial(c.x).is_some(),
        explain: iam,
    },
    // ---- Region ----
    Rule {
        // region::on_demand_unsupported.
        name: "profile-only",
        matches: |c| {
            let (opening, rest) = on_demand_keys();
            c.has(&rest) && c.has(&opening)
        },
        explain: profile_only,
    },
    Rule {
        // region::INVALID_MODEL_ID.
        name: "invalid-model-id",
        matches: |c| c.has(&invalid_model_id_key()),
        explain: invalid_model_id,
    },
    Rule {
        // literal: Provisioned-Throughput-only variants, not emitted by the gates.
        name: "provisioned-only",
        matches: |c| {
            c.has_either_apostrophe("the provided model doesn't support on-demand throughput")
        },
        explain: provisioned_only,
    },
    Rule {
        // literal: not emitted by the gates.
        name: "model-not-found",
        matches: |c| {
            c.has("model not found")
                && (c.code_is(&["ResourceNotFoundException"]) || c.code.is_empty())
        },
        explain: model_not_found,
    },
    Rule {
        // literal: the SDKs' texts.
        name: "no-region",
        matches: |c| {
            c.has("you must specify a region")
                || c.code_is(&["NoRegionError"])
                || c.has("could not find region configuration")
                || c.has("region is missing")
                || c.has("no region in the config")
                || c.has("missing region")
        },
        explain: no_region,
    },
    Rule {
        // literal: the SDKs' and resolvers' connection texts.
        name: "no-endpoint",
        matches: |c| {
            (c.has("could not connect to the endpoint url")
                || c.has("dns error")
                || c.has("getaddrinfo enotfound")
                || c.has("no such host"))
                && unknown_host_region(c).is_some()
        },
        explain: no_endpoint,
    },
    // ---- quota (throughput) ----
    Rule {
        // quota::TPD_MESSAGE.
        name: "tokens-per-day",
        matches: |c| c.has(&tpd_key()),
        explain: tokens_per_day,
    },
    Rule {
        // quota::TPM_MESSAGE.
        name: "tokens-per-minute",
        matches: |c| c.has(&tpm_key()),
        explain: tokens_per_minute,
    },
    Rule {
        // quota::RPM_MESSAGE; literal: "rate exceeded" (other services' throttling text).
        name: "requests-per-minute",
        matches: |c| {
            c.has(&rpm_key())
                || c.code_is(&["ThrottlingException", "ThrottledException"])
                || c.has("rate exceeded")
        },
        explain: requests_per_minute,
    },
    Rule {
        // Code only.
        name: "service-quota",
        matches: |c| c.code_is(&["ServiceQuotaExceededException"]),
        explain: service_quota,
    },
    Rule {
        // quota::FaultKind::Unavailable's message.
        name: "unavailable",
        matches: |c| c.has(&unavailable_key()) || c.code_is(&["ServiceUnavailableException"]),
        explain: unavailable,
    },
    Rule {
        // quota::FaultKind::NotReady's message.
        name: "not-ready",
        matches: |c| c.has(&not_ready_key()) || c.code_is(&["ModelNotReadyException"]),
        explain: not_ready,
    },
    // ---- recognised, but not a gate ----
    Rule {
        // checks::request::NOT_CHAT.
        name: "not-chat",
        matches: |c| c.has_either_apostrophe(&not_chat_key()),
        explain: not_chat,
    },
    Rule {
        // literal: the models' limit texts, not emitted by the gates.
        name: "model-limit",
        matches: |c| {
            c.has("exceed the model limit")
                || c.has("input is too long")
                || c.has("too many input tokens")
        },
        explain: model_limit,
    },
    Rule {
        // literal: the API's validation texts, not emitted by the gates.
        name: "validation",
        matches: |c| {
            c.has("validation error detected")
                || c.has("validation errors detected")
                || c.has("malformed input request")
        },
        explain: validation,
    },
    Rule {
        // literal: the front door's unknown-operation text, not emitted by the gates.
        name: "unknown-operation",
        matches: |c| c.has("the requested operation is not recognized by the service"),
        explain: unknown_operation,
    },
    Rule {
        // quota::FaultKind::Timeout's message.
        name: "model-timeout",
        matches: |c| c.has(&timeout_key()) || c.code_is(&["ModelTimeoutException"]),
        explain: model_timeout,
    },
];

// ---- the explanations, one per rule ----

const NTP_COMMAND: &str =
    "sudo timedatectl set-ntp true   # Linux; macOS: sudo sntp -sS time.apple.com";

fn signature_time(c: &Ctx, mut f: Facts) -> Explanation {
    let x = c.x;
    let expired = x.has("signature expired:");
    if let Some(rest) = x.after(if expired {
        "Signature expired: "
    } else {
        "Signature not yet current: "
    }) {
        let signed = token(rest);
        let now = rest
            .find('(')
            .map(|i| token(&rest[i + 1..]))
            .unwrap_or_default();
        if let (Some(a), Some(b)) = (amz_time(&signed), amz_time(&now)) {
            let d = b - a;
            f.clock_skew = Some(if d >= 0 {
                format!(
                    "client clock {} behind (signed {signed}, server time {now})",
                    human_duration(d)
                )
            } else {
                format!(
                    "client clock {} ahead (signed {signed}, server time {now})",
                    human_duration(d)
                )
            });
        }
    }
    out(
        Some(Gate::Credentials),
        format!(
            "the request was signed at a time more than 5 minutes {} AWS's clock: the client's clock is wrong (or the request was replayed late).",
            if expired { "before" } else { "after" }
        ),
        f,
        "Synchronise the client's clock with NTP, then retry (SigV4 signatures are valid for 5 minutes either side).",
        Some(NTP_COMMAND.into()),
    )
}

/// The User Guide's `RequestExpired` (bedrock-facts §1.5): the request's date stamp (or a
/// presigned URL's expiry) is too far from AWS's clock.
fn request_expired(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the request reached AWS too long after its date stamp or expiry (or the stamp is in the future): the client's clock is wrong, or a presigned request was used late.",
        f,
        "Synchronise the client's clock with NTP and sign the request again.",
        Some(NTP_COMMAND.into()),
    )
}

fn expired_token(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the temporary credentials (session token from SSO, AssumeRole or an instance role) have expired.",
        f,
        "Get fresh credentials: log in to SSO again, or assume the role again; long-running programs should use a refreshing credential provider instead of exported keys.",
        Some("aws sso login   # or: aws sts assume-role … and export the new keys and AWS_SESSION_TOKEN".into()),
    )
}

fn api_key_format(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the request carried a bearer token that is not an Amazon Bedrock API key (those start with ABSK or bedrock-api-key-): often an OpenAI or other provider's key, a JWT or an SSO token in AWS_BEARER_TOKEN_BEDROCK or OPENAI_API_KEY. The AWS SDKs send AWS_BEARER_TOKEN_BEDROCK in preference to SigV4 credentials whenever it is set.",
        f,
        "Put a Bedrock API key in AWS_BEARER_TOKEN_BEDROCK (or the OpenAI SDK's api_key), or unset it so the SDK signs with your AWS credentials.",
        Some("unset AWS_BEARER_TOKEN_BEDROCK   # or: export AWS_BEARER_TOKEN_BEDROCK=$(bedrock-gates api-key --region us-east-1)".into()),
    )
}

fn api_key_invalid(c: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the Bedrock API key did not authenticate: a long-term key that was deleted, reset, deactivated or has expired, a short-term key past its 12 hours (or its signing session's end), a short-term key used in another Region than the one it was made for, or a key cut short when copied.",
        f,
        "Generate a new key for the Region you call (short-term), or check the long-term key's status with list-service-specific-credentials and reactivate or recreate it.",
        Some(format!(
            "export AWS_BEARER_TOKEN_BEDROCK=$(bedrock-gates api-key --region {})",
            c.region.as_deref().unwrap_or("us-east-1")
        )),
    )
}

fn bearer_not_here(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "a bearer token (a Bedrock API key) was sent to a service that takes only SigV4 signatures: API keys work with bedrock and bedrock-runtime only, not with IAM, STS or any other service. The AWS SDKs never do this with AWS_BEARER_TOKEN_BEDROCK; a client or proxy that sets Authorization: Bearer itself does.",
        f,
        "Call IAM and STS with AWS credentials (an access key, a profile, SSO); keep the API key for Bedrock calls.",
        Some("aws configure list && aws sts get-caller-identity".into()),
    )
}

fn api_key_iam(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Iam),
        "the key authenticated, but its principal may not use API keys: no policy allows bedrock:CallWithBearerToken, or a Deny does (an SCP that blocks API keys, or only long-term ones with bedrock:BearerTokenType = LONG_TERM). SigV4 credentials of the same principal are not asked for this action.",
        f,
        "Allow bedrock:CallWithBearerToken for the principal (AmazonBedrockLimitedAccess includes it), or call with SigV4 credentials if your organization blocks API keys on purpose.",
        Some("aws iam put-user-policy --user-name USER --policy-name BedrockApiKeys --policy-document '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"bedrock:CallWithBearerToken\",\"Resource\":\"*\"}]}'".into()),
    )
}

fn invalid_token(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "AWS does not recognise the access key ID, or the session token does not belong to it: a deleted or mistyped key, keys from another account or partition, or temporary keys (ASIA…) sent without their AWS_SESSION_TOKEN (or with a stale one).",
        f,
        "Check which credentials the client actually uses and that they are current; for temporary keys set AWS_SESSION_TOKEN too.",
        Some("aws configure list && aws sts get-caller-identity".into()),
    )
}

fn signature_mismatch(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the signature does not match: the secret access key does not belong to the access key ID (mistyped, rotated, trailing whitespace), or something changed the request after it was signed (a proxy rewriting headers or the path).",
        f,
        "Re-enter the secret access key for this access key ID, and make sure nothing between the client and AWS rewrites the request.",
        Some("aws configure   # re-enter AWS Secret Access Key; then: aws sts get-caller-identity".into()),
    )
}

fn scope_region(c: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the request was signed for a Region the endpoint does not accept: the SDK's Region and the endpoint's Region differ, or the Region name is mistyped.",
        f,
        "Use one Region for both signing and the endpoint: set AWS_REGION (or region_name / --region) to the Region of the endpoint you call, and drop a hard-coded endpoint URL of another Region.",
        Some(format!("export AWS_REGION={}", c.region.as_deref().unwrap_or("us-east-1"))),
    )
}

fn scope_service(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the request was signed for another service than the one that received it (e.g. signed for bedrock-runtime's neighbour, or a custom endpoint routes to the wrong service).",
        f,
        "Sign with the service name of the endpoint: `bedrock` for both bedrock and bedrock-runtime; check any custom endpoint or proxy configuration.",
        None,
    )
}

fn missing_auth_token(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the request was not signed at all: the client sent no Authorization header (no credentials configured for a raw HTTP call), or the URL names no real operation.",
        f,
        "Call through an AWS SDK or the CLI with credentials configured, and check the request path.",
        Some("aws configure list".into()),
    )
}

fn no_credentials(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the SDK found no credentials in its chain (environment, shared config/credentials files, SSO, container or instance role).",
        f,
        "Configure credentials: `aws configure` (access keys), `aws configure sso` then `aws sso login` (IAM Identity Center), or set AWS_PROFILE to a profile that has them.",
        Some("aws configure list-profiles && aws sts get-caller-identity".into()),
    )
}

fn incomplete_signature(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Credentials),
        "the Authorization header is malformed or incomplete (hand-built signing, or an access key ID with stray characters).",
        f,
        "Sign with an AWS SDK; check the access key ID for whitespace or quotes.",
        Some("aws configure list".into()),
    )
}

fn marketplace_first_use(c: &Ctx, mut f: Facts) -> Explanation {
    if let Some(d) = parse_denial(c.x) {
        if d.principal.is_some() {
            f.principal = d.principal.clone();
        }
        f.action = Some(d.action.clone());
        f.policy_type = d.layer.map(str::to_string);
    }
    let doc = PolicyDocument {
        statements: vec![generate::marketplace_statement()],
    };
    let minutes = if c.has("after 15 minutes") { 15 } else { 5 };
    out(
        Some(Gate::ModelAccess),
        format!(
            "the first call to a third-party model starts its AWS Marketplace subscription, and the caller{} may not perform aws-marketplace:ViewSubscriptions and aws-marketplace:Subscribe, so the subscription could not be completed.",
            f.principal.as_deref().map(|p| format!(" ({p})")).unwrap_or_default()
        ),
        f.clone(),
        format!(
            "Allow aws-marketplace:Subscribe and aws-marketplace:ViewSubscriptions (via Bedrock) to whoever makes the first call, then retry after {minutes} minutes; once subscribed, every principal of the account can call the model without them."
        ),
        Some(put_policy_command(f.principal.as_deref(), "bedrock-marketplace-first-use", &doc)),
    )
}

fn marketplace_subscribing(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::ModelAccess),
        "the AWS Marketplace subscription that the first call started is still being created.",
        f,
        "Wait a few minutes (up to 15) and retry; nothing to change.",
        None,
    )
}

fn use_case_form(c: &Ctx, mut f: Facts) -> Explanation {
    if let Some(rest) = c.x.after("https://") {
        let host = token(rest);
        if let Some(r) = host
            .split('.')
            .next()
            .filter(|r| c.catalog.is_known_region(r))
        {
            f.region.get_or_insert_with(|| r.to_string());
        }
    }
    let command = use_case_command(f.region.as_deref());
    out(
        Some(Gate::ModelAccess),
        "Anthropic models need the account's use-case details (the first-time-use form) before the first call, and this account has not submitted them.",
        f,
        "Submit the form once for the account (or once at the Organizations management account, which covers member accounts; opt-in Regions need it again), then retry (allow up to 15 minutes).",
        Some(command),
    )
}

/// The model is gone in every Region: the Region gate's refusal (gates::checks::region).
fn end_of_life(c: &Ctx, f: Facts) -> Explanation {
    let r_or = &c.r_or;
    out(
        Some(Gate::Region),
        format!("the model{} has reached its end of life and is no longer served.", f.model.as_deref().map(|m| format!(" {m}")).unwrap_or_default()),
        f.clone(),
        "Move to a current model of the same family.",
        Some(format!("aws bedrock list-foundation-models --region {r_or} --by-provider {} --query 'modelSummaries[?modelLifecycle.status==`ACTIVE`].modelId'", f.model.as_deref().and_then(|m| m.split('.').next()).unwrap_or("anthropic"))),
    )
}

fn legacy(c: &Ctx, f: Facts) -> Explanation {
    let r_or = &c.r_or;
    out(
        Some(Gate::ModelAccess),
        "the model is Legacy and the account has not used it recently (15 or 30 days), so access to it was withdrawn.",
        f,
        "Upgrade to an active model; Legacy models stay available only to accounts that keep using them.",
        Some(format!("aws bedrock list-foundation-models --region {r_or} --query 'modelSummaries[?modelLifecycle.status==`ACTIVE`].modelId'")),
    )
}

fn no_access(c: &Ctx, f: Facts) -> Explanation {
    let r_or = &c.r_or;
    let m = f.model.clone().unwrap_or_else(|| "<model-id>".into());
    out(
        Some(Gate::ModelAccess),
        "the account has no access to this model in the Region the call was signed for: access was never granted there (console-era access is per Region), the provider's offer was not accepted, or the Marketplace entitlement is missing.",
        f,
        format!("Check the model's availability in this Region; where entitlementAvailability or agreementAvailability is not AVAILABLE, accept the offer: `aws bedrock list-foundation-model-agreement-offers --model-id {m} --region {r_or}` then `aws bedrock create-foundation-model-agreement --model-id {m} --offer-token <token> --region {r_or}`. Also make sure the Region is the one you meant."),
        Some(format!("aws bedrock get-foundation-model-availability --model-id {m} --region {r_or}")),
    )
}

fn prompt_resource(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::ModelAccess),
        "the call named a Prompt management resource (a prompt ARN as modelId), which this account may not invoke that way.",
        f,
        "Call the model directly (model ID or inference profile as modelId) and send the prompt's text, or use a prompt that is published for runtime use in this account and Region.",
        None,
    )
}

fn not_authorized_2023(c: &Ctx, f: Facts) -> Explanation {
    let r_or = &c.r_or;
    let m = f.model.clone().unwrap_or_else(|| "<model-id>".into());
    out(
        Some(Gate::ModelAccess),
        "the account has no access to this model (2023 wording of the model-access refusal).",
        f,
        "Check the model's availability and accept its offer in this Region.",
        Some(format!(
            "aws bedrock get-foundation-model-availability --model-id {m} --region {r_or}"
        )),
    )
}

fn account_not_authorized(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::ModelAccess),
        "the account is not allowed to access this model (an account-level restriction, e.g. a new account or a provider's screening).",
        f,
        "Open a case with AWS Support (Service: Amazon Bedrock) naming the model and Region.",
        None,
    )
}

fn agreement_failed(c: &Ctx, f: Facts) -> Explanation {
    let r_or = &c.r_or;
    out(
        Some(Gate::ProviderTerms),
        "the provider's AWS Marketplace agreement for this model failed or is still pending.",
        f.clone(),
        "Check the agreement status and accept the offer again; a failed agreement often means a missing payment method or Marketplace permission.",
        Some(format!("aws bedrock get-foundation-model-availability --model-id {} --region {r_or}", f.model.as_deref().unwrap_or("<model-id>"))),
    )
}

fn operation_not_allowed(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::ModelAccess),
        "the account is blocked from this operation at account level (seen on new or not yet verified accounts, and accounts without a valid payment method).",
        f,
        "Check the account's payment method and verification; if they are fine, open a case with AWS Support (Service: Amazon Bedrock).",
        None,
    )
}

fn availability_record(c: &Ctx, mut f: Facts) -> Explanation {
    let r_or = &c.r_or;
    let Some(j) = &c.x.json else {
        return unrecognised(c, f);
    };
    if let Some(m) = j.get("modelId").and_then(Value::as_str) {
        f.model = Some(m.to_string());
    }
    let m = f.model.clone().unwrap_or_else(|| "<model-id>".into());
    let s = |p: &str| j.pointer(p).and_then(Value::as_str).unwrap_or("");
    if s("/regionAvailability") == "NOT_AVAILABLE" {
        let (fix, command) = region_fix(&f, c.catalog);
        return out(Some(Gate::Region), "regionAvailability is NOT_AVAILABLE: the model is not offered in the Region this was asked in.", f, fix, command);
    }
    if s("/authorizationStatus") == "NOT_AUTHORIZED" {
        return out(Some(Gate::Iam), "authorizationStatus is NOT_AUTHORIZED: IAM does not let the caller invoke the model.", f, format!("Allow bedrock:InvokeModel on the model (`bedrock-gates policy generate --model {m} --region {r_or}`)."), None);
    }
    if s("/entitlementAvailability") == "NOT_AVAILABLE" {
        return out(Some(Gate::ModelAccess), "entitlementAvailability is NOT_AVAILABLE: the account is not entitled to the model (no access grant, or no Marketplace subscription yet: the first call subscribes when the caller may aws-marketplace:Subscribe).", f, "Make the first call with a principal allowed aws-marketplace:Subscribe and ViewSubscriptions, or accept the offer.", Some(format!("aws bedrock list-foundation-model-agreement-offers --model-id {m} --region {r_or}")));
    }
    let ag = s("/agreementAvailability/status");
    if ag == "PENDING" || ag == "ERROR" || ag == "NOT_AVAILABLE" {
        return out(Some(Gate::ProviderTerms), format!("agreementAvailability is {ag}: the provider's offer (EULA) is not accepted{}.", j.pointer("/agreementAvailability/errorMessage").and_then(Value::as_str).map(|e| format!(" ({e})")).unwrap_or_default()), f, "Accept the provider's offer in this Region.", Some(format!("aws bedrock create-foundation-model-agreement --model-id {m} --offer-token \"$(aws bedrock list-foundation-model-agreement-offers --model-id {m} --region {r_or} --query 'offers[0].offerToken' --output text)\" --region {r_or}")));
    }
    out(None, "the availability record shows every field AVAILABLE/AUTHORIZED: model access is not what refuses.", f, format!("Run `bedrock-gates doctor --model {m} --region {r_or}` to test the other gates."), None)
}

fn iam(c: &Ctx, f: Facts) -> Explanation {
    match parse_denial(c.x) {
        Some(d) => iam_explanation(d, f, c.x, c.catalog),
        None => unrecognised(c, f),
    }
}

fn profile_only(c: &Ctx, mut f: Facts) -> Explanation {
    let (region, r_or) = (&c.region, &c.r_or);
    if let Some(rest) = c.x.after("Invocation of model ID ") {
        let id = token(rest);
        identifier_facts(&id, &mut f, c.catalog);
        f.model = Some(id);
    }
    let m = f.model.clone().unwrap_or_else(|| "<model-id>".into());
    let profiles: Vec<String> = match region {
        Some(r) => c
            .catalog
            .profiles_in_region(r)
            .filter(|p| p.model_id == m)
            .map(|p| p.id.clone())
            .collect(),
        None => c
            .catalog
            .profiles_for_model(&m)
            .map(|p| p.id.clone())
            .collect(),
    };
    let first = profiles
        .first()
        .cloned()
        .unwrap_or_else(|| format!("us.{m}"));
    out(
        Some(Gate::Region),
        format!("{m} is offered{} only through cross-Region inference profiles, and the call named the bare model ID.", region.as_deref().map(|r| format!(" in {r}")).unwrap_or_default()),
        f.clone(),
        format!(
            "Call it by an inference profile ID{}: {}. IAM must allow the profile ARN and the model ARN in every destination Region (`bedrock-gates policy generate --model {m} --region {r_or} --profile-prefix {}`).",
            if region.is_some() { " callable from this Region" } else { "" },
            if profiles.is_empty() { first.clone() } else { profiles.join(", ") },
            first.split('.').next().unwrap_or("us"),
        ),
        Some(format!("aws bedrock-runtime converse --region {r_or} --model-id {first} --messages {HI}")),
    )
}

fn invalid_model_id(c: &Ctx, f: Facts) -> Explanation {
    let (fix, command) = region_fix(&f, c.catalog);
    out(
        Some(Gate::Region),
        format!(
            "the model identifier{} names nothing callable in the Region the request was signed for{}: the model is not offered there, the profile prefix belongs to another geography, or the ID is misspelled.",
            f.inference_profile.as_deref().or(f.model.as_deref()).map(|m| format!(" {m}")).unwrap_or_default(),
            c.region.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
        ),
        f,
        fix,
        command,
    )
}

fn provisioned_only(c: &Ctx, f: Facts) -> Explanation {
    let r_or = &c.r_or;
    let base = f.model.as_deref().map(|m| {
        let parts: Vec<&str> = m.split(':').collect();
        if parts.len() > 2 {
            parts[..2].join(":")
        } else {
            m.to_string()
        }
    });
    out(
        Some(Gate::Region),
        "the model ID names a variant (such as a context-length variant ending in :28k or :200k) that is offered only with Provisioned Throughput, not on demand.",
        f.clone(),
        format!("Call the base model ID{} on demand, or buy Provisioned Throughput for the variant.", base.as_deref().map(|b| format!(" ({b})")).unwrap_or_default()),
        base.map(|b| format!("aws bedrock-runtime converse --region {r_or} --model-id {b} --messages {HI}")),
    )
}

fn model_not_found(c: &Ctx, f: Facts) -> Explanation {
    let r_or = &c.r_or;
    out(
        Some(Gate::Region),
        "the model ID does not name a model Bedrock knows (a made-up variant or a typo).",
        f,
        "Use an ID exactly as ListFoundationModels reports it in this Region.",
        Some(format!(
            "aws bedrock list-foundation-models --region {r_or} --query 'modelSummaries[].modelId'"
        )),
    )
}

fn no_region(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Region),
        "the client has no Region configured, so it cannot choose an endpoint or sign.",
        f,
        "Set a Bedrock Region: AWS_REGION, `region` in the profile, or the client's region parameter.",
        Some("export AWS_REGION=us-east-1".into()),
    )
}

fn no_endpoint(c: &Ctx, mut f: Facts) -> Explanation {
    let Some(r) = unknown_host_region(c) else {
        return unrecognised(c, f);
    };
    f.region = Some(r.clone());
    out(
        Some(Gate::Region),
        format!("{r} has no Bedrock endpoint (not a Bedrock Region, or a misspelled Region name)."),
        f,
        format!(
            "Use a Region where Bedrock runs, e.g. {}.",
            ["us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"].join(", ")
        ),
        Some("export AWS_REGION=us-east-1".into()),
    )
}

fn tokens_per_day(_: &Ctx, f: Facts) -> Explanation {
    out(Some(Gate::Quota), "the account used up its tokens-per-day quota for this model in this Region.", f.clone(), format!("Wait for the daily window to reset, use another Region or a cross-Region inference profile, or request a higher quota. {QUOTA_FIX}"), Some(quota_command(&f)))
}

fn tokens_per_minute(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Quota),
        "the tokens-per-minute quota for this model in this Region is exhausted.",
        f.clone(),
        QUOTA_FIX,
        Some(quota_command(&f)),
    )
}

fn requests_per_minute(_: &Ctx, f: Facts) -> Explanation {
    out(Some(Gate::Quota), "the requests-per-minute quota for this model in this Region is exhausted (or Bedrock throttled the call).", f.clone(), QUOTA_FIX, Some(quota_command(&f)))
}

fn service_quota(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Quota),
        "a service quota of the account is exhausted.",
        f.clone(),
        "Request a quota increase in Service Quotas, or lower the usage.",
        Some(quota_command(&f)),
    )
}

fn unavailable(_: &Ctx, f: Facts) -> Explanation {
    out(Some(Gate::Quota), "Bedrock had no capacity for the call at that moment (a capacity refusal, not your quota).", f, "Retry with backoff, or send the call through a cross-Region inference profile that spreads it over several Regions.", None)
}

fn not_ready(_: &Ctx, f: Facts) -> Explanation {
    out(
        Some(Gate::Quota),
        "the model was loading or scaling and could not take the call.",
        f,
        "Retry with backoff (the SDKs retry this error automatically up to 5 times).",
        None,
    )
}

fn not_chat(_: &Ctx, f: Facts) -> Explanation {
    out(None, "not a gate: the operation does not support this model (e.g. an embedding or image model sent to Converse).", f, "Call embedding and image models with InvokeModel and the provider's native body; use Converse for text and chat models.", None)
}

fn model_limit(_: &Ctx, f: Facts) -> Explanation {
    out(None, "not a gate: the request exceeds one of the model's limits (maximum tokens or input length).", f, "Lower maxTokens / the input size to the model's limit named in the message.", None)
}

fn validation(_: &Ctx, f: Facts) -> Explanation {
    out(None, "not a gate: a request parameter fails the API's validation (the message names the member and the constraint).", f, "Fix the named parameter; model IDs must match the documented pattern.", None)
}

fn unknown_operation(_: &Ctx, f: Facts) -> Explanation {
    out(None, "not a gate: the endpoint does not have this operation (an SDK too old for it, or the request went to the wrong endpoint, e.g. bedrock instead of bedrock-runtime).", f, "Upgrade the SDK/CLI and check any custom endpoint URL.", Some("pip install -U boto3 awscli   # or your SDK's update".into()))
}

fn model_timeout(_: &Ctx, f: Facts) -> Explanation {
    out(
        None,
        "not a gate: the model took too long to answer.",
        f,
        "Retry, or ask for a shorter answer (lower maxTokens).",
        None,
    )
}

/// No rule matched: never a guess.
fn unrecognised(c: &Ctx, f: Facts) -> Explanation {
    let code = &c.code;
    let cause = if c.code_is(&["AccessDeniedException", "AccessDenied"]) {
        "an AccessDeniedException whose message this tool does not recognise; it can come from IAM or from model access, so no gate is named.".to_string()
    } else if !code.is_empty() {
        format!("{code}: a message this tool does not recognise.")
    } else {
        "not an AWS error this tool recognises.".to_string()
    };
    let m = f.model.clone().unwrap_or_else(|| "<model-id>".into());
    out(
        None,
        cause,
        f,
        format!(
            "Walk the gates against the account: `bedrock-gates doctor --model {m}{}`.",
            c.region
                .as_deref()
                .map(|r| format!(" --region {r}"))
                .unwrap_or_default()
        ),
        None,
    )
}

#[cfg(test)]
mod tests;

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// The human form: a two-column table.
pub fn render(e: &Explanation, style: crate::style::Style) -> String {
    use crate::style::{indent_rest, pad};
    let w = 10;
    let mut out = String::new();
    let gate = match e.gate {
        Some(_) => style.red(e.gate_name()),
        None => style.yellow(e.gate_name()),
    };
    out.push_str(&format!("{}{gate}\n", style.bold(&pad("gate", w))));
    out.push_str(&format!(
        "{}{}\n",
        style.bold(&pad("cause", w)),
        indent_rest(&e.cause, w)
    ));
    let v = serde_json::to_value(&e.facts).unwrap_or(Value::Null);
    if let Some(map) = v.as_object().filter(|m| !m.is_empty()) {
        let order = [
            "error_code",
            "http_status",
            "operation",
            "principal",
            "action",
            "resource",
            "region",
            "model",
            "inference_profile",
            "policy_type",
            "explicit_deny",
            "policy_arn",
            "clock_skew",
            "request_id",
            "message",
        ];
        let mut first = true;
        for k in order {
            let Some(val) = map.get(k) else { continue };
            let text = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let label = if first {
                pad("facts", w)
            } else {
                " ".repeat(w)
            };
            first = false;
            out.push_str(&format!(
                "{}{}{}\n",
                style.bold(&label),
                style.dim(&pad(&k.replace('_', " "), 18)),
                indent_rest(&text, w + 18)
            ));
        }
    }
    out.push_str(&format!(
        "{}{}\n",
        style.bold(&pad("fix", w)),
        indent_rest(&e.fix, w)
    ));
    if let Some(c) = &e.command {
        out.push_str(&format!(
            "{}{}\n",
            style.bold(&pad("command", w)),
            indent_rest(c, w)
        ));
    }
    out
}

#[cfg(test)]
mod cloudtrail_tests {
    use super::*;

    const DENIED: &str = "User: arn:aws:iam::111111111111:user/nobody is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 because no identity-based policy allows the bedrock:InvokeModel action";

    fn record() -> Value {
        json!({"eventVersion": "1.11", "eventSource": "bedrock.amazonaws.com", "eventName": "Converse",
               "awsRegion": "us-east-1", "errorCode": "AccessDenied", "errorMessage": DENIED,
               "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/nobody"},
               "requestParameters": {"modelId": "amazon.nova-lite-v1:0"}})
    }

    #[test]
    fn a_cloudtrail_record_in_every_shape_names_its_gate() {
        let rec = record();
        let inner = rec.to_string();
        let shapes = [
            inner.clone(),
            Value::String(inner.clone()).to_string(),
            json!({"EventId": "x", "CloudTrailEvent": inner}).to_string(),
            json!({"Events": [{"CloudTrailEvent": inner}]}).to_string(),
        ];
        for s in shapes {
            let e = explain(&s);
            assert_eq!(e.gate, Some(Gate::Iam), "{s}");
            assert_eq!(e.facts.region.as_deref(), Some("us-east-1"));
            assert_eq!(e.facts.error_code.as_deref(), Some("AccessDeniedException"));
        }
        assert_eq!(explain(&inner).to_json(), explain(&format!("An error occurred (AccessDeniedException) when calling the Converse operation: {DENIED}")).to_json());
    }

    #[test]
    fn an_admitted_event_has_no_gate() {
        let mut rec = record();
        rec.as_object_mut().unwrap().remove("errorCode");
        let e = explain(&rec.to_string());
        assert_eq!(e.gate, None);
        assert!(e.cause.contains("succeeded"), "{}", e.cause);
    }
}
