//! Gate 3: what a runtime `modelId` means in the signed Region.

use bg_catalog::{catalog, Resolution};

fn model_of(r: Resolution<'_>) -> Option<&str> {
    match r {
        Resolution::FoundationModel { model } | Resolution::ProfileOnly { model } => {
            Some(&model.id)
        }
        Resolution::Profile { model, .. } => Some(&model.id),
        Resolution::NotInRegion | Resolution::Unknown => None,
    }
}

#[test]
fn nova_lite_in_us_east_1_is_a_foundation_model() {
    let r = catalog().resolve("amazon.nova-lite-v1:0", "us-east-1");
    assert!(matches!(r, Resolution::FoundationModel { .. }), "{r:?}");
    assert_eq!(model_of(r), Some("amazon.nova-lite-v1:0"));
}

#[test]
fn nova_canvas_is_not_offered_in_us_west_2() {
    // Real AWS: "The provided model identifier is invalid." (amazon-bedrock-workshop#340).
    assert_eq!(
        catalog().resolve("amazon.nova-canvas-v1:0", "us-west-2"),
        Resolution::NotInRegion
    );
    assert!(matches!(
        catalog().resolve("amazon.nova-canvas-v1:0", "us-east-1"),
        Resolution::FoundationModel { .. }
    ));
}

#[test]
fn claude_3_7_sonnet_by_bare_id_in_us_east_1_is_profile_only() {
    let r = catalog().resolve("anthropic.claude-3-7-sonnet-20250219-v1:0", "us-east-1");
    assert!(matches!(r, Resolution::ProfileOnly { .. }), "{r:?}");
    assert_eq!(
        model_of(r),
        Some("anthropic.claude-3-7-sonnet-20250219-v1:0")
    );
    // Same through an FM ARN of the signed Region.
    let arn =
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0";
    assert!(matches!(
        catalog().resolve(arn, "us-east-1"),
        Resolution::ProfileOnly { .. }
    ));
}

#[test]
fn us_profile_in_us_east_1_resolves_to_profile_and_model() {
    let r = catalog().resolve("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "us-east-1");
    match r {
        Resolution::Profile { profile, model } => {
            assert_eq!(profile.id, "us.anthropic.claude-3-7-sonnet-20250219-v1:0");
            assert_eq!(model.id, "anthropic.claude-3-7-sonnet-20250219-v1:0");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn profile_arn_of_the_signed_region_resolves() {
    let arn = "arn:aws:bedrock:us-east-2:123456789012:inference-profile/us.amazon.nova-lite-v1:0";
    assert!(matches!(
        catalog().resolve(arn, "us-east-2"),
        Resolution::Profile { .. }
    ));
    // Same ARN signed for another Region.
    assert_eq!(catalog().resolve(arn, "us-west-2"), Resolution::NotInRegion);
}

#[test]
fn eu_profile_called_from_us_east_1_is_not_in_region() {
    let c = catalog();
    let id = "eu.anthropic.claude-3-7-sonnet-20250219-v1:0";
    assert!(c.profile(id).is_some());
    assert_eq!(c.resolve(id, "us-east-1"), Resolution::NotInRegion);
    assert!(matches!(
        c.resolve(id, "eu-west-1"),
        Resolution::Profile { .. }
    ));
}

#[test]
fn fm_arn_with_another_region_is_not_in_region() {
    let c = catalog();
    let arn = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0";
    assert_eq!(c.resolve(arn, "us-east-1"), Resolution::NotInRegion);
    let same = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";
    assert!(matches!(
        c.resolve(same, "us-east-1"),
        Resolution::FoundationModel { .. }
    ));
    // Wrong partition for the signed Region.
    let wrong_partition =
        "arn:aws-us-gov:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";
    assert_eq!(
        c.resolve(wrong_partition, "us-east-1"),
        Resolution::NotInRegion
    );
}

#[test]
fn govcloud_arn_uses_its_partition() {
    let c = catalog();
    let arn = "arn:aws-us-gov:bedrock:us-gov-west-1::foundation-model/amazon.nova-lite-v1:0";
    assert!(matches!(
        c.resolve(arn, "us-gov-west-1"),
        Resolution::FoundationModel { .. }
    ));
}

#[test]
fn garbage_is_unknown() {
    let c = catalog();
    for junk in [
        "garbage",
        "",
        "amazon.nova-lite-v9:9",
        "xx.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/not-a-model",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.not-a-model",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl",
        "arn:nonsense",
    ] {
        assert_eq!(
            c.resolve(junk, "us-east-1"),
            Resolution::Unknown,
            "{junk:?}"
        );
    }
}

#[test]
fn known_model_in_a_region_without_bedrock_is_not_in_region() {
    assert_eq!(
        catalog().resolve("amazon.nova-lite-v1:0", "ap-east-1"),
        Resolution::NotInRegion
    );
    assert_eq!(
        catalog().resolve("amazon.nova-lite-v1:0", "moon-1"),
        Resolution::NotInRegion
    );
}

#[test]
fn every_profile_only_region_has_a_callable_profile() {
    let c = catalog();
    for m in &c.models {
        for r in &m.profile_only_regions {
            assert!(matches!(
                c.resolve(&m.id, r),
                Resolution::ProfileOnly { .. }
            ));
            let usable = c
                .profiles_in_region(r)
                .filter(|p| p.model_id == m.id)
                .any(|p| matches!(c.resolve(&p.id, r), Resolution::Profile { .. }));
            assert!(usable, "{} in {r}", m.id);
        }
        for r in &m.on_demand_regions {
            assert!(matches!(
                c.resolve(&m.id, r),
                Resolution::FoundationModel { .. }
            ));
        }
    }
}

#[test]
fn global_profile_is_callable_from_commercial_regions_only() {
    let c = catalog();
    let id = "global.anthropic.claude-sonnet-4-5-20250929-v1:0";
    assert!(matches!(
        c.resolve(id, "sa-east-1"),
        Resolution::Profile { .. }
    ));
    assert_eq!(c.resolve(id, "us-gov-west-1"), Resolution::NotInRegion);
    assert!(matches!(
        c.resolve(
            "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us-gov-west-1"
        ),
        Resolution::Profile { .. }
    ));
}
