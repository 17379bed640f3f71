//! AWS managed policies that Bedrock users attach, with their real documents.
//!
//! Source: the documents AWS publishes for `arn:aws:iam::aws:policy/AmazonBedrockFullAccess` and
//! `…/AmazonBedrockReadOnly` (created 2024-12-04), as recorded by the public iam-dataset
//! snapshot of 2026-08-22 (bedrock-facts.md S7). Policy data, not code.

use crate::state::{ManagedPolicy, PolicyVersion};

pub const BEDROCK_FULL_ACCESS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "BedrockAll", "Effect": "Allow", "Action": ["bedrock:*"], "Resource": "*"},
    {"Sid": "DescribeKey", "Effect": "Allow", "Action": ["kms:DescribeKey"], "Resource": "arn:*:kms:*:::*"},
    {"Sid": "APIsWithAllResourceAccess", "Effect": "Allow",
     "Action": ["iam:ListRoles", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"], "Resource": "*"},
    {"Sid": "MarketplaceModelEndpointMutatingAPIs", "Effect": "Allow",
     "Action": ["sagemaker:CreateEndpoint", "sagemaker:CreateEndpointConfig", "sagemaker:CreateModel", "sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpoint"],
     "Resource": ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*", "arn:aws:sagemaker:*:*:model/*"],
     "Condition": {"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com", "aws:ResourceTag/sagemaker-sdk:bedrock": "compatible"}}},
    {"Sid": "MarketplaceModelEndpointAddTagsOperations", "Effect": "Allow", "Action": ["sagemaker:AddTags"],
     "Resource": ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*", "arn:aws:sagemaker:*:*:model/*"],
     "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["sagemaker-sdk:bedrock", "bedrock:marketplace-registration-status", "sagemaker-studio:hub-content-arn"]},
                   "StringLike": {"aws:RequestTag/bedrock:marketplace-registration-status": "registered", "aws:RequestTag/sagemaker-sdk:bedrock": "compatible",
                                  "aws:RequestTag/sagemaker-studio:hub-content-arn": "arn:aws:sagemaker:*:aws:hub-content/SageMakerPublicHub/Model/*"}}},
    {"Sid": "MarketplaceModelEndpointDeleteTagsOperations", "Effect": "Allow", "Action": ["sagemaker:DeleteTags"],
     "Resource": ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*", "arn:aws:sagemaker:*:*:model/*"],
     "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["sagemaker-sdk:bedrock", "bedrock:marketplace-registration-status", "sagemaker-studio:hub-content-arn"]},
                   "StringLike": {"aws:ResourceTag/bedrock:marketplace-registration-status": "registered", "aws:ResourceTag/sagemaker-sdk:bedrock": "compatible",
                                  "aws:ResourceTag/sagemaker-studio:hub-content-arn": "arn:aws:sagemaker:*:aws:hub-content/SageMakerPublicHub/Model/*"}}},
    {"Sid": "MarketplaceModelEndpointNonMutatingAPIs", "Effect": "Allow",
     "Action": ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel", "sagemaker:ListTags"],
     "Resource": ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*", "arn:aws:sagemaker:*:*:model/*"],
     "Condition": {"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com"}}},
    {"Sid": "MarketplaceModelEndpointInvokingOperations", "Effect": "Allow",
     "Action": ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"], "Resource": ["arn:aws:sagemaker:*:*:endpoint/*"],
     "Condition": {"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com", "aws:ResourceTag/sagemaker-sdk:bedrock": "compatible"}}},
    {"Sid": "DiscoveringMarketplaceModel", "Effect": "Allow", "Action": ["sagemaker:DescribeHubContent"],
     "Resource": ["arn:aws:sagemaker:*:aws:hub-content/SageMakerPublicHub/Model/*", "arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub"]},
    {"Sid": "AllowMarketplaceModelsListing", "Effect": "Allow", "Action": ["sagemaker:ListHubContents"], "Resource": "arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub"},
    {"Sid": "PassRoleToSageMaker", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ["arn:aws:iam::*:role/*SageMaker*ForBedrock*"],
     "Condition": {"StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com", "bedrock.amazonaws.com"]}}},
    {"Sid": "PassRoleToBedrock", "Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "arn:aws:iam::*:role/*AmazonBedrock*",
     "Condition": {"StringEquals": {"iam:PassedToService": ["bedrock.amazonaws.com"]}}}
  ]
}"#;

pub const BEDROCK_READ_ONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AmazonBedrockReadOnly", "Effect": "Allow", "Action": ["bedrock:Get*", "bedrock:List*"], "Resource": "*"},
    {"Sid": "MarketplaceModelEndpointNonMutatingAPIs", "Effect": "Allow",
     "Action": ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel", "sagemaker:DescribeInferenceComponent", "sagemaker:ListEndpoints", "sagemaker:ListTags"],
     "Resource": ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*", "arn:aws:sagemaker:*:*:model/*"],
     "Condition": {"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com"}}},
    {"Sid": "DiscoveringMarketplaceModel", "Effect": "Allow", "Action": ["sagemaker:DescribeHubContent"],
     "Resource": ["arn:aws:sagemaker:*:aws:hub-content/SageMakerPublicHub/Model/*", "arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub"]},
    {"Sid": "AllowMarketplaceModelsListing", "Effect": "Allow", "Action": ["sagemaker:ListHubContents"], "Resource": "arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub"}
  ]
}"#;

/// `IAMUserChangePassword`: what an IAM user needs to change their own password (the console's
/// forced change after a sign-in with `PasswordResetRequired`).
pub const IAM_USER_CHANGE_PASSWORD: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["iam:ChangePassword"], "Resource": ["arn:aws:iam::*:user/${aws:username}"]},
    {"Effect": "Allow", "Action": ["iam:GetAccountPasswordPolicy"], "Resource": "*"}
  ]
}"#;

/// `AdministratorAccess`, so that scenarios and tests can grant everything the usual way.
pub const ADMINISTRATOR_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

// 2024-12-04T19:51:07Z, AWS's creation date of the Bedrock managed policies.
const BEDROCK_CREATED: i64 = 1_733_341_867;

fn aws_policy(name: &str, id: &str, doc: &str, description: &str, created: i64) -> ManagedPolicy {
    ManagedPolicy {
        arn: format!("arn:aws:iam::aws:policy/{name}"),
        account: None,
        name: name.to_string(),
        path: "/".to_string(),
        policy_id: id.to_string(),
        description: Some(description.to_string()),
        default_version: "v1".to_string(),
        versions: vec![PolicyVersion {
            version_id: "v1".to_string(),
            document: doc.to_string(),
            created_unix: created,
        }],
        created_unix: created,
        updated_unix: created,
    }
}

pub fn aws_managed_policies() -> Vec<ManagedPolicy> {
    vec![
        aws_policy(
            "AmazonBedrockFullAccess",
            "ANPAZKAPJZG4BEDROCKFA",
            BEDROCK_FULL_ACCESS,
            "Provides full access to Amazon Bedrock and other services it uses.",
            BEDROCK_CREATED,
        ),
        aws_policy(
            "AmazonBedrockReadOnly",
            "ANPAZKAPJZG4BEDROCKRO",
            BEDROCK_READ_ONLY,
            "Provides read only access to Amazon Bedrock.",
            BEDROCK_CREATED,
        ),
        aws_policy(
            "IAMUserChangePassword",
            "ANPAJ4L4MM2A7QIEB56MS",
            IAM_USER_CHANGE_PASSWORD,
            "Provides the ability for an IAM user to change their own password.",
            // 2016-11-15T00:25:16Z
            1_479_169_516,
        ),
        aws_policy(
            "AdministratorAccess",
            "ANPAIWMBCKSKIEE64ZLYK",
            ADMINISTRATOR_ACCESS,
            "Provides full access to AWS services and resources.",
            1_423_594_541,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_documents_parse() {
        for p in aws_managed_policies() {
            bg_iam::Policy::parse(p.default_document().unwrap(), bg_iam::PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
    }
}
