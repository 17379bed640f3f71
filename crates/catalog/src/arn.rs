//! Model identifiers as runtime calls send them (bare IDs and Bedrock ARNs), and the partition of
//! a Region name.

/// The partition a Region name belongs to, by AWS's naming scheme:
/// `us-gov-*` → `aws-us-gov`, `cn-*` → `aws-cn`, `us-iso-*` → `aws-iso`, `us-isob-*` →
/// `aws-iso-b`, `eu-isoe-*` → `aws-iso-e`, `us-isof-*` → `aws-iso-f`, `eusc-*` → `aws-eusc`,
/// anything else → `aws`. (A test checks this agrees with the catalog's partition lists.)
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-isof-") {
        "aws-iso-f"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("eu-isoe-") {
        "aws-iso-e"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// The syntactic form of a runtime `modelId` (after percent-decoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelIdentifier<'s> {
    /// Not an ARN: a model ID (`amazon.nova-lite-v1:0`) or a profile ID (`us.amazon.nova-lite-v1:0`).
    Id(&'s str),
    /// `arn:{partition}:bedrock:{region}::foundation-model/{model_id}` (account must be empty).
    FoundationModelArn {
        partition: &'s str,
        region: &'s str,
        model_id: &'s str,
    },
    /// `arn:{partition}:bedrock:{region}:{account}:inference-profile/{profile_id}`.
    InferenceProfileArn {
        partition: &'s str,
        region: &'s str,
        account: &'s str,
        profile_id: &'s str,
    },
    /// `arn:{partition}:bedrock:{region}:{account}:application-inference-profile/{id}`.
    ApplicationInferenceProfileArn {
        partition: &'s str,
        region: &'s str,
        account: &'s str,
        id: &'s str,
    },
    /// Another well-formed Bedrock ARN (`provisioned-model/…`, `custom-model-deployment/…`,
    /// `imported-model/…`, `prompt/…`, `prompt-router/…`, …).
    OtherArn {
        partition: &'s str,
        region: &'s str,
        account: &'s str,
        resource_type: &'s str,
        id: &'s str,
    },
    /// Starts with `arn:` but is not a well-formed Bedrock ARN, or is empty.
    Invalid,
}

/// Splits a runtime `modelId` into its form. Pure syntax: it does not consult the catalog.
pub fn parse_model_identifier(s: &str) -> ModelIdentifier<'_> {
    if s.is_empty() {
        return ModelIdentifier::Invalid;
    }
    if !s.starts_with("arn:") {
        return ModelIdentifier::Id(s);
    }
    let mut parts = s.splitn(6, ':');
    let (Some(_arn), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return ModelIdentifier::Invalid;
    };
    if !(partition == "aws" || partition.starts_with("aws-")) || service != "bedrock" {
        return ModelIdentifier::Invalid;
    }
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return ModelIdentifier::Invalid;
    }
    let Some((resource_type, id)) = resource.split_once('/') else {
        return ModelIdentifier::Invalid;
    };
    if id.is_empty() {
        return ModelIdentifier::Invalid;
    }
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    match resource_type {
        "foundation-model" if account.is_empty() => ModelIdentifier::FoundationModelArn {
            partition,
            region,
            model_id: id,
        },
        "foundation-model" => ModelIdentifier::Invalid,
        _ if !account_ok => ModelIdentifier::Invalid,
        "inference-profile" => ModelIdentifier::InferenceProfileArn {
            partition,
            region,
            account,
            profile_id: id,
        },
        "application-inference-profile" => ModelIdentifier::ApplicationInferenceProfileArn {
            partition,
            region,
            account,
            id,
        },
        _ => ModelIdentifier::OtherArn {
            partition,
            region,
            account,
            resource_type,
            id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_by_prefix() {
        assert_eq!(partition_of("us-east-1"), "aws");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_of("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition_of("us-isof-south-1"), "aws-iso-f");
        assert_eq!(partition_of("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(partition_of("eusc-de-east-1"), "aws-eusc");
    }

    #[test]
    fn bare_ids() {
        assert_eq!(
            parse_model_identifier("amazon.nova-lite-v1:0"),
            ModelIdentifier::Id("amazon.nova-lite-v1:0")
        );
        assert_eq!(parse_model_identifier(""), ModelIdentifier::Invalid);
    }

    #[test]
    fn foundation_model_arn_keeps_the_version_colon() {
        assert_eq!(
            parse_model_identifier(
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
            ),
            ModelIdentifier::FoundationModelArn {
                partition: "aws",
                region: "us-east-1",
                model_id: "anthropic.claude-3-haiku-20240307-v1:0",
            }
        );
        // An FM ARN never carries an account.
        assert_eq!(
            parse_model_identifier("arn:aws:bedrock:us-east-1:123456789012:foundation-model/x"),
            ModelIdentifier::Invalid
        );
    }

    #[test]
    fn profile_arns() {
        assert_eq!(
            parse_model_identifier(
                "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.a.b:0"
            ),
            ModelIdentifier::InferenceProfileArn {
                partition: "aws-us-gov",
                region: "us-gov-west-1",
                account: "123456789012",
                profile_id: "us-gov.a.b:0",
            }
        );
        assert!(matches!(
            parse_model_identifier(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
            ),
            ModelIdentifier::ApplicationInferenceProfileArn { id: "abc123", .. }
        ));
        assert!(matches!(
            parse_model_identifier(
                "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdefghijkl"
            ),
            ModelIdentifier::OtherArn {
                resource_type: "provisioned-model",
                ..
            }
        ));
        assert_eq!(
            parse_model_identifier("arn:aws:bedrock:us-east-1:12345:inference-profile/us.x"),
            ModelIdentifier::Invalid
        );
        assert_eq!(
            parse_model_identifier("arn:aws:s3:us-east-1::foundation-model/x"),
            ModelIdentifier::Invalid
        );
        assert_eq!(
            parse_model_identifier("arn:aws:bedrock"),
            ModelIdentifier::Invalid
        );
    }
}
