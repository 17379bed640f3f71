//! `Catalog::from_toml_str`: small catalogs for overrides, and the validation errors.

use bg_catalog::{Catalog, CatalogError, Resolution};

const BASE: &str = r#"
[meta]
schema_version = 1

[[partitions]]
id = "aws"
regions = ["us-east-1", "us-west-2", "eu-west-1"]
source = "test"
as_of = "2026-01-01"

[[regions]]
id = "us-east-1"
partition = "aws"
name = "US East (N. Virginia)"
opt_in = false
source = "test"
as_of = "2026-01-01"

[[regions]]
id = "us-west-2"
partition = "aws"
name = "US West (Oregon)"
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
profile_only_regions = ["us-west-2"]
lifecycle = "ACTIVE"
marketplace = false
use_case_form = false
converse = true
count_tokens = false
max_output_tokens = 1000
rpm = 100
source = "test"
as_of = "2026-01-01"

[[profiles]]
prefix = "us"
model_id = "acme.widget-v1:0"
name = "US Widget"
description = "Routes requests to Widget in us-east-1 and us-west-2."
source_regions = ["us-east-1", "us-west-2"]
destination_regions = ["us-east-1", "us-west-2"]
global = false
source = "test"
as_of = "2026-01-01"
"#;

#[test]
fn a_small_catalog_loads_and_resolves() {
    let c = Catalog::from_toml_str(BASE).unwrap();
    assert_eq!(c.models.len(), 1);
    assert_eq!(c.profiles[0].id, "us.acme.widget-v1:0");
    assert_eq!(c.model("acme.widget-v1:0").unwrap().rpm, Some(100));
    assert!(matches!(
        c.resolve("acme.widget-v1:0", "us-east-1"),
        Resolution::FoundationModel { .. }
    ));
    assert!(matches!(
        c.resolve("acme.widget-v1:0", "us-west-2"),
        Resolution::ProfileOnly { .. }
    ));
    assert!(matches!(
        c.resolve("us.acme.widget-v1:0", "us-west-2"),
        Resolution::Profile { .. }
    ));
    assert!(c.is_known_region("eu-west-1"));
    assert!(c.region("eu-west-1").is_none());
}

#[test]
fn rejects_an_unknown_region_with_a_clear_error() {
    let bad = BASE.replace(
        r#"on_demand_regions = ["us-east-1"]"#,
        r#"on_demand_regions = ["us-east-1", "moon-1"]"#,
    );
    let err = Catalog::from_toml_str(&bad).unwrap_err();
    assert_eq!(
        err,
        CatalogError::UnknownRegion {
            owner: "model `acme.widget-v1:0`".into(),
            field: "on_demand_regions",
            region: "moon-1".into(),
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("moon-1") && msg.contains("acme.widget-v1:0"),
        "{msg}"
    );
}

#[test]
fn rejects_a_profile_source_region_that_is_unknown() {
    let bad = BASE.replace(
        r#"source_regions = ["us-east-1", "us-west-2"]"#,
        r#"source_regions = ["us-east-1", "eu-west-1"]"#,
    );
    // eu-west-1 is a known Region of the partition but not a Bedrock Region of this catalog.
    let err = Catalog::from_toml_str(&bad).unwrap_err();
    assert!(
        matches!(&err, CatalogError::UnknownRegion { field: "source_regions", region, .. } if region == "eu-west-1"),
        "{err}"
    );
}

#[test]
fn rejects_a_profile_of_an_unknown_model() {
    let bad = BASE.replace(
        r#"model_id = "acme.widget-v1:0""#,
        r#"model_id = "acme.gadget-v1:0""#,
    );
    let err = Catalog::from_toml_str(&bad).unwrap_err();
    assert!(matches!(err, CatalogError::UnknownModel { .. }), "{err}");
}

#[test]
fn rejects_duplicate_models() {
    let start = BASE.find("[[models]]").unwrap();
    let end = BASE.find("[[profiles]]").unwrap();
    let bad = format!("{BASE}\n{}", &BASE[start..end]);
    let err = Catalog::from_toml_str(&bad).unwrap_err();
    assert_eq!(
        err,
        CatalogError::Duplicate {
            kind: "model",
            id: "acme.widget-v1:0".into()
        }
    );
}

#[test]
fn rejects_a_profile_only_region_without_a_profile() {
    let bad = BASE.replace(
        r#"source_regions = ["us-east-1", "us-west-2"]"#,
        r#"source_regions = ["us-east-1"]"#,
    );
    let err = Catalog::from_toml_str(&bad).unwrap_err();
    assert!(err.to_string().contains("no inference profile"), "{err}");
}

#[test]
fn rejects_missing_provenance_and_bad_dates() {
    let bad = BASE.replacen(r#"as_of = "2026-01-01""#, r#"as_of = "sometime""#, 1);
    assert!(Catalog::from_toml_str(&bad)
        .unwrap_err()
        .to_string()
        .contains("as_of"));
    let bad = BASE.replace(
        r#"lifecycle = "ACTIVE""#,
        "lifecycle = \"LEGACY\"\nlegacy_time = \"2026-13-01\"",
    );
    assert!(Catalog::from_toml_str(&bad)
        .unwrap_err()
        .to_string()
        .contains("legacy_time"));
}

#[test]
fn rejects_unknown_fields_and_bad_toml() {
    let bad = BASE.replace("streaming = true", "streaming = true\nstreeming = true");
    assert!(matches!(
        Catalog::from_toml_str(&bad),
        Err(CatalogError::Parse(_))
    ));
    assert!(matches!(
        Catalog::from_toml_str("not toml ["),
        Err(CatalogError::Parse(_))
    ));
    let bad = BASE.replace(r#"family = "qwen""#, r#"family = "acme""#);
    assert!(matches!(
        Catalog::from_toml_str(&bad),
        Err(CatalogError::Parse(_))
    ));
}

#[test]
fn rejects_a_wrong_global_flag_and_a_wrong_explicit_id() {
    let bad = BASE.replace("global = false", "global = true");
    assert!(Catalog::from_toml_str(&bad)
        .unwrap_err()
        .to_string()
        .contains("global"));
    let bad = BASE.replace(
        r#"prefix = "us""#,
        "id = \"eu.acme.widget-v1:0\"\nprefix = \"us\"",
    );
    assert!(Catalog::from_toml_str(&bad)
        .unwrap_err()
        .to_string()
        .contains("id must be"));
}

#[test]
fn rejects_a_region_of_an_unknown_partition() {
    let bad = BASE.replacen(r#"partition = "aws""#, r#"partition = "aws-moon""#, 1);
    assert!(matches!(
        Catalog::from_toml_str(&bad),
        Err(CatalogError::UnknownPartition { .. })
    ));
}
