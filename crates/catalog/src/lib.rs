//! `bg-catalog`: the Amazon Bedrock model, Region and system inference-profile catalog.
//!
//! The catalog is data, not code: `data/catalog.toml` is converted to JSON at build time
//! (`build.rs`), embedded, and parsed once on first use ([`catalog()`]). Every fact in it
//! carries a `source` and an `as_of` date.
//! [`Catalog::from_toml_str`] loads an alternative catalog (tests, overrides) with the same
//! validation.
//!
//! This crate is pure: it performs no I/O of its own beyond loading that embedded file, keeps no
//! mutable state after loading, and never talks to AWS. It answers questions such as "is this
//! model offered in this Region?", "which inference profiles can be called from here?" and — for
//! the Region gate — "what does this runtime `modelId` mean in the Region the request was signed
//! for?" ([`Catalog::resolve`]).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

mod arn;
mod validate;

pub use arn::{parse_model_identifier, partition_of, ModelIdentifier};

/// The catalog shipped with the crate (TOML text).
const EMBEDDED_CATALOG: &str = include_str!("../data/catalog.toml");

/// The TOML text of the embedded catalog (e.g. for a CLI that dumps it).
pub fn embedded_toml() -> &'static str {
    EMBEDDED_CATALOG
}

/// `data/catalog.toml` as JSON, written by `build.rs`: every `serve` start loads the catalog,
/// and this parses several times faster than the TOML text (issue 11).
const EMBEDDED_CATALOG_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/catalog.json"));

/// The embedded catalog, parsed and validated once.
///
/// # Panics
/// Only if the embedded `data/catalog.toml` is invalid; the crate's tests guarantee it is not.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let raw = serde_json::from_str(EMBEDDED_CATALOG_JSON)
            .map_err(|e| CatalogError::Parse(e.to_string()))
            .and_then(Catalog::build);
        raw.unwrap_or_else(|e| panic!("embedded catalog data/catalog.toml is invalid: {e}"))
    })
}

// ---------------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------------

/// How a model's native InvokeModel body looks; the provider-native codecs match on this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelFamily {
    /// Anthropic Messages API body (`anthropic_version`, `messages`, `max_tokens`).
    AnthropicClaude,
    /// Amazon Nova understanding models (`schemaVersion`, `messages`, `inferenceConfig`).
    AmazonNova,
    /// Amazon Titan Text (`inputText`, `textGenerationConfig`).
    AmazonTitanText,
    /// Amazon Titan embeddings (`inputText`, `dimensions`, `normalize`).
    AmazonTitanEmbed,
    /// Amazon Nova Canvas image generation (`taskType`, `textToImageParams`).
    AmazonNovaCanvas,
    /// Meta Llama (`prompt`, `max_gen_len`).
    MetaLlama,
    /// Mistral `prompt` form (Mistral 7B, Mixtral 8x7B, Mistral Large 24.02).
    Mistral,
    /// Mistral chat-completions `messages` form (Mistral Large 24.07, Pixtral Large, Large 3).
    MistralChat,
    /// Old Cohere Command text form (`prompt`).
    CohereCommand,
    /// Cohere Command R / R+ (`message`, `chat_history`).
    CohereCommandR,
    /// Cohere Embed (`texts`, `input_type`).
    CohereEmbed,
    /// AI21 Jamba (chat-completions `messages`).
    Ai21Jamba,
    /// DeepSeek (R1 native body is the `prompt` form).
    DeepSeek,
    /// OpenAI gpt-oss (chat-completions `messages`).
    OpenAi,
    /// Qwen (chat-completions `messages`).
    Qwen,
}

impl ModelFamily {
    /// The kebab-case name used in the data file.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelFamily::AnthropicClaude => "anthropic-claude",
            ModelFamily::AmazonNova => "amazon-nova",
            ModelFamily::AmazonTitanText => "amazon-titan-text",
            ModelFamily::AmazonTitanEmbed => "amazon-titan-embed",
            ModelFamily::AmazonNovaCanvas => "amazon-nova-canvas",
            ModelFamily::MetaLlama => "meta-llama",
            ModelFamily::Mistral => "mistral",
            ModelFamily::MistralChat => "mistral-chat",
            ModelFamily::CohereCommand => "cohere-command",
            ModelFamily::CohereCommandR => "cohere-command-r",
            ModelFamily::CohereEmbed => "cohere-embed",
            ModelFamily::Ai21Jamba => "ai21-jamba",
            ModelFamily::DeepSeek => "deep-seek",
            ModelFamily::OpenAi => "open-ai",
            ModelFamily::Qwen => "qwen",
        }
    }
}

impl fmt::Display for ModelFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `inputModalities` / `outputModalities` values of ListFoundationModels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Modality {
    Text,
    Image,
    Embedding,
    Video,
    Audio,
    Speech,
}

impl Modality {
    /// The AWS wire value (`"TEXT"`, `"IMAGE"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Modality::Text => "TEXT",
            Modality::Image => "IMAGE",
            Modality::Embedding => "EMBEDDING",
            Modality::Video => "VIDEO",
            Modality::Audio => "AUDIO",
            Modality::Speech => "SPEECH",
        }
    }
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `customizationsSupported` values of ListFoundationModels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Customization {
    FineTuning,
    ContinuedPreTraining,
    Distillation,
}

impl Customization {
    /// The AWS wire value (`"FINE_TUNING"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Customization::FineTuning => "FINE_TUNING",
            Customization::ContinuedPreTraining => "CONTINUED_PRE_TRAINING",
            Customization::Distillation => "DISTILLATION",
        }
    }
}

impl fmt::Display for Customization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `modelLifecycle.status` of ListFoundationModels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifecycleStatus {
    Active,
    Legacy,
    EndOfLife,
}

impl LifecycleStatus {
    /// The AWS wire value (`"ACTIVE"`, `"LEGACY"`, `"END_OF_LIFE"`).
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStatus::Active => "ACTIVE",
            LifecycleStatus::Legacy => "LEGACY",
            LifecycleStatus::EndOfLife => "END_OF_LIFE",
        }
    }
}

impl fmt::Display for LifecycleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// An AWS partition and every Region name it knows (not only Bedrock Regions).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f`, `aws-eusc`.
    pub id: String,
    /// All Region names of the partition (valid SigV4 credential-scope Regions for STS/IAM).
    pub regions: Vec<String>,
    pub source: String,
    pub as_of: String,
}

/// A Region with a Bedrock (`bedrock` / `bedrock-runtime`) endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// e.g. `us-east-1`.
    pub id: String,
    /// e.g. `aws`, `aws-us-gov`.
    pub partition: String,
    /// Display name, e.g. `US East (N. Virginia)`.
    pub name: String,
    /// Opt-in Region (disabled by default in an AWS account).
    pub opt_in: bool,
    pub source: String,
    pub as_of: String,
}

/// Embedding vector sizes of an embedding model.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingDimensions {
    /// Size returned when the request does not choose one.
    pub default: u32,
    /// Sizes a request may choose (always contains `default`).
    pub allowed: Vec<u32>,
}

/// A foundation model.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Model ID, e.g. `amazon.nova-lite-v1:0`.
    pub id: String,
    /// AWS `modelName`, e.g. `Nova Lite`.
    pub name: String,
    /// AWS `providerName`, e.g. `Amazon`, `Mistral AI`, `AI21 Labs`.
    pub provider: String,
    pub family: ModelFamily,
    pub input_modalities: Vec<Modality>,
    pub output_modalities: Vec<Modality>,
    /// `responseStreamingSupported`.
    pub streaming: bool,
    /// `customizationsSupported`.
    pub customizations: Vec<Customization>,
    /// Regions where the model is invocable in-Region (ON_DEMAND).
    pub on_demand_regions: Vec<String>,
    /// Regions where the model is listed but reachable only through an inference profile.
    pub profile_only_regions: Vec<String>,
    /// `modelLifecycle.status`.
    pub lifecycle: LifecycleStatus,
    /// `modelLifecycle.startOfLifeTime` (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_of_life_time: Option<String>,
    /// `modelLifecycle.legacyTime` (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_time: Option<String>,
    /// `modelLifecycle.endOfLifeTime` (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_life_time: Option<String>,
    /// Third-party model sold through AWS Marketplace (subscription on first invocation).
    pub marketplace: bool,
    /// Anthropic first-time-use (use case details) form required.
    pub use_case_form: bool,
    /// Supported by Converse / ConverseStream.
    pub converse: bool,
    /// Supported by CountTokens.
    pub count_tokens: bool,
    /// Largest output a request may ask for, when documented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Embedding sizes (embedding models only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding_dimensions: Option<EmbeddingDimensions>,
    /// A uniform on-demand requests-per-minute quota for every Region, when sourced as such.
    /// AWS's published defaults vary by Region and call kind: see [`QuotaDefault`]
    /// (`[[quotas]]`) and [`Catalog::default_quota`], which take precedence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// A uniform on-demand tokens-per-minute quota for every Region (see `rpm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u32>,
    pub source: String,
    pub as_of: String,
    /// Choices and caveats behind this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl Model {
    /// Foundation-model ARN in `region`:
    /// `arn:{partition}:bedrock:{region}::foundation-model/{id}` (empty account).
    pub fn arn(&self, region: &str) -> String {
        format!(
            "arn:{}:bedrock:{}::foundation-model/{}",
            partition_of(region),
            region,
            self.id
        )
    }

    /// In-Region (ON_DEMAND) invocation is offered in `region`.
    pub fn is_on_demand_in(&self, region: &str) -> bool {
        self.on_demand_regions.iter().any(|r| r == region)
    }

    /// The model is listed in `region` but reachable only through an inference profile.
    pub fn is_profile_only_in(&self, region: &str) -> bool {
        self.profile_only_regions.iter().any(|r| r == region)
    }

    /// ListFoundationModels in `region` lists this model (on-demand or profile-only there).
    pub fn is_listed_in(&self, region: &str) -> bool {
        self.is_on_demand_in(region) || self.is_profile_only_in(region)
    }

    /// `inferenceTypesSupported` as ListFoundationModels reports it in `region`:
    /// `["ON_DEMAND"]`, `["INFERENCE_PROFILE"]`, or `[]` where the model is not listed.
    pub fn inference_types(&self, region: &str) -> Vec<&'static str> {
        if self.is_on_demand_in(region) {
            vec!["ON_DEMAND"]
        } else if self.is_profile_only_in(region) {
            vec!["INFERENCE_PROFILE"]
        } else {
            Vec::new()
        }
    }

    /// The model outputs embeddings.
    pub fn is_embedding(&self) -> bool {
        self.output_modalities.contains(&Modality::Embedding)
    }

    /// All Regions where the model is listed (on-demand first, then profile-only).
    pub fn listed_regions(&self) -> impl Iterator<Item = &str> + '_ {
        self.on_demand_regions
            .iter()
            .chain(self.profile_only_regions.iter())
            .map(String::as_str)
    }
}

/// A system-defined (cross-Region) inference profile.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceProfile {
    /// Profile ID `{prefix}.{model_id}`; derived on load (may be omitted in the data file).
    #[serde(default)]
    pub id: String,
    /// Geography prefix: `us`, `eu`, `apac`, `jp`, `au`, `ca`, `us-gov`, `global`, ...
    pub prefix: String,
    /// The foundation model the profile routes to.
    pub model_id: String,
    /// `inferenceProfileName`, e.g. `US Anthropic Claude 3 Haiku`.
    pub name: String,
    /// `description`, e.g. `Routes requests to Anthropic Claude 3 Haiku in us-east-1, ...`.
    pub description: String,
    /// Regions from which the profile can be called.
    pub source_regions: Vec<String>,
    /// Regions the profile may route requests to.
    pub destination_regions: Vec<String>,
    /// Global profile: routes to any commercial Region (IAM then uses a Region-less FM ARN).
    pub global: bool,
    /// `createdAt` (RFC 3339), when a real response shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// `updatedAt` (RFC 3339), when a real response shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    pub source: String,
    pub as_of: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

impl InferenceProfile {
    /// System inference-profile ARN as seen from `region` by `account`:
    /// `arn:{partition}:bedrock:{region}:{account}:inference-profile/{id}`.
    pub fn arn(&self, region: &str, account: &str) -> String {
        format!(
            "arn:{}:bedrock:{}:{}:inference-profile/{}",
            partition_of(region),
            region,
            account,
            self.id
        )
    }

    /// The profile can be called from `region`.
    pub fn is_callable_from(&self, region: &str) -> bool {
        self.source_regions.iter().any(|r| r == region)
    }

    /// One foundation-model ARN per destination Region (GetInferenceProfile's `models[]`).
    pub fn model_arns(&self) -> Vec<String> {
        self.destination_regions
            .iter()
            .map(|r| {
                format!(
                    "arn:{}:bedrock:{}::foundation-model/{}",
                    partition_of(r),
                    r,
                    self.model_id
                )
            })
            .collect()
    }
}

/// Which family of AWS quotas a default belongs to: a call to the model in-Region (`On-demand …`)
/// or through a cross-Region inference profile (`Cross-region …`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuotaKind {
    OnDemand = 0,
    CrossRegion = 1,
}

impl QuotaKind {
    /// The kind of quota a call meets: through an inference profile (cross-Region) or not.
    pub fn of_call(through_profile: bool) -> QuotaKind {
        if through_profile {
            QuotaKind::CrossRegion
        } else {
            QuotaKind::OnDemand
        }
    }

    /// The kebab-case name used in the data file.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::OnDemand => "on-demand",
            QuotaKind::CrossRegion => "cross-region",
        }
    }
}

impl fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One published quota whose default value may differ by Region, as AWS's table writes it:
/// `us-east-1: 1,000` lines, then `Each of the other supported Regions: 100` (or only
/// `Each supported Region: 400`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegionalQuota {
    /// The AWS quota name, e.g. `On-demand model inference requests per minute for Amazon Nova Lite`.
    pub name: String,
    /// Values for the Regions the table names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regions: BTreeMap<String, u64>,
    /// The value in every other supported Region.
    pub other_regions: u64,
}

impl RegionalQuota {
    /// The default value in `region` (no allocation).
    pub fn in_region(&self, region: &str) -> u64 {
        self.regions
            .get(region)
            .copied()
            .unwrap_or(self.other_regions)
    }
}

/// A model's default quotas of one kind, from AWS's published quota table (`[[quotas]]`).
/// A missing `rpm`, `tpm` or `tpd` means the source has no value for it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaDefault {
    /// The model these quotas are for.
    pub model: String,
    pub kind: QuotaKind,
    /// Requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<RegionalQuota>,
    /// Tokens per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<RegionalQuota>,
    /// Tokens per day, where AWS publishes a value other than the documented default
    /// (tokens per minute × 24 × 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpd: Option<RegionalQuota>,
    pub source: String,
    pub as_of: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// Catalog-level metadata.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub schema_version: u32,
    #[serde(default)]
    pub description: String,
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a catalog could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// Not TOML, or not the catalog's schema (unknown field, wrong type, ...).
    #[error("catalog does not parse: {0}")]
    Parse(String),
    /// Two entries share an id.
    #[error("duplicate {kind} `{id}`")]
    Duplicate { kind: &'static str, id: String },
    /// A Region name that is not a Bedrock Region of this catalog.
    #[error("{owner} references unknown Region `{region}` in `{field}` (not a Bedrock Region of this catalog)")]
    UnknownRegion {
        owner: String,
        field: &'static str,
        region: String,
    },
    /// A partition id that the catalog does not define.
    #[error("{owner} references unknown partition `{partition}`")]
    UnknownPartition { owner: String, partition: String },
    /// An inference profile whose model is not in the catalog.
    #[error("inference profile `{profile}` references unknown model `{model_id}`")]
    UnknownModel { profile: String, model_id: String },
    /// Any other inconsistency.
    #[error("{owner}: {problem}")]
    Invalid { owner: String, problem: String },
}

// ---------------------------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    meta: Meta,
    #[serde(default)]
    partitions: Vec<Partition>,
    #[serde(default)]
    regions: Vec<Region>,
    #[serde(default)]
    models: Vec<Model>,
    #[serde(default)]
    profiles: Vec<InferenceProfile>,
    #[serde(default)]
    quotas: Vec<QuotaDefault>,
}

/// Regions, models and system inference profiles, with lookup indexes.
#[derive(Clone, Debug)]
pub struct Catalog {
    pub meta: Meta,
    /// Every partition with every Region name it knows.
    pub partitions: Vec<Partition>,
    /// Regions with a Bedrock endpoint.
    pub regions: Vec<Region>,
    pub models: Vec<Model>,
    pub profiles: Vec<InferenceProfile>,
    /// AWS's published default quotas, per model and kind (`[[quotas]]`).
    pub quotas: Vec<QuotaDefault>,
    region_index: HashMap<String, usize>,
    /// Any known Region name → index into `partitions`.
    known_region_index: HashMap<String, usize>,
    model_index: HashMap<String, usize>,
    profile_index: HashMap<String, usize>,
    /// Model ID → index into `quotas` for [on-demand, cross-Region].
    quota_index: HashMap<String, [Option<usize>; 2]>,
}

/// What a runtime call's `modelId` means in the Region the request was signed for (gate 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution<'a> {
    /// A foundation model (bare ID or FM ARN of this Region) offered on demand in this Region.
    FoundationModel { model: &'a Model },
    /// A system inference profile (ID or ARN of this Region) callable from this Region.
    Profile {
        profile: &'a InferenceProfile,
        model: &'a Model,
    },
    /// The model is listed in this Region only through inference profiles; calling it by
    /// its bare ID (or FM ARN) is refused with AWS's "Invocation of model ID X with on-demand
    /// throughput isn’t supported. Retry your request with the ID or ARN of an inference
    /// profile that contains this model."
    ProfileOnly { model: &'a Model },
    /// A known model or profile that is not offered in (or not callable from) this Region,
    /// or an ARN naming another Region → ValidationException "The provided model identifier
    /// is invalid."
    NotInRegion,
    /// Not an identifier this catalog knows (including application-profile, provisioned and
    /// other ARNs, which the server resolves elsewhere).
    Unknown,
}

impl Catalog {
    /// Parses and validates a catalog: unique ids, every referenced Region/partition/model
    /// exists, on-demand and profile-only Regions are disjoint, every profile-only Region of a
    /// model has a profile callable from it, dates are well-formed, and so on.
    pub fn from_toml_str(s: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog = toml::from_str(s).map_err(|e| CatalogError::Parse(e.to_string()))?;
        Catalog::build(raw)
    }

    fn build(raw: RawCatalog) -> Result<Catalog, CatalogError> {
        let RawCatalog {
            meta,
            partitions,
            regions,
            models,
            mut profiles,
            quotas,
        } = raw;

        for p in &mut profiles {
            let derived = format!("{}.{}", p.prefix, p.model_id);
            if p.id.is_empty() {
                p.id = derived;
            } else if p.id != derived {
                return Err(CatalogError::Invalid {
                    owner: format!("inference profile `{}`", p.id),
                    problem: format!("id must be `{{prefix}}.{{model_id}}` = `{derived}`"),
                });
            }
        }

        let mut known_region_index = HashMap::new();
        let mut partition_ids = HashSet::new();
        for (i, p) in partitions.iter().enumerate() {
            if !partition_ids.insert(p.id.as_str()) {
                return Err(dup("partition", &p.id));
            }
            for r in &p.regions {
                if known_region_index.insert(r.clone(), i).is_some() {
                    return Err(dup("known Region", r));
                }
            }
        }

        let mut region_index = HashMap::new();
        for (i, r) in regions.iter().enumerate() {
            if region_index.insert(r.id.clone(), i).is_some() {
                return Err(dup("Region", &r.id));
            }
        }
        let mut model_index = HashMap::new();
        for (i, m) in models.iter().enumerate() {
            if model_index.insert(m.id.clone(), i).is_some() {
                return Err(dup("model", &m.id));
            }
        }
        let mut profile_index = HashMap::new();
        for (i, p) in profiles.iter().enumerate() {
            if profile_index.insert(p.id.clone(), i).is_some() {
                return Err(dup("inference profile", &p.id));
            }
        }

        let mut quota_index: HashMap<String, [Option<usize>; 2]> = HashMap::new();
        for (i, q) in quotas.iter().enumerate() {
            let slot = &mut quota_index.entry(q.model.clone()).or_default()[q.kind as usize];
            if slot.replace(i).is_some() {
                return Err(dup("quota default", &format!("{} ({})", q.model, q.kind)));
            }
        }

        let catalog = Catalog {
            meta,
            partitions,
            regions,
            models,
            profiles,
            quotas,
            region_index,
            known_region_index,
            model_index,
            profile_index,
            quota_index,
        };
        validate::check(&catalog)?;
        Ok(catalog)
    }

    /// A Bedrock Region by id.
    pub fn region(&self, id: &str) -> Option<&Region> {
        self.region_index.get(id).map(|&i| &self.regions[i])
    }

    /// Any Region of any partition (for STS/IAM credential scopes); `moon-1` is unknown.
    pub fn is_known_region(&self, id: &str) -> bool {
        self.known_region_index.contains_key(id)
    }

    /// The partition that knows Region `id` (any Region, Bedrock or not).
    pub fn partition_of_region(&self, id: &str) -> Option<&Partition> {
        self.known_region_index
            .get(id)
            .map(|&i| &self.partitions[i])
    }

    /// A partition by id.
    pub fn partition(&self, id: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.id == id)
    }

    /// A foundation model by ID.
    pub fn model(&self, id: &str) -> Option<&Model> {
        self.model_index.get(id).map(|&i| &self.models[i])
    }

    /// AWS's published default quotas of `kind` for a model, when the catalog has them
    /// (a map lookup, no allocation: the throughput gate calls this per request).
    pub fn default_quota(&self, model_id: &str, kind: QuotaKind) -> Option<&QuotaDefault> {
        self.quota_index
            .get(model_id)
            .and_then(|slots| slots[kind as usize])
            .map(|i| &self.quotas[i])
    }

    /// A system inference profile by ID (e.g. `us.amazon.nova-lite-v1:0`).
    pub fn profile(&self, id: &str) -> Option<&InferenceProfile> {
        self.profile_index.get(id).map(|&i| &self.profiles[i])
    }

    /// Models ListFoundationModels lists in `region` (on-demand or profile-only there),
    /// whatever their lifecycle status.
    pub fn models_in_region<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a Model> + 'a {
        self.models.iter().filter(move |m| m.is_listed_in(region))
    }

    /// System inference profiles callable from `region` (it is one of their source Regions).
    pub fn profiles_in_region<'a>(
        &'a self,
        region: &'a str,
    ) -> impl Iterator<Item = &'a InferenceProfile> + 'a {
        self.profiles
            .iter()
            .filter(move |p| p.is_callable_from(region))
    }

    /// All system inference profiles of a model.
    pub fn profiles_for_model<'a>(
        &'a self,
        model_id: &'a str,
    ) -> impl Iterator<Item = &'a InferenceProfile> + 'a {
        self.profiles.iter().filter(move |p| p.model_id == model_id)
    }

    /// Distinct `providerName`s, in catalog order.
    pub fn providers(&self) -> Vec<&str> {
        let mut seen = HashSet::new();
        self.models
            .iter()
            .map(|m| m.provider.as_str())
            .filter(|p| seen.insert(*p))
            .collect()
    }

    /// Gate 3: resolves what a runtime call's `modelId` means in the signed Region.
    ///
    /// Accepted forms: a bare model ID, a foundation-model ARN
    /// (`arn:aws:bedrock:REGION::foundation-model/ID`), a system inference-profile ID
    /// (`us.…`) or ARN (`arn:aws:bedrock:REGION:ACCOUNT:inference-profile/ID`). An ARN whose
    /// Region (or partition) differs from the signed Region resolves to
    /// [`Resolution::NotInRegion`]. The identifier is taken as-is (already percent-decoded).
    /// The ARN's account is not compared with the caller's; that is the server's business.
    pub fn resolve<'a>(&'a self, model_identifier: &str, region: &str) -> Resolution<'a> {
        match parse_model_identifier(model_identifier) {
            ModelIdentifier::Id(id) => {
                if let Some(model) = self.model(id) {
                    self.resolve_model(model, region)
                } else if let Some(profile) = self.profile(id) {
                    self.resolve_profile(profile, region)
                } else {
                    Resolution::Unknown
                }
            }
            ModelIdentifier::FoundationModelArn {
                partition,
                region: arn_region,
                model_id,
            } => match self.model(model_id) {
                None => Resolution::Unknown,
                Some(_) if arn_region != region || partition != partition_of(region) => {
                    Resolution::NotInRegion
                }
                Some(model) => self.resolve_model(model, region),
            },
            ModelIdentifier::InferenceProfileArn {
                partition,
                region: arn_region,
                profile_id,
                ..
            } => match self.profile(profile_id) {
                None => Resolution::Unknown,
                Some(_) if arn_region != region || partition != partition_of(region) => {
                    Resolution::NotInRegion
                }
                Some(profile) => self.resolve_profile(profile, region),
            },
            ModelIdentifier::ApplicationInferenceProfileArn { .. }
            | ModelIdentifier::OtherArn { .. }
            | ModelIdentifier::Invalid => Resolution::Unknown,
        }
    }

    fn resolve_model<'a>(&'a self, model: &'a Model, region: &str) -> Resolution<'a> {
        if model.is_on_demand_in(region) {
            Resolution::FoundationModel { model }
        } else if model.is_profile_only_in(region) {
            Resolution::ProfileOnly { model }
        } else {
            Resolution::NotInRegion
        }
    }

    fn resolve_profile<'a>(
        &'a self,
        profile: &'a InferenceProfile,
        region: &str,
    ) -> Resolution<'a> {
        if !profile.is_callable_from(region) {
            return Resolution::NotInRegion;
        }
        match self.model(&profile.model_id) {
            Some(model) => Resolution::Profile { profile, model },
            // Validation guarantees the model exists.
            None => Resolution::Unknown,
        }
    }
}

fn dup(kind: &'static str, id: &str) -> CatalogError {
    CatalogError::Duplicate {
        kind,
        id: id.to_string(),
    }
}
