//! The doctor's own client for the five read-only IAM and Bedrock control-plane calls it makes
//! (`SimulatePrincipalPolicy`, `GetRole`; `GetFoundationModel`, `GetFoundationModelAvailability`,
//! `GetInferenceProfile`, `GetUseCaseForModelAccess`).
//!
//! aws-sdk-iam and aws-sdk-bedrock were more than four minutes of a first release build (issue
//! 16) for these six requests. What the SDK did for them is kept here, from the same parts:
//! the credentials, Region and per-service endpoint settings of the `SdkConfig` the doctor
//! already loads (`AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL_BEDROCK`, `AWS_ENDPOINT_URL`,
//! `--endpoint-url`, the profile's `services` sections, `AWS_BEARER_TOKEN_BEDROCK`), the
//! `aws-sigv4` signer, the SDK's own HTTPS connector (aws-smithy-http-client: the same hyper,
//! rustls, roots and `SSL_CERT_FILE` as the STS and runtime clients), aws-smithy-xml for IAM's
//! awsQuery answers and serde for Bedrock's restJson1 ones. Failures are `SdkError`s built with
//! the SDK's own constructors, so the doctor reads their code, message and transport text as
//! before.

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::error::ErrorMetadata;
use aws_types::service_config::ServiceConfigKey;
use aws_types::SdkConfig;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The TLS stack of every HTTPS connection the doctor opens: rustls on ring, serve's.
pub(crate) const TLS: tls::Provider = tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring);

/// The HTTPS client of the SDK configuration (STS, bedrock-runtime and the credential
/// providers that call out: SSO, IMDS, web identity): the SDK crates are built without their
/// default client (aws-lc-rs), so aws-config is given this one.
pub fn https() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(TLS)
        .build_https()
}

/// A refusal from the service, in the SDK's terms: its code and message.
#[derive(Debug)]
pub(super) struct ServiceError {
    meta: ErrorMetadata,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.meta.code(), self.meta.message()) {
            (Some(c), Some(m)) => write!(f, "{c}: {m}"),
            (Some(c), None) => f.write_str(c),
            (None, Some(m)) => f.write_str(m),
            (None, None) => f.write_str("unhandled error"),
        }
    }
}

impl std::error::Error for ServiceError {}

impl ProvideErrorMetadata for ServiceError {
    fn meta(&self) -> &ErrorMetadata {
        &self.meta
    }
}

/// A failed call, as the SDK's clients report one.
pub(super) type Failure = SdkError<ServiceError, HttpResponse>;

/// What the calls of one run share: the connector, the credentials (resolved once, as the SDK's
/// identity cache does), the Region and the time allowed per call.
struct Shared {
    http: SharedHttpConnector,
    provider: Option<SharedCredentialsProvider>,
    credentials: tokio::sync::OnceCell<Result<Credentials, String>>,
    operation_timeout: Duration,
}

/// One service's endpoint and how its requests are authorized.
#[derive(Clone)]
struct Service {
    shared: Arc<Shared>,
    endpoint: String,
    signing_region: String,
    signing_name: &'static str,
    /// `Authorization: Bearer` instead of SigV4 (Bedrock with `AWS_BEARER_TOKEN_BEDROCK`).
    bearer: Option<String>,
}

/// The endpoint the SDK would use for `service_id`: an endpoint set in code (`--endpoint-url`)
/// wins; else the service's own setting (`AWS_ENDPOINT_URL_<SERVICE>`, the profile's
/// `services` section), else the global one (`AWS_ENDPOINT_URL`, the profile's
/// `endpoint_url`), as the generated `From<&SdkConfig>` of each SDK crate resolves it.
fn configured_endpoint(conf: &SdkConfig, service_id: &str) -> Option<String> {
    if conf.get_origin("endpoint_url").is_client_config() {
        return conf.endpoint_url().map(str::to_string);
    }
    conf.service_config()
        .and_then(|c| c.load_config(key(service_id, "AWS_ENDPOINT_URL", "endpoint_url")))
        .or_else(|| conf.endpoint_url().map(str::to_string))
}

fn key<'a>(service_id: &'a str, env: &'a str, profile: &'a str) -> ServiceConfigKey<'a> {
    ServiceConfigKey::builder()
        .service_id(service_id)
        .env(env)
        .profile(profile)
        .build()
        .expect("every field is set")
}

/// The partition's DNS suffix for a Region (the SDK's partitions: aws, aws-cn, aws-us-gov).
fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// IAM's global endpoint and the Region it signs for, from aws-sdk-iam's endpoint rules (FIPS
/// and dual-stack endpoints are not offered: the doctor's SDK configuration sets neither).
fn iam_endpoint(region: &str) -> (String, String) {
    let (url, signing) = if region.starts_with("cn-") {
        ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1")
    } else if region.starts_with("us-gov-") {
        ("https://iam.us-gov.amazonaws.com", "us-gov-west-1")
    } else {
        ("https://iam.amazonaws.com", "us-east-1")
    };
    (url.to_string(), signing.to_string())
}

/// The IAM and Bedrock control-plane clients of one run, from the doctor's SDK configuration.
pub(super) fn clients(
    conf: &SdkConfig,
    connect_timeout: Duration,
    operation_timeout: Duration,
) -> (Iam, Bedrock) {
    let region = conf.region().map(|r| r.to_string()).unwrap_or_default();
    let settings = HttpConnectorSettings::builder()
        .connect_timeout(connect_timeout)
        .build();
    let http = SharedHttpConnector::new(
        aws_smithy_http_client::Connector::builder()
            .connector_settings(settings)
            .tls_provider(TLS)
            .build(),
    );
    let shared = Arc::new(Shared {
        http,
        provider: conf.credentials_provider(),
        credentials: tokio::sync::OnceCell::new(),
        operation_timeout,
    });
    // With a custom endpoint, IAM's rules name no signing Region: the configured one signs.
    let (iam_url, iam_region) = match configured_endpoint(conf, "IAM") {
        Some(u) => (u, region.clone()),
        None => iam_endpoint(&region),
    };
    let bedrock_url = configured_endpoint(conf, "Bedrock")
        .unwrap_or_else(|| format!("https://bedrock.{region}.{}", dns_suffix(&region)));
    // aws-sdk-bedrock reads AWS_BEARER_TOKEN_BEDROCK from the environment (not from profiles)
    // and then authorizes with it instead of SigV4; an empty value is taken as unset, as the
    // doctor's credentials gate takes it.
    let bearer = conf
        .service_config()
        .and_then(|c| c.load_config(key("bedrock", "AWS_BEARER_TOKEN", "")))
        .filter(|t| !t.trim().is_empty());
    let iam = Service {
        shared: shared.clone(),
        endpoint: iam_url,
        signing_region: iam_region,
        signing_name: "iam",
        bearer: None,
    };
    let bedrock = Service {
        shared,
        endpoint: bedrock_url,
        signing_region: region,
        signing_name: "bedrock",
        bearer,
    };
    (Iam(iam), Bedrock(bedrock))
}

/// A response read whole: status, the error type header and the body.
struct Answer {
    status: u16,
    error_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn raw(&self) -> HttpResponse {
        HttpResponse::new(
            self.status
                .try_into()
                .expect("a status code hyper accepted"),
            SdkBody::from(self.body.clone()),
        )
    }

    fn service_error(&self, meta: ErrorMetadata) -> Failure {
        SdkError::service_error(ServiceError { meta }, self.raw())
    }

    /// An answer the client could not read: the SDK's "response error".
    fn unreadable(&self, why: impl Into<String>) -> Failure {
        SdkError::response_error(why.into(), self.raw())
    }
}

impl Service {
    async fn credentials(&self) -> Result<Credentials, Failure> {
        let s = &self.shared;
        let r = s
            .credentials
            .get_or_init(|| async {
                let Some(p) = &s.provider else {
                    return Err("no credentials provider in the AWS configuration".to_string());
                };
                p.provide_credentials().await.map_err(|e| {
                    aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()
                })
            })
            .await;
        r.clone().map_err(SdkError::construction_failure)
    }

    /// Send one request (path and query after the endpoint), signed or with the bearer token,
    /// within the operation timeout.
    async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, Failure> {
        let timeout = self.shared.operation_timeout;
        match tokio::time::timeout(
            timeout,
            self.exchange(method, path_and_query, content_type, body),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(SdkError::timeout_error(format!(
                "operation timeout (all attempts including retries) occurred after {timeout:?}"
            ))),
        }
    }

    async fn exchange(
        &self,
        method: &str,
        path_and_query: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<Answer, Failure> {
        let url = format!("{}{path_and_query}", self.endpoint.trim_end_matches('/'));
        let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| {
            SdkError::construction_failure(format!("invalid endpoint URL {url}: {e}"))
        })?;
        let Some(host) = uri.authority().map(|a| a.as_str().to_string()) else {
            return Err(SdkError::construction_failure(format!(
                "invalid endpoint URL {url}: no host"
            )));
        };
        let mut headers: Vec<(&str, String)> = vec![("host", host)];
        if let Some(t) = content_type {
            headers.push(("content-type", t.to_string()));
        }
        if !body.is_empty() {
            headers.push(("content-length", body.len().to_string()));
        }
        headers.push((
            "user-agent",
            concat!("bedrock-gates/", env!("CARGO_PKG_VERSION"), " doctor").to_string(),
        ));
        let mut req = http::Request::builder().method(method).uri(uri);
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        let mut req = req
            .body(SdkBody::from(body.clone()))
            .map_err(SdkError::construction_failure)?;
        match &self.bearer {
            Some(token) => {
                let v = http::HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    SdkError::construction_failure(
                        "AWS_BEARER_TOKEN_BEDROCK is not a valid header value",
                    )
                })?;
                req.headers_mut().insert(http::header::AUTHORIZATION, v);
            }
            None => self.sign(&mut req, &url, &headers, &body).await?,
        }
        let req = HttpRequest::try_from(req).map_err(SdkError::construction_failure)?;
        let resp = self
            .shared
            .http
            .call(req)
            .await
            .map_err(SdkError::dispatch_failure)?;
        let status = resp.status().as_u16();
        let error_type = resp.headers().get("x-amzn-errortype").map(str::to_string);
        let raw_status = resp.status();
        let body = aws_smithy_types::byte_stream::ByteStream::new(resp.into_body())
            .collect()
            .await
            .map_err(|e| {
                SdkError::response_error(e, HttpResponse::new(raw_status, SdkBody::empty()))
            })?
            .into_bytes()
            .to_vec();
        Ok(Answer {
            status,
            error_type,
            body,
        })
    }

    async fn sign(
        &self,
        req: &mut http::Request<SdkBody>,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<(), Failure> {
        let identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.signing_region)
            .name(self.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(SdkError::construction_failure)?
            .into();
        let signable = SignableRequest::new(
            req.method().as_str(),
            url,
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::Bytes(body),
        )
        .map_err(SdkError::construction_failure)?;
        let (instructions, _) = sign(signable, &params)
            .map_err(SdkError::construction_failure)?
            .into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// IAM (awsQuery)

/// IAM over its awsQuery protocol.
#[derive(Clone)]
pub(super) struct Iam(Service);

/// One `EvaluationResults` member of `SimulatePrincipalPolicy`.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Evaluation {
    pub(super) action: String,
    pub(super) resource: Option<String>,
    pub(super) decision: String,
    /// The `SourcePolicyId` of each matched statement.
    pub(super) matched: Vec<String>,
    /// `OrganizationsDecisionDetail.AllowedByOrganizations`, when the detail is present.
    pub(super) allowed_by_organizations: Option<bool>,
    /// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary`, when present.
    pub(super) allowed_by_boundary: Option<bool>,
}

const IAM_VERSION: &str = "2010-05-08";

fn query_pair(out: &mut String, k: &str, v: &str) {
    out.push('&');
    out.push_str(&bg_sigv4::uri_encode(k));
    out.push('=');
    out.push_str(&bg_sigv4::uri_encode(v));
}

/// The `SimulatePrincipalPolicy` form body: list members numbered from 1, context values typed
/// `string` (the only kind the doctor sends).
pub(super) fn simulate_body(
    source: &str,
    actions: &[String],
    resource: &str,
    context: &[(String, String)],
) -> String {
    let mut b = String::from("Action=SimulatePrincipalPolicy");
    query_pair(&mut b, "Version", IAM_VERSION);
    query_pair(&mut b, "PolicySourceArn", source);
    for (i, a) in actions.iter().enumerate() {
        query_pair(&mut b, &format!("ActionNames.member.{}", i + 1), a);
    }
    query_pair(&mut b, "ResourceArns.member.1", resource);
    for (i, (k, v)) in context.iter().enumerate() {
        let p = format!("ContextEntries.member.{}", i + 1);
        query_pair(&mut b, &format!("{p}.ContextKeyName"), k);
        query_pair(&mut b, &format!("{p}.ContextKeyValues.member.1"), v);
        query_pair(&mut b, &format!("{p}.ContextKeyType"), "string");
    }
    b
}

impl Iam {
    async fn query(&self, body: String, result: &str) -> Result<String, Failure> {
        let a = self
            .0
            .send(
                "POST",
                "/",
                Some("application/x-www-form-urlencoded"),
                body.into_bytes(),
            )
            .await?;
        let text = String::from_utf8_lossy(&a.body).into_owned();
        if !(200..300).contains(&a.status) {
            return Err(a.service_error(query_error(&text)));
        }
        if !text.contains(result) {
            return Err(a.unreadable(format!("expected {result} in the response")));
        }
        Ok(text)
    }

    /// `SimulatePrincipalPolicy` for one resource.
    pub(super) async fn simulate(
        &self,
        source: &str,
        actions: &[String],
        resource: &str,
        context: &[(String, String)],
    ) -> Result<Vec<Evaluation>, Failure> {
        let body = simulate_body(source, actions, resource, context);
        let text = self.query(body, "SimulatePrincipalPolicyResult").await?;
        parse_simulation(&text).map_err(|e| {
            SdkError::response_error(
                e,
                HttpResponse::new(200.try_into().unwrap(), SdkBody::empty()),
            )
        })
    }

    /// `GetRole`: the role's ARN.
    pub(super) async fn role_arn(&self, name: &str) -> Result<Option<String>, Failure> {
        let mut body = String::from("Action=GetRole");
        query_pair(&mut body, "RoleName", name);
        query_pair(&mut body, "Version", IAM_VERSION);
        let text = self.query(body, "GetRoleResult").await?;
        Ok(parse_role_arn(&text))
    }
}

/// `<ErrorResponse><Error><Code/><Message/></Error></ErrorResponse>`: the code and message; an
/// answer without them gives an error with neither, as the SDK's unhandled error does.
pub(super) fn query_error(text: &str) -> ErrorMetadata {
    let mut b = ErrorMetadata::builder();
    let mut doc = aws_smithy_xml::decode::Document::new(text);
    let Ok(mut root) = doc.root_element() else {
        return b.build();
    };
    while let Some(mut tag) = root.next_tag() {
        if !tag.start_el().matches("Error") {
            continue;
        }
        while let Some(mut field) = tag.next_tag() {
            let name = field.start_el().local().to_string();
            let Ok(v) = aws_smithy_xml::decode::try_data(&mut field) else {
                continue;
            };
            match name.as_str() {
                "Code" => b = b.code(v.into_owned()),
                "Message" => b = b.message(v.into_owned()),
                _ => {}
            }
        }
    }
    b.build()
}

type Scoped<'i, 'a> = aws_smithy_xml::decode::ScopedDecoder<'i, 'a>;

/// The text of an element, or the decode error as a string.
fn data(tag: &mut Scoped<'_, '_>) -> Result<String, String> {
    aws_smithy_xml::decode::try_data(tag)
        .map(|v| v.into_owned())
        .map_err(|e| e.to_string())
}

/// The element's first child named `name`, as a boolean (`true`/`false`; anything else false,
/// as the SDK's error correction leaves a required boolean it could not read).
fn bool_child(tag: &mut Scoped<'_, '_>, name: &str) -> Result<bool, String> {
    let mut found = false;
    while let Some(mut c) = tag.next_tag() {
        if c.start_el().matches(name) {
            found = data(&mut c)? == "true";
        }
    }
    Ok(found)
}

/// Calls `f` with each element below `el` at `path` (element names, level by level).
fn each_at(
    el: &mut Scoped<'_, '_>,
    path: &[&str],
    f: &mut dyn FnMut(&mut Scoped<'_, '_>) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return f(el);
    };
    while let Some(mut child) = el.next_tag() {
        if child.start_el().matches(first) {
            each_at(&mut child, rest, f)?;
        }
    }
    Ok(())
}

/// The `EvaluationResults` of a `SimulatePrincipalPolicy` answer: only each member's own
/// fields (its `ResourceSpecificResults` carry fields of the same names).
pub(super) fn parse_simulation(text: &str) -> Result<Vec<Evaluation>, String> {
    let mut doc = aws_smithy_xml::decode::Document::new(text);
    let mut root = doc.root_element().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    each_at(
        &mut root,
        &[
            "SimulatePrincipalPolicyResult",
            "EvaluationResults",
            "member",
        ],
        &mut |m| {
            out.push(evaluation(m)?);
            Ok(())
        },
    )?;
    Ok(out)
}

fn evaluation(member: &mut Scoped<'_, '_>) -> Result<Evaluation, String> {
    let mut e = Evaluation::default();
    while let Some(mut f) = member.next_tag() {
        let name = f.start_el().local().to_string();
        match name.as_str() {
            "EvalActionName" => e.action = data(&mut f)?,
            "EvalResourceName" => e.resource = Some(data(&mut f)?),
            "EvalDecision" => e.decision = data(&mut f)?,
            "MatchedStatements" => each_at(&mut f, &["member", "SourcePolicyId"], &mut |id| {
                e.matched.push(data(id)?);
                Ok(())
            })?,
            "OrganizationsDecisionDetail" => {
                e.allowed_by_organizations = Some(bool_child(&mut f, "AllowedByOrganizations")?)
            }
            "PermissionsBoundaryDecisionDetail" => {
                e.allowed_by_boundary = Some(bool_child(&mut f, "AllowedByPermissionsBoundary")?)
            }
            _ => {}
        }
    }
    Ok(e)
}

/// `GetRoleResult/Role/Arn`.
pub(super) fn parse_role_arn(text: &str) -> Option<String> {
    let mut doc = aws_smithy_xml::decode::Document::new(text);
    let mut root = doc.root_element().ok()?;
    let mut arn = None;
    each_at(&mut root, &["GetRoleResult", "Role", "Arn"], &mut |f| {
        arn = arn.take().or(data(f).ok());
        Ok(())
    })
    .ok()?;
    arn
}

// ---------------------------------------------------------------------------------------------
// Bedrock control plane (restJson1)

/// The Bedrock control plane over restJson1.
#[derive(Clone)]
pub(super) struct Bedrock(Service);

/// `GetFoundationModelAvailability`'s answer. Members the model marks required but an answer
/// lacks read as empty, as the SDK's client-side error correction reads them.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Availability {
    pub(super) agreement_availability: Option<Agreement>,
    pub(super) authorization_status: String,
    pub(super) entitlement_availability: String,
    pub(super) region_availability: String,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Agreement {
    pub(super) status: String,
    pub(super) error_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct FoundationModel {
    pub(super) model_details: Option<ModelDetails>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ModelDetails {
    pub(super) inference_types_supported: Vec<String>,
    pub(super) model_lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Lifecycle {
    pub(super) status: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InferenceProfile {
    pub(super) models: Vec<ProfileModel>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ProfileModel {
    pub(super) model_arn: Option<String>,
}

/// A restJson1 error's code and message, as the SDKs read them: the code from
/// `X-Amzn-Errortype`, else the body's `code` or `__type`, without a namespace (`…#`) or a
/// suffix (`:…`); the message from `message`, `Message` or `errorMessage`.
pub(super) fn json_error(error_type: Option<&str>, body: &[u8]) -> ErrorMetadata {
    fn sanitize(code: &str) -> &str {
        let code = code.split(':').next().unwrap_or(code);
        code.rsplit('#').next().unwrap_or(code)
    }
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| v.get(*n).and_then(|x| x.as_str()).map(str::to_string))
    };
    let code = error_type
        .map(str::to_string)
        .or_else(|| field(&["code", "__type"]));
    let mut b = ErrorMetadata::builder();
    if let Some(c) = code.as_deref().map(sanitize).filter(|c| !c.is_empty()) {
        b = b.code(c);
    }
    if let Some(m) = field(&["message", "Message", "errorMessage"]) {
        b = b.message(m);
    }
    b.build()
}

impl Bedrock {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        let a = self.0.send("GET", path, None, Vec::new()).await?;
        if !(200..300).contains(&a.status) {
            return Err(a.service_error(json_error(a.error_type.as_deref(), &a.body)));
        }
        let body: &[u8] = if a.body.is_empty() { b"{}" } else { &a.body };
        serde_json::from_slice(body).map_err(|e| a.unreadable(e.to_string()))
    }

    pub(super) async fn foundation_model(&self, id: &str) -> Result<FoundationModel, Failure> {
        self.get(&format!("/foundation-models/{}", bg_sigv4::uri_encode(id)))
            .await
    }

    pub(super) async fn availability(&self, model_id: &str) -> Result<Availability, Failure> {
        self.get(&format!(
            "/foundation-model-availability/{}",
            bg_sigv4::uri_encode(model_id)
        ))
        .await
    }

    pub(super) async fn inference_profile(&self, id: &str) -> Result<InferenceProfile, Failure> {
        self.get(&format!("/inference-profiles/{}", bg_sigv4::uri_encode(id)))
            .await
    }

    /// `GetUseCaseForModelAccess`: whether the form is on file (its content is not read).
    pub(super) async fn use_case(&self) -> Result<(), Failure> {
        self.get::<serde_json::Value>("/use-case-for-model-access")
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulation_reads_each_result_and_not_its_resource_specific_results() {
        let xml = r#"<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <SimulatePrincipalPolicyResult>
    <IsTruncated>false</IsTruncated>
    <EvaluationResults>
      <member>
        <EvalActionName>bedrock:InvokeModel</EvalActionName>
        <EvalResourceName>arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0</EvalResourceName>
        <EvalDecision>explicitDeny</EvalDecision>
        <MatchedStatements>
          <member><SourcePolicyId>deny-nova</SourcePolicyId><SourcePolicyType>user</SourcePolicyType></member>
          <member><SourcePolicyId>p2</SourcePolicyId></member>
        </MatchedStatements>
        <ResourceSpecificResults><member>
          <EvalResourceName>other</EvalResourceName><EvalResourceDecision>allowed</EvalResourceDecision>
          <MatchedStatements><member><SourcePolicyId>nested</SourcePolicyId></member></MatchedStatements>
        </member></ResourceSpecificResults>
        <OrganizationsDecisionDetail><AllowedByOrganizations>false</AllowedByOrganizations></OrganizationsDecisionDetail>
        <PermissionsBoundaryDecisionDetail><AllowedByPermissionsBoundary>true</AllowedByPermissionsBoundary></PermissionsBoundaryDecisionDetail>
        <MissingContextValues/>
      </member>
      <member>
        <EvalActionName>aws-marketplace:Subscribe</EvalActionName>
        <EvalDecision>allowed</EvalDecision>
      </member>
    </EvaluationResults>
  </SimulatePrincipalPolicyResult>
  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>
</SimulatePrincipalPolicyResponse>"#;
        let r = parse_simulation(xml).unwrap();
        assert_eq!(
            r,
            vec![
                Evaluation {
                    action: "bedrock:InvokeModel".into(),
                    resource: Some(
                        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0".into()
                    ),
                    decision: "explicitDeny".into(),
                    matched: vec!["deny-nova".into(), "p2".into()],
                    allowed_by_organizations: Some(false),
                    allowed_by_boundary: Some(true),
                },
                Evaluation {
                    action: "aws-marketplace:Subscribe".into(),
                    decision: "allowed".into(),
                    ..Default::default()
                },
            ]
        );
        assert!(parse_simulation("<nope").is_err());
    }

    #[test]
    fn the_form_body_numbers_members_from_one() {
        let b = simulate_body(
            "arn:aws:iam::111111111111:user/dev",
            &[
                "aws-marketplace:Subscribe".into(),
                "aws-marketplace:ViewSubscriptions".into(),
            ],
            "*",
            &[("aws:CalledViaLast".into(), "bedrock.amazonaws.com".into())],
        );
        assert_eq!(
            b,
            "Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Auser%2Fdev\
&ActionNames.member.1=aws-marketplace%3ASubscribe&ActionNames.member.2=aws-marketplace%3AViewSubscriptions\
&ResourceArns.member.1=%2A&ContextEntries.member.1.ContextKeyName=aws%3ACalledViaLast\
&ContextEntries.member.1.ContextKeyValues.member.1=bedrock.amazonaws.com&ContextEntries.member.1.ContextKeyType=string"
        );
    }

    #[test]
    fn errors_read_as_the_sdk_reads_them() {
        let q = query_error("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: x is not authorized</Message></Error><RequestId>r</RequestId></ErrorResponse>");
        assert_eq!(q.code(), Some("AccessDenied"));
        assert_eq!(q.message(), Some("User: x is not authorized"));
        let q = query_error("<html>Bad gateway</html>");
        assert_eq!((q.code(), q.message()), (None, None));

        let j = json_error(
            Some("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
            br#"{"message":"The provided model identifier is invalid."}"#,
        );
        assert_eq!(j.code(), Some("ValidationException"));
        assert_eq!(
            j.message(),
            Some("The provided model identifier is invalid.")
        );
        let j = json_error(
            None,
            br#"{"__type":"com.amazon.bedrock#ResourceNotFoundException","Message":"no form"}"#,
        );
        assert_eq!(j.code(), Some("ResourceNotFoundException"));
        assert_eq!(j.message(), Some("no form"));
        let j = json_error(None, b"<html>");
        assert_eq!((j.code(), j.message()), (None, None));
    }

    #[test]
    fn the_availability_reads_missing_required_members_as_empty() {
        let a: Availability = serde_json::from_str(
            r#"{"modelId":"m","agreementAvailability":{"status":"ERROR","errorMessage":"e"},"entitlementAvailability":"AVAILABLE"}"#,
        )
        .unwrap();
        assert_eq!(
            a,
            Availability {
                agreement_availability: Some(Agreement {
                    status: "ERROR".into(),
                    error_message: Some("e".into())
                }),
                entitlement_availability: "AVAILABLE".into(),
                ..Default::default()
            }
        );
    }

    #[test]
    fn endpoints_follow_the_sdks_rules() {
        assert_eq!(
            iam_endpoint("eu-west-1"),
            ("https://iam.amazonaws.com".into(), "us-east-1".into())
        );
        assert_eq!(iam_endpoint("cn-northwest-1").1, "cn-north-1");
        assert_eq!(iam_endpoint("us-gov-east-1").1, "us-gov-west-1");
        assert_eq!(dns_suffix("cn-north-1"), "amazonaws.com.cn");
    }
}
