//! `[[quotas]]`: AWS's published default quotas load with their sources, and bad entries are
//! refused.

use bg_catalog::{catalog, Catalog, CatalogError, QuotaKind};

#[test]
fn published_defaults_load_with_sources() {
    let c = catalog();
    assert!(
        c.quotas.len() >= 40,
        "only {} quota entries",
        c.quotas.len()
    );
    for q in &c.quotas {
        assert!(c.model(&q.model).is_some(), "{}", q.model);
        assert!(
            q.source
                .contains("docs.aws.amazon.com/general/latest/gr/bedrock.html"),
            "{}: {}",
            q.model,
            q.source
        );
        assert_eq!(q.as_of, "2025-06-05", "{}", q.model);
        let names: Vec<&str> = [&q.rpm, &q.tpm, &q.tpd]
            .into_iter()
            .flatten()
            .map(|v| v.name.as_str())
            .collect();
        assert!(!names.is_empty(), "{}", q.model);
        let prefix = match q.kind {
            QuotaKind::OnDemand => "on-demand ",
            QuotaKind::CrossRegion => "cross-region ",
        };
        for n in names {
            assert!(
                n.to_lowercase().starts_with(prefix),
                "{} ({}): {n}",
                q.model,
                q.kind
            );
        }
    }
}

#[test]
fn values_as_published() {
    let c = catalog();
    let od = |m| c.default_quota(m, QuotaKind::OnDemand).unwrap();
    let cr = |m| c.default_quota(m, QuotaKind::CrossRegion).unwrap();

    let lite = od("amazon.nova-lite-v1:0");
    let rpm = lite.rpm.as_ref().unwrap();
    assert_eq!(
        rpm.name,
        "On-demand model inference requests per minute for Amazon Nova Lite"
    );
    assert_eq!(
        (rpm.in_region("us-east-1"), rpm.in_region("eu-west-1")),
        (1000, 100)
    );
    let tpm = lite.tpm.as_ref().unwrap();
    assert_eq!(
        (tpm.in_region("us-east-1"), tpm.in_region("eu-west-1")),
        (2_000_000, 100_000)
    );
    assert!(
        lite.tpd.is_none(),
        "tokens per day: derived from tokens per minute"
    );

    let haiku = od("anthropic.claude-3-haiku-20240307-v1:0");
    let rpm = haiku.rpm.as_ref().unwrap();
    assert_eq!(
        [
            "us-east-1",
            "us-west-2",
            "ap-northeast-1",
            "ap-southeast-1",
            "eu-west-1"
        ]
        .map(|r| rpm.in_region(r)),
        [1000, 1000, 200, 200, 400]
    );
    let sonnet = cr("anthropic.claude-3-7-sonnet-20250219-v1:0");
    assert_eq!(sonnet.tpm.as_ref().unwrap().in_region("eu-west-3"), 100_000);
    assert_eq!(sonnet.tpm.as_ref().unwrap().in_region("ap-south-1"), 50_000);
    assert_eq!(
        od("meta.llama3-8b-instruct-v1:0")
            .rpm
            .as_ref()
            .unwrap()
            .in_region("us-east-1"),
        800
    );

    // Published for one kind only, or not at all.
    assert!(c
        .default_quota(
            "anthropic.claude-sonnet-4-20250514-v1:0",
            QuotaKind::OnDemand
        )
        .is_none());
    for m in [
        "qwen.qwen3-32b-v1:0",
        "openai.gpt-oss-120b-1:0",
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
    ] {
        assert!(c.default_quota(m, QuotaKind::OnDemand).is_none(), "{m}");
        assert!(c.default_quota(m, QuotaKind::CrossRegion).is_none(), "{m}");
    }
}

#[test]
fn thirty_three_models_have_published_defaults() {
    let c = catalog();
    let mut models: Vec<&str> = c.quotas.iter().map(|q| q.model.as_str()).collect();
    models.sort_unstable();
    models.dedup();
    assert_eq!(models.len(), 33, "{models:?}");
}

const BASE: &str = r#"
[meta]
schema_version = 1

[[partitions]]
id = "aws"
regions = ["us-east-1"]
source = "test"
as_of = "2026-01-01"

[[regions]]
id = "us-east-1"
partition = "aws"
name = "US East (N. Virginia)"
opt_in = false
source = "test"
as_of = "2026-01-01"

[[models]]
id = "acme.widget-v1:0"
name = "Widget"
provider = "Acme"
family = "qwen"
input_modalities = ["TEXT"]
output_modalities = ["TEXT"]
streaming = true
customizations = []
on_demand_regions = ["us-east-1"]
profile_only_regions = []
lifecycle = "ACTIVE"
marketplace = false
use_case_form = false
converse = true
count_tokens = false
source = "test"
as_of = "2026-01-01"
"#;

const QUOTA: &str = r#"
[[quotas]]
model = "acme.widget-v1:0"
kind = "on-demand"
rpm = { name = "On-demand requests per minute for Widget", regions = { "us-east-1" = 7 }, other_regions = 3 }
source = "test"
as_of = "2026-01-01"
"#;

fn load(extra: &str) -> Result<Catalog, CatalogError> {
    Catalog::from_toml_str(&format!("{BASE}{extra}"))
}

#[test]
fn a_quota_entry_loads_and_is_found_by_kind() {
    let c = load(QUOTA).unwrap();
    let q = c
        .default_quota("acme.widget-v1:0", QuotaKind::OnDemand)
        .unwrap();
    assert_eq!(q.rpm.as_ref().unwrap().in_region("us-east-1"), 7);
    assert_eq!(q.rpm.as_ref().unwrap().in_region("us-west-2"), 3);
    assert!(c
        .default_quota("acme.widget-v1:0", QuotaKind::CrossRegion)
        .is_none());
}

#[test]
fn bad_quota_entries_are_refused() {
    let twice = format!("{QUOTA}{QUOTA}");
    assert!(matches!(load(&twice), Err(CatalogError::Duplicate { .. })));
    for (bad, what) in [
        (
            QUOTA.replace("acme.widget-v1:0", "acme.nothing"),
            "does not have",
        ),
        (
            QUOTA.replace("other_regions = 3", "other_regions = 0"),
            "positive",
        ),
        (
            QUOTA.replace("\"us-east-1\" = 7", "\"moon-1\" = 7"),
            "moon-1",
        ),
        (
            QUOTA.replace("as_of = \"2026-01-01\"", "as_of = \"soon\""),
            "as_of",
        ),
        (
            QUOTA.replace("source = \"test\"", "source = \" \""),
            "source",
        ),
    ] {
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
    let empty = QUOTA.replace(
        "rpm = { name = \"On-demand requests per minute for Widget\", regions = { \"us-east-1\" = 7 }, other_regions = 3 }\n",
        "",
    );
    assert!(load(&empty).unwrap_err().to_string().contains("none of"));
    assert!(matches!(
        load(&QUOTA.replace("on-demand", "provisioned")),
        Err(CatalogError::Parse(_))
    ));
}
