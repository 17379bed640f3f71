//! The probes: the read-only calls the doctor makes before the real one, and the SDK clients they use.

use super::*;

pub(super) async fn configured_region(profile: Option<&str>) -> Option<String> {
    if let Some(r) = aws_config::environment::region::EnvironmentVariableRegionProvider::new()
        .region()
        .await
    {
        return Some(r.to_string());
    }
    let mut b = aws_config::profile::region::ProfileFileRegionProvider::builder();
    if let Some(p) = profile {
        b = b.profile_name(p);
    }
    b.build().region().await.map(|r| r.to_string())
}

/// How long a connection may take to open, and a whole call to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The SDK configuration: one attempt, short timeouts, and the options' Region, profile and
/// endpoint.
pub(super) fn sdk_loader(opts: &Options) -> aws_config::ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(aws::https())
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        );
    if let Some(r) = &opts.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    if let Some(k) = &opts.credentials {
        loader = loader.credentials_provider(aws_credential_types::Credentials::new(
            k.access_key_id.clone(),
            k.secret_access_key.clone(),
            k.session_token.clone(),
            None,
            "bedrock-gates-console",
        ));
    }
    loader
}

/// The clients of one run, all from the same SDK configuration.
pub(super) struct Clients {
    pub(super) sts: aws_sdk_sts::Client,
    pub(super) bedrock: aws::Bedrock,
    pub(super) runtime: aws_sdk_bedrockruntime::Client,
    pub(super) iam: aws::Iam,
}

impl Clients {
    pub(super) fn new(conf: &aws_config::SdkConfig) -> Clients {
        let (iam, bedrock) = aws::clients(conf, CONNECT_TIMEOUT, OPERATION_TIMEOUT);
        Clients {
            sts: aws_sdk_sts::Client::new(conf),
            bedrock,
            runtime: aws_sdk_bedrockruntime::Client::new(conf),
            iam,
        }
    }
}

pub(super) type Identity = aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
pub(super) use aws::Availability;

/// What the region probe found: (inference types, lifecycle, the profile's model ARNs).
pub(super) type RegionFound = (Vec<String>, Option<String>, Vec<String>);

/// The region probe: the operation it called and its outcome.
pub(super) type RegionProbe = (&'static str, Result<RegionFound, CallError>);

/// The answers of phase 1.
pub(super) struct Probes {
    pub(super) sts: Result<Identity, CallError>,
    pub(super) region: RegionProbe,
    pub(super) avail: Result<Availability, CallError>,
    /// Only for models that need the Anthropic use-case form.
    pub(super) form: Option<Result<(), CallError>>,
}

/// Phase 1: the probes that do not depend on each other, concurrently.
pub(super) async fn probe(c: &Clients, w: &Wanted<'_>) -> Probes {
    let model_id = w.model_id();
    let needs_form = w.model.is_some_and(|m| m.use_case_form);
    let (sts, region, avail, form) = tokio::join!(
        probe_identity(&c.sts),
        probe_region(&c.bedrock, w),
        probe_availability(&c.bedrock, &model_id),
        probe_form(&c.bedrock, needs_form)
    );
    Probes {
        sts,
        region,
        avail,
        form,
    }
}

pub(super) async fn probe_identity(sts: &aws_sdk_sts::Client) -> Result<Identity, CallError> {
    sts.get_caller_identity()
        .send()
        .await
        .map_err(|e| CallError::of(&e))
}

pub(super) async fn probe_region(bedrock: &aws::Bedrock, w: &Wanted<'_>) -> RegionProbe {
    match &w.profile {
        Some(p) => probe_profile(bedrock, &p.id).await,
        None => probe_model(bedrock, &w.identifier).await,
    }
}

/// `GetInferenceProfile`: the model ARNs the profile routes to.
pub(super) async fn probe_profile(bedrock: &aws::Bedrock, id: &str) -> RegionProbe {
    let r = bedrock.inference_profile(id).await;
    (
        "GetInferenceProfile",
        r.map(|o| {
            let models: Vec<String> = o.models.into_iter().filter_map(|m| m.model_arn).collect();
            (vec!["INFERENCE_PROFILE".to_string()], None, models)
        })
        .map_err(|e| CallError::of(&e)),
    )
}

/// `GetFoundationModel`: the inference types and the lifecycle.
pub(super) async fn probe_model(bedrock: &aws::Bedrock, identifier: &str) -> RegionProbe {
    let r = bedrock.foundation_model(identifier).await;
    (
        "GetFoundationModel",
        r.map(|o| match o.model_details {
            Some(d) => (
                d.inference_types_supported,
                d.model_lifecycle.map(|l| l.status),
                Vec::new(),
            ),
            None => (Vec::new(), None, Vec::new()),
        })
        .map_err(|e| CallError::of(&e)),
    )
}

pub(super) async fn probe_availability(
    bedrock: &aws::Bedrock,
    model_id: &str,
) -> Result<Availability, CallError> {
    bedrock
        .availability(model_id)
        .await
        .map_err(|e| CallError::of(&e))
}

pub(super) async fn probe_form(
    bedrock: &aws::Bedrock,
    needs_form: bool,
) -> Option<Result<(), CallError>> {
    if !needs_form {
        return None;
    }
    Some(bedrock.use_case().await.map_err(|e| CallError::of(&e)))
}
