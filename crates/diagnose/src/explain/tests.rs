//! One test per row of bedrock-facts §1.6 with AWS's verbatim text, the SigV4 front door's
//! errors, the renderings people paste, and nonsense.

use super::*;

fn gate(text: &str) -> &'static str {
    explain(text).gate_name()
}

fn cli(code: &str, op: &str, msg: &str) -> String {
    format!("An error occurred ({code}) when calling the {op} operation: {msg}")
}

// ---- §1.6, row by row ----

#[test]
fn row_credentials_bad_key_or_token() {
    let e = explain(&cli(
        "UnrecognizedClientException",
        "InvokeModel",
        "The security token included in the request is invalid.",
    ));
    assert_eq!(e.gate, Some(Gate::Credentials));
    assert_eq!(
        e.facts.error_code.as_deref(),
        Some("UnrecognizedClientException")
    );
    assert_eq!(e.facts.operation.as_deref(), Some("InvokeModel"));
    assert_eq!(
        e.command.as_deref(),
        Some("aws configure list && aws sts get-caller-identity")
    );
}

#[test]
fn row_credentials_clock_skew() {
    let e = explain(
        r#"HTTP 403 {"message":"Signature expired: 20250130T203827Z is now earlier than 20250130T204131Z (20250130T204631Z - 5 min.)"}"#,
    );
    assert_eq!(e.gate, Some(Gate::Credentials));
    assert_eq!(
        e.facts.clock_skew.as_deref(),
        Some("client clock 8m 4s behind (signed 20250130T203827Z, server time 20250130T204631Z)")
    );
    assert!(e
        .command
        .unwrap()
        .starts_with("sudo timedatectl set-ntp true"));
}

#[test]
fn row_iam_no_allow() {
    let text = "User: arn:aws:sts::308535385114:assumed-role/…/log_classifier is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0 because no identity-based policy allows the bedrock:InvokeModel action";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Iam));
    let f = &e.facts;
    assert_eq!(
        f.principal.as_deref(),
        Some("arn:aws:sts::308535385114:assumed-role/…/log_classifier")
    );
    assert_eq!(f.action.as_deref(), Some("bedrock:InvokeModel"));
    assert_eq!(
        f.resource.as_deref(),
        Some("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0")
    );
    assert_eq!(f.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        f.model.as_deref(),
        Some("anthropic.claude-3-haiku-20240307-v1:0")
    );
    assert_eq!(f.policy_type.as_deref(), Some("identity"));
    assert_eq!(f.explicit_deny, Some(false));
    // the role name is elided in the text: the command says so rather than inventing one
    assert_eq!(
        e.command.as_deref(),
        Some(
            r#"aws iam put-role-policy --role-name <role-name> --policy-name bedrock-gates-allow --policy-document '{"Version":"2012-10-17","Statement":[{"Sid":"AllowAction","Effect":"Allow","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}]}'"#
        )
    );
}

#[test]
fn row_iam_converse_is_invoke_model_truncated_arn() {
    let text = "…when calling the Converse operation: User: arn:aws:sts::***:assumed-role/… is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:eu-w…";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Iam));
    assert_eq!(e.facts.operation.as_deref(), Some("Converse"));
    assert_eq!(e.facts.action.as_deref(), Some("bedrock:InvokeModel"));
    assert_eq!(
        e.facts.resource.as_deref(),
        Some("arn:aws:bedrock:eu-w… (truncated)")
    );
    // no Region from a cut-off segment, and no fix command for an ARN we cannot see
    assert_eq!(e.facts.region, None);
    assert!(e.cause.contains("there is no bedrock:Converse action"));
    assert_eq!(e.command, None);
    assert!(e.fix.contains("cut off"));
}

#[test]
fn row_iam_scp_explicit_deny_on_global_cris() {
    let text = "User: arn:aws:sts::1111111111:assumed-role/user_role is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: arn:aws:bedrock:::foundation-model/anthropic.claude-opus-4-6-v1 with an explicit deny in a service control policy: arn:aws:organizations::0000000000:p…";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Iam));
    assert_eq!(e.facts.policy_type.as_deref(), Some("scp"));
    assert_eq!(e.facts.explicit_deny, Some(true));
    assert_eq!(e.facts.region.as_deref(), Some("unspecified"));
    assert_eq!(
        e.facts.model.as_deref(),
        Some("anthropic.claude-opus-4-6-v1")
    );
    assert_eq!(
        e.facts.policy_arn.as_deref(),
        Some("arn:aws:organizations::0000000000:p")
    );
    assert!(e.cause.contains("global cross-Region inference profile"));
    assert!(e.fix.contains("geographic profile"));
    assert_eq!(
        e.command.as_deref(),
        Some("aws organizations describe-policy --policy-id <policy-id>   # in the management account")
    );
}

#[test]
fn row_iam_control_plane_without_resource() {
    let text = "User: arn:aws:sts::ACCOUNT_ID:assumed-role/…/XXXX is not authorized to perform: bedrock:ListFoundationModels because no identity-based policy allows the bedrock:ListFoundationModels action";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Iam));
    assert_eq!(
        e.facts.action.as_deref(),
        Some("bedrock:ListFoundationModels")
    );
    assert_eq!(e.facts.resource, None);
    assert!(e
        .command
        .unwrap()
        .contains(r#""Action":"bedrock:ListFoundationModels","Resource":"*""#));
}

#[test]
fn row_model_access_console_grant_missing() {
    let e = explain(&cli(
        "AccessDeniedException",
        "InvokeModel",
        "You don't have access to the model with the specified model ID.",
    ));
    assert_eq!(e.gate, Some(Gate::ModelAccess));
    assert!(e
        .command
        .unwrap()
        .starts_with("aws bedrock get-foundation-model-availability --model-id"));
}

#[test]
fn row_model_access_2023_wording() {
    let e =
        explain(r#"{"message":"Your account is not authorized to invoke this API operation."}"#);
    assert_eq!(e.gate, Some(Gate::ModelAccess));
    assert_eq!(
        e.facts.message.as_deref(),
        Some("Your account is not authorized to invoke this API operation.")
    );
}

#[test]
fn row_marketplace_2026_wording() {
    let e = explain(&cli("AccessDeniedException", "Converse", "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 5 minutes."));
    assert_eq!(e.gate, Some(Gate::ModelAccess));
    assert!(e.fix.contains("retry after 5 minutes"));
    let c = e.command.unwrap();
    assert!(
        c.contains(r#""Action":["aws-marketplace:Subscribe","aws-marketplace:ViewSubscriptions"]"#),
        "{c}"
    );
    assert!(c.contains(r#""aws:CalledViaLast":"bedrock.amazonaws.com""#));
}

#[test]
fn row_marketplace_2025_wording() {
    let text = "Model access is denied due to User: arn:aws:sts::957524092737:assumed-role/… is not authorized to perform: aws-marketplace:ViewSubscriptions on resource: * because no identity-based policy allows the aws-marketplace:ViewSubscriptions action. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 15 minutes.";
    let e = explain(text);
    assert_eq!(
        e.gate,
        Some(Gate::ModelAccess),
        "not IAM: the Marketplace subscription is the model-access gate"
    );
    assert_eq!(
        e.facts.action.as_deref(),
        Some("aws-marketplace:ViewSubscriptions")
    );
    assert_eq!(
        e.facts.principal.as_deref(),
        Some("arn:aws:sts::957524092737:assumed-role/…")
    );
    assert!(e.fix.contains("retry after 15 minutes"));
}

#[test]
fn row_anthropic_use_case_form() {
    let e = explain(&cli("ResourceNotFoundException", "Converse", "Model use case details have not been submitted for this account. Fill out the Anthropic use case details form before using the model. If you have already filled out the form, try again in 15 minutes."));
    assert_eq!(e.gate, Some(Gate::ModelAccess));
    let c = e.command.unwrap();
    assert!(
        c.ends_with("aws bedrock put-use-case-for-model-access --form-data fileb://use-case.json"),
        "{c}"
    );
}

#[test]
fn use_case_form_command_names_the_region_when_known() {
    let e = explain_call(
        Some("ResourceNotFoundException"),
        "Model use case details have not been submitted for this account.",
        "GetUseCaseForModelAccess",
        &Hints {
            region: Some("eu-west-1".into()),
            ..Default::default()
        },
    );
    assert_eq!(e.gate, Some(Gate::ModelAccess));
    let c = e.command.unwrap();
    assert!(
        c.ends_with("aws bedrock put-use-case-for-model-access --region eu-west-1 --form-data fileb://use-case.json"),
        "{c}"
    );
}

#[test]
fn row_anthropic_form_older_wording() {
    let e = explain("You have not filled out the required use-case form for this model. Complete the form at https://ap-southeast-4.console.aws.amazon.com/bedrock/ before requesting access.");
    assert_eq!(e.gate, Some(Gate::ModelAccess));
    assert_eq!(e.facts.region.as_deref(), Some("ap-southeast-4"));
}

#[test]
fn row_region_invalid_identifier() {
    // Nova Canvas in us-west-2 (aws-samples/amazon-bedrock-workshop#340)
    let text = "botocore.errorfactory.ValidationException: An error occurred (ValidationException) when calling the InvokeModel operation: The provided model identifier is invalid.\n  endpoint https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.nova-canvas-v1%3A0/invoke";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Region));
    assert_eq!(e.facts.region.as_deref(), Some("us-west-2"));
    assert_eq!(e.facts.model.as_deref(), Some("amazon.nova-canvas-v1:0"));
    assert!(
        e.fix
            .contains("Regions that offer it: us-east-1, ap-northeast-1, eu-west-1"),
        "{}",
        e.fix
    );
    assert_eq!(
        e.command.as_deref(),
        Some(
            r#"aws bedrock-runtime converse --region us-east-1 --model-id amazon.nova-canvas-v1:0 --messages '[{"role":"user","content":[{"text":"hi"}]}]'"#
        )
    );
}

#[test]
fn row_region_wrong_geo_prefix() {
    // an eu. profile called from us-east-1 (strands-agents/harness-sdk#38)
    let text = "An error occurred (ValidationException) when calling the Converse operation: The provided model identifier is invalid. modelId='eu.anthropic.claude-3-7-sonnet-20250219-v1:0' region_name='us-east-1'";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Region));
    assert_eq!(
        e.facts.inference_profile.as_deref(),
        Some("eu.anthropic.claude-3-7-sonnet-20250219-v1:0")
    );
    assert!(
        e.fix
            .contains("From us-east-1 use us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
        "{}",
        e.fix
    );
}

#[test]
fn row_region_model_not_found() {
    let e = explain(&cli(
        "ResourceNotFoundException",
        "Converse",
        "Model not found.",
    ));
    assert_eq!(e.gate, Some(Gate::Region));
}

#[test]
fn row_region_profile_only_by_bare_id() {
    let text = "An error occurred (ValidationException) when calling the Converse operation: Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Region));
    assert_eq!(
        e.facts.model.as_deref(),
        Some("anthropic.claude-3-7-sonnet-20250219-v1:0")
    );
    assert!(e
        .fix
        .contains("us.anthropic.claude-3-7-sonnet-20250219-v1:0"));
    // with a Region in the text, only the profiles callable from it
    let e = explain(&format!("{text} (region us-east-1) https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse"));
    assert_eq!(e.facts.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        e.command.as_deref(),
        Some(
            r#"aws bedrock-runtime converse --region us-east-1 --model-id us.anthropic.claude-3-7-sonnet-20250219-v1:0 --messages '[{"role":"user","content":[{"text":"hi"}]}]'"#
        )
    );
    assert!(!e.fix.contains("eu.anthropic"));
    // a straight apostrophe and a mangled one too
    assert_eq!(gate(&text.replace('’', "'")), "region");
    assert_eq!(gate(&text.replace('’', "â€™")), "region");
    assert_eq!(gate(&text.replace('’', "\\u2019")), "region");
}

#[test]
fn row_region_variant_without_on_demand() {
    let e = explain("An error occurred (ValidationException) when calling the InvokeModel operation: The provided model doesn't support on-demand throughput. modelId=\"anthropic.claude-3-sonnet-20240229-v1:0:28k\"");
    assert_eq!(e.gate, Some(Gate::Region));
    assert!(e.fix.contains("anthropic.claude-3-sonnet-20240229-v1:0"));
}

#[test]
fn row_not_a_gate_embedding_model_in_converse() {
    let e = explain(&cli("ValidationException", "Converse", "This action doesn't support the model that you provided. Try again with a supported text or chat model."));
    assert_eq!(e.gate, None);
    assert!(e.cause.starts_with("not a gate"));
}

#[test]
fn row_lifecycle_end_of_life() {
    let e = explain(&cli("ResourceNotFoundException", "Converse", "This model version has reached the end of its life. Please refer to the AWS documentation for more details."));
    assert_eq!(e.gate, Some(Gate::Region));
}

#[test]
fn row_lifecycle_legacy_inactive() {
    for days in ["15", "30"] {
        let e = explain(&cli("ResourceNotFoundException", "InvokeModel", &format!("Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last {days} days. Please upgrade to an active model on Amazon Bedrock")));
        assert_eq!(e.gate, Some(Gate::ModelAccess));
    }
}

#[test]
fn row_account_level_block() {
    let e = explain(&cli(
        "ValidationException",
        "InvokeModel",
        "Operation not allowed",
    ));
    assert_eq!(e.gate, Some(Gate::ModelAccess));
}

#[test]
fn row_throttling_rpm() {
    for spaces in [" ", "  "] {
        let e = explain(&cli("ThrottlingException", "Converse", &format!("Too many requests, please wait before trying again. You have sent too many requests.{spaces}Wait before trying again.")));
        assert_eq!(e.gate, Some(Gate::Quota));
        assert!(e.cause.contains("requests-per-minute"));
        assert!(e
            .command
            .unwrap()
            .starts_with("aws service-quotas list-service-quotas --service-code bedrock"));
    }
}

#[test]
fn row_throttling_tpm_with_full_headers() {
    let text = "HTTP/1.1 429\nContent-Type: application/json\nContent-Length: 63\nx-amzn-ErrorType: ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/\nx-amzn-RequestId: ca47a5ce-e260-4824-aa0e-2e62669d5d6e\n\n{\"message\":\"Too many tokens, please wait before trying again.\"}";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Quota));
    assert!(e.cause.contains("tokens-per-minute"));
    assert_eq!(e.facts.error_code.as_deref(), Some("ThrottlingException"));
    assert_eq!(e.facts.http_status, Some(429));
    assert_eq!(
        e.facts.request_id.as_deref(),
        Some("ca47a5ce-e260-4824-aa0e-2e62669d5d6e")
    );
}

#[test]
fn row_throttling_tokens_per_day() {
    let e = explain(&cli(
        "ThrottlingException",
        "Converse",
        "Too many tokens per day, please wait before trying again.",
    ));
    assert_eq!(e.gate, Some(Gate::Quota));
    assert!(e.cause.contains("tokens-per-day"));
}

#[test]
fn row_capacity() {
    let e = explain(&cli(
        "ServiceUnavailableException",
        "Converse",
        "Bedrock is unable to process your request.",
    ));
    assert_eq!(e.gate, Some(Gate::Quota));
    assert!(e.cause.contains("not your quota"));
}

#[test]
fn row_input_limit_is_not_a_gate() {
    let e = explain(&cli("ValidationException", "InvokeModel", "The maximum tokens you requested exceed the model limit of 4096. Try again with a maximum tokens value lower than 4096."));
    assert_eq!(e.gate, None);
    assert!(e.cause.starts_with("not a gate"));
}

#[test]
fn row_old_sdk_or_wrong_endpoint() {
    let e = explain("x-amzn-ErrorType: ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock.build/\n{\"message\":\"The requested operation is not recognized by the service.\"}");
    assert_eq!(e.gate, None);
    assert_eq!(e.facts.error_code.as_deref(), Some("ValidationException"));
    assert!(e.cause.starts_with("not a gate"));
}

#[test]
fn row_schema_validation() {
    let e = explain(&cli("ValidationException", "InvokeModel", "1 validation error detected: Value 'anthropic.claude-v2:0:100k' at 'modelId' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}/[a-z0-9]{12})|(:foundation-model/[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.:]?[a-z0-9-]{1,63}))))|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([.:]?[a-z0-9-]{1,63}))"));
    assert_eq!(e.gate, None);
    assert!(e.cause.starts_with("not a gate"));
}

#[test]
fn row_prompt_resource() {
    let e = explain(&cli(
        "AccessDeniedException",
        "Converse",
        "Your account is not authorized to invoke this API operation with a prompt resource.",
    ));
    assert_eq!(e.gate, Some(Gate::ModelAccess));
    assert!(e.cause.contains("Prompt management"));
}

#[test]
fn subscription_in_flight() {
    let e = explain(&cli("AccessDeniedException", "Converse", "Your account is not authorized to access this model. Your AWS Marketplace subscription for this model is still being processed"));
    assert_eq!(e.gate, Some(Gate::ModelAccess));
    assert!(e.fix.starts_with("Wait"));
}

// ---- SigV4 ----

#[test]
fn sigv4_signature_mismatch() {
    let e = explain("An error occurred (InvalidSignatureException) when calling the Converse operation: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
    assert_eq!(e.gate, Some(Gate::Credentials));
    assert!(e.cause.contains("secret access key"));
    let e = explain("<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error></ErrorResponse>");
    assert_eq!(e.gate, Some(Gate::Credentials));
    assert_eq!(e.facts.error_code.as_deref(), Some("SignatureDoesNotMatch"));
}

#[test]
fn sigv4_not_yet_current() {
    let e = explain("Signature not yet current: 20250130T211000Z is still later than 20250130T210500Z (20250130T210000Z + 5 min.)");
    assert_eq!(e.gate, Some(Gate::Credentials));
    assert_eq!(
        e.facts.clock_skew.as_deref(),
        Some("client clock 10m 0s ahead (signed 20250130T211000Z, server time 20250130T210000Z)")
    );
}

#[test]
fn sigv4_unknown_token_sts() {
    let e = explain("An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.");
    assert_eq!(e.gate, Some(Gate::Credentials));
}

#[test]
fn sigv4_expired_token() {
    for t in [
        cli(
            "ExpiredTokenException",
            "Converse",
            "The security token included in the request is expired",
        ),
        cli(
            "ExpiredToken",
            "GetCallerIdentity",
            "The security token included in the request is expired",
        ),
        "Error when retrieving token from sso: Token has expired and refresh failed".to_string(),
    ] {
        let e = explain(&t);
        assert_eq!(e.gate, Some(Gate::Credentials), "{t}");
        assert!(e.cause.contains("expired"));
    }
}

#[test]
fn sigv4_wrong_region_scope() {
    let e = explain("An error occurred (InvalidSignatureException) when calling the Converse operation: Credential should be scoped to a valid region. ");
    assert_eq!(e.gate, Some(Gate::Credentials));
    assert!(e.cause.contains("Region"));
    let e = explain("An error occurred (InvalidSignatureException) when calling the Converse operation: Credential should be scoped to correct service: 'bedrock'. ");
    assert_eq!(e.gate, Some(Gate::Credentials));
}

#[test]
fn sigv4_missing_and_no_credentials() {
    assert_eq!(
        gate(r#"{"message":"Missing Authentication Token"}"#),
        "credentials"
    );
    assert_eq!(
        gate("botocore.exceptions.NoCredentialsError: Unable to locate credentials"),
        "credentials"
    );
    assert_eq!(
        gate("CredentialsProviderError: Could not load credentials from any providers"),
        "credentials"
    );
    assert_eq!(gate("dispatch failure: other: the credential provider was not enabled: no providers in chain provided credentials"), "credentials");
    assert_eq!(gate("dispatch failure: other: the credential provider was not enabled: no credentials found in chain. Attempted:; Environment: the credential provider was not enabled: environment variable not set"), "credentials");
}

// ---- renderings ----

#[test]
fn boto3_traceback() {
    let text = r#"Traceback (most recent call last):
  File "/app/main.py", line 12, in <module>
    response = client.converse(modelId="us.anthropic.claude-sonnet-4-20250514-v1:0", messages=messages)
  File "/usr/lib/python3.11/site-packages/botocore/client.py", line 1021, in _make_api_call
    raise error_class(parsed_response, operation_name)
botocore.errorfactory.AccessDeniedException: An error occurred (AccessDeniedException) when calling the Converse operation: User: arn:aws:iam::123456789012:user/alice is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0 because no identity-based policy allows the bedrock:InvokeModel action"#;
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Iam));
    assert_eq!(
        e.facts.inference_profile.as_deref(),
        Some("us.anthropic.claude-sonnet-4-20250514-v1:0")
    );
    assert_eq!(
        e.facts.model.as_deref(),
        Some("anthropic.claude-sonnet-4-20250514-v1:0")
    );
    assert_eq!(e.facts.region.as_deref(), Some("us-east-1"));
    assert_eq!(e.facts.operation.as_deref(), Some("Converse"));
    assert!(e
        .facts
        .message
        .as_deref()
        .unwrap()
        .starts_with("User: arn:aws:iam::123456789012:user/alice is not"));
    let c = e.command.unwrap();
    assert!(c.starts_with("aws iam put-user-policy --user-name alice --policy-name bedrock-gates-allow --policy-document '"));
    // the fix allows the profile and the model in the source and every destination Region
    for arn in [
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
    ] {
        assert!(c.contains(arn), "{arn} missing from {c}");
    }
    assert!(e.fix.contains("bedrock-gates policy generate --model anthropic.claude-sonnet-4-20250514-v1:0 --region us-east-1 --profile-prefix us"), "{}", e.fix);
}

#[test]
fn rust_sdk_debug_print() {
    let text = r#"ServiceError(ServiceError { source: AccessDeniedException(AccessDeniedException { message: Some("User: arn:aws:iam::111111111111:user/dev is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 because no permissions boundary allows the bedrock:InvokeModel action"), meta: ErrorMetadata { code: Some("AccessDeniedException"), message: Some("User: …"), extras: Some({"aws_request_id": "5d9a0a3c-0000-4000-8000-000000000000"}) } }), raw: Response { status: StatusCode(403), headers: Headers { headers: {"x-amzn-errortype": HeaderValue { _private: H0("AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/") }} } } })"#;
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Iam));
    assert_eq!(e.facts.error_code.as_deref(), Some("AccessDeniedException"));
    assert_eq!(e.facts.policy_type.as_deref(), Some("boundary"));
    assert!(e.command.unwrap().starts_with(
        "aws iam get-user --user-name dev --query User.PermissionsBoundary.PermissionsBoundaryArn"
    ));
}

#[test]
fn go_sdk_rendering() {
    let text = "operation error Bedrock Runtime: Converse, https response error StatusCode: 400, RequestID: 3f1e6a3b-8d4c-4b6e-9f0a-1c2d3e4f5a6b, ValidationException: Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.";
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Region));
    assert_eq!(e.facts.error_code.as_deref(), Some("ValidationException"));
    assert_eq!(e.facts.http_status, Some(400));
    assert_eq!(e.facts.operation.as_deref(), Some("Converse"));
    assert_eq!(
        e.facts.request_id.as_deref(),
        Some("3f1e6a3b-8d4c-4b6e-9f0a-1c2d3e4f5a6b")
    );
    assert!(e
        .facts
        .message
        .as_deref()
        .unwrap()
        .starts_with("Invocation of model ID anthropic.claude-sonnet-4-5"));
}

#[test]
fn js_sdk_rendering() {
    let text = r#"AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/BedrockApp/i-0abc is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:eu-central-1::foundation-model/amazon.nova-pro-v1:0 with an explicit deny in an identity-based policy
    at de_AccessDeniedExceptionRes (/app/node_modules/@aws-sdk/client-bedrock-runtime/dist-cjs/index.js:1214:21) {
  '$fault': 'client',
  '$metadata': {
    httpStatusCode: 403,
    requestId: '0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0',
    attempts: 1,
    totalRetryDelay: 0
  }
}"#;
    let e = explain(text);
    assert_eq!(e.gate, Some(Gate::Iam));
    assert_eq!(e.facts.http_status, Some(403));
    assert_eq!(e.facts.region.as_deref(), Some("eu-central-1"));
    assert_eq!(e.facts.explicit_deny, Some(true));
    assert_eq!(
        e.facts.request_id.as_deref(),
        Some("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")
    );
    assert_eq!(
        e.command.as_deref(),
        Some("aws iam list-role-policies --role-name BedrockApp\naws iam list-attached-role-policies --role-name BedrockApp")
    );
}

#[test]
fn raw_json_body_with_capital_message() {
    let e = explain(
        r#"{"Message":"User: arn:aws:sts::1:assumed-role/r is not authorized to perform: bedrock:InvokeModelWithResponseStream"}"#,
    );
    assert_eq!(e.gate, Some(Gate::Iam));
    assert_eq!(
        e.facts.action.as_deref(),
        Some("bedrock:InvokeModelWithResponseStream")
    );
}

#[test]
fn session_policy_denial() {
    let e = explain("User: arn:aws:sts::123456789012:assumed-role/ml/alice is not authorized to perform: bedrock:InvokeModel because no session policy allows the bedrock:InvokeModel action");
    assert_eq!(e.gate, Some(Gate::Iam));
    assert_eq!(e.facts.policy_type.as_deref(), Some("session"));
    assert_eq!(
        e.command.as_deref(),
        Some("aws sts assume-role --role-arn arn:aws:iam::123456789012:role/ml --role-session-name bedrock")
    );
}

#[test]
fn scp_region_restriction_on_a_destination() {
    let e = explain("User: arn:aws:iam::111111111111:user/crisfull is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0 with an explicit deny in a service control policy: arn:aws:organizations::999999999999:policy/o-exampleorg1/service_control_policy/p-regionsonly");
    assert_eq!(e.facts.policy_type.as_deref(), Some("scp"));
    assert_eq!(e.facts.region.as_deref(), Some("us-east-2"));
    assert!(e
        .cause
        .contains("aws:RequestedRegion for this ARN is us-east-2"));
    assert_eq!(
        e.command.as_deref(),
        Some("aws organizations describe-policy --policy-id p-regionsonly   # in the management account")
    );
}

#[test]
fn availability_json() {
    let e = explain(
        r#"{"modelId":"anthropic.claude-3-haiku-20240307-v1:0","agreementAvailability":{"status":"PENDING"},"authorizationStatus":"AUTHORIZED","entitlementAvailability":"AVAILABLE","regionAvailability":"AVAILABLE"}"#,
    );
    assert_eq!(e.gate, Some(Gate::ProviderTerms));
    let e = explain(
        r#"{"modelId":"amazon.nova-canvas-v1:0","agreementAvailability":{"status":"AVAILABLE"},"authorizationStatus":"AUTHORIZED","entitlementAvailability":"AVAILABLE","regionAvailability":"NOT_AVAILABLE"}"#,
    );
    assert_eq!(e.gate, Some(Gate::Region));
}

#[test]
fn region_not_configured_or_not_bedrock() {
    assert_eq!(
        gate("botocore.exceptions.NoRegionError: You must specify a region."),
        "region"
    );
    assert_eq!(
        gate(
            r#"botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: "https://bedrock-runtime.moon-1.amazonaws.com/model/amazon.nova-lite-v1%3A0/converse""#
        ),
        "region"
    );
}

// ---- unknown is never a guess ----

#[test]
fn nonsense_is_unknown() {
    for t in [
        "",
        "hello world",
        "segmentation fault (core dumped)",
        "{\"ok\":true}",
        "The quick brown fox",
    ] {
        let e = explain(t);
        assert_eq!(e.gate, None, "{t:?}");
    }
}

#[test]
fn unrecognised_access_denied_is_unknown() {
    let e = explain(&cli(
        "AccessDeniedException",
        "Converse",
        "Something new that AWS started saying.",
    ));
    assert_eq!(e.gate, None);
    assert!(e.cause.contains("IAM or from model access"));
    assert!(e.fix.contains("bedrock-gates doctor"));
}

#[test]
fn json_shape() {
    let v = explain(&cli(
        "ThrottlingException",
        "Converse",
        "Too many tokens, please wait before trying again.",
    ))
    .to_json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["cause", "command", "facts", "fix", "gate"]);
    assert_eq!(v["gate"], "quota");
    assert_eq!(v["facts"]["error_code"], "ThrottlingException");
    assert_eq!(explain("nonsense").to_json()["gate"], "unknown");
}

#[test]
fn render_is_plain_without_colour() {
    let s = render(
        &explain("Too many tokens, please wait before trying again."),
        crate::style::Style::plain(),
    );
    assert!(s.starts_with("gate      quota\ncause     "), "{s}");
    assert!(!s.contains('\x1b'));
    let s = render(
        &explain("Too many tokens, please wait before trying again."),
        crate::style::Style { color: true },
    );
    assert!(s.contains("\x1b[1;31mquota\x1b[0m"));
}

// ---- §1.6 as one table: every row's verbatim text, in every rendering ----

/// A row of bedrock-facts §1.6 ("Real error messages, by gate", verbatim, copied here so that
/// this test runs without `../shared`): the exception AWS sends it with (where the table names
/// one), the HTTP status, AWS's message, and the gate (`unknown` for the rows that are not a
/// gate: `not a gate:` causes).
struct Row {
    situation: &'static str,
    code: Option<&'static str>,
    status: u16,
    message: &'static str,
    gate: &'static str,
    /// The sentence alone is too generic to name a gate; only with its exception code.
    needs_code: bool,
}

const fn row(
    situation: &'static str,
    code: Option<&'static str>,
    status: u16,
    message: &'static str,
    gate: &'static str,
) -> Row {
    Row {
        situation,
        code,
        status,
        message,
        gate,
        needs_code: false,
    }
}

const SECTION_1_6: [Row; 31] = [
    row("Credentials: bad key/token", Some("UnrecognizedClientException"), 403,
        "The security token included in the request is invalid.", "credentials"),
    row("Credentials: clock skew / old signature", Some("InvalidSignatureException"), 403,
        "Signature expired: 20250130T203827Z is now earlier than 20250130T204131Z (20250130T204631Z - 5 min.)", "credentials"),
    row("IAM: no allow", Some("AccessDeniedException"), 403,
        "User: arn:aws:sts::308535385114:assumed-role/…/log_classifier is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0 because no identity-based policy allows the bedrock:InvokeModel action", "iam"),
    row("IAM: Converse → same action", Some("AccessDeniedException"), 403,
        "User: arn:aws:sts::***:assumed-role/… is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:eu-w…", "iam"),
    row("IAM/SCP explicit deny on global CRIS", Some("AccessDeniedException"), 403,
        "User: arn:aws:sts::1111111111:assumed-role/user_role is not authorized to perform: bedrock:InvokeModelWithResponseStream on resource: arn:aws:bedrock:::foundation-model/anthropic.claude-opus-4-6-v1 with an explicit deny in a service control policy: arn:aws:organizations::0000000000:p…", "iam"),
    row("Control-plane IAM", Some("AccessDeniedException"), 403,
        "User: arn:aws:sts::ACCOUNT_ID:assumed-role/…/XXXX is not authorized to perform: bedrock:ListFoundationModels because no identity-based policy allows the bedrock:ListFoundationModels action", "iam"),
    row("Model access (pre-2025 console grant missing)", Some("AccessDeniedException"), 403,
        "You don't have access to the model with the specified model ID.", "model-access"),
    row("Model access (2023 wording)", Some("AccessDeniedException"), 403,
        "Your account is not authorized to invoke this API operation.", "model-access"),
    row("Marketplace subscription missing permissions (2026 wording)", Some("AccessDeniedException"), 403,
        "Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 5 minutes.", "model-access"),
    row("Marketplace subscription missing permissions (2025 wording)", Some("AccessDeniedException"), 403,
        "Model access is denied due to User: arn:aws:sts::957524092737:assumed-role/… is not authorized to perform: aws-marketplace:ViewSubscriptions on resource: * because no identity-based policy allows the aws-marketplace:ViewSubscriptions action. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 15 minutes.", "model-access"),
    row("Anthropic FTU form not submitted", Some("ResourceNotFoundException"), 404,
        "Model use case details have not been submitted for this account. Fill out the Anthropic use case details form before using the model. If you have already filled out the form, try again in 15 minutes.", "model-access"),
    row("Anthropic form (older wording, via a proxy)", None, 0,
        "You have not filled out the required use-case form for this model. Complete the form at https://ap-southeast-4.console.aws.amazon.com/bedrock/ before requesting access.", "model-access"),
    row("Region: model not offered in this Region / wrong geo prefix", Some("ValidationException"), 400,
        "The provided model identifier is invalid.", "region"),
    row("Region/ID: unknown variant", Some("ResourceNotFoundException"), 404,
        "Model not found.", "region"),
    row("INFERENCE_PROFILE-only model called by bare ID", Some("ValidationException"), 400,
        "Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.", "region"),
    row("INFERENCE_PROFILE-only model called by bare ID (amazon.nova-2-lite-v1:0)", Some("ValidationException"), 400,
        "Invocation of model ID amazon.nova-2-lite-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.", "region"),
    row("Context-length variant ID", Some("ValidationException"), 400,
        "The provided model doesn't support on-demand throughput.", "region"),
    row("Embedding/non-chat model in Converse", Some("ValidationException"), 400,
        "This action doesn't support the model that you provided. Try again with a supported text or chat model.", "unknown"),
    row("Lifecycle: EOL", Some("ResourceNotFoundException"), 404,
        "This model version has reached the end of its life. Please refer to the AWS documentation for more details.", "region"),
    row("Lifecycle: legacy + inactive account", Some("ResourceNotFoundException"), 404,
        "Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 15 days. Please upgrade to an active model on Amazon Bedrock", "model-access"),
    row("Lifecycle: legacy + inactive account (30 days)", Some("ResourceNotFoundException"), 404,
        "Access denied. This Model is marked by provider as Legacy and you have not been actively using the model in the last 30 days. Please upgrade to an active model on Amazon Bedrock", "model-access"),
    Row {
        needs_code: true,
        ..row("Account-level block (e.g. new/unverified account)", Some("ValidationException"), 400,
            "Operation not allowed", "model-access")
    },
    row("Throttling: RPM", Some("ThrottlingException"), 429,
        "Too many requests, please wait before trying again. You have sent too many requests. Wait before trying again.", "quota"),
    row("Throttling: RPM (two spaces before Wait)", Some("ThrottlingException"), 429,
        "Too many requests, please wait before trying again. You have sent too many requests.  Wait before trying again.", "quota"),
    row("Throttling: TPM", Some("ThrottlingException"), 429,
        "Too many tokens, please wait before trying again.", "quota"),
    row("Throttling: tokens/day quota", Some("ThrottlingException"), 429,
        "Too many tokens per day, please wait before trying again.", "quota"),
    row("Capacity", Some("ServiceUnavailableException"), 503,
        "Bedrock is unable to process your request.", "quota"),
    row("Input limit (model-specific wording)", Some("ValidationException"), 400,
        "The maximum tokens you requested exceed the model limit of 4096. Try again with a maximum tokens value lower than 4096.", "unknown"),
    row("Old SDK / wrong endpoint", Some("ValidationException"), 400,
        "The requested operation is not recognized by the service.", "unknown"),
    row("Schema validation", Some("ValidationException"), 400,
        "1 validation error detected: Value 'anthropic.claude-v2:0:100k' at 'modelId' failed to satisfy constraint: Member must satisfy regular expression pattern: …", "unknown"),
    row("Prompt resource not allowed", Some("AccessDeniedException"), 403,
        "Your account is not authorized to invoke this API operation with a prompt resource.", "model-access"),
];

/// The renderings of a row people paste: the bare sentence, the raw JSON body, the AWS CLI /
/// boto3 line, the CLI after its retries, and the HTTP response with `x-amzn-ErrorType` (§1.5).
fn renderings(r: &Row) -> Vec<(&'static str, String)> {
    let body = serde_json::json!({ "message": r.message }).to_string();
    let mut out = Vec::new();
    if !r.needs_code || r.code.is_none() {
        out.push(("sentence", r.message.to_string()));
        out.push(("json body", body.clone()));
    }
    if let Some(code) = r.code {
        out.push(("cli", cli(code, "Converse", r.message)));
        out.push((
            "cli after retries",
            format!("\nAn error occurred ({code}) when calling the InvokeModel operation (reached max retries: 4): {}\n", r.message),
        ));
        out.push((
            "http",
            format!(
                "HTTP/1.1 {}\nContent-Type: application/json\nx-amzn-ErrorType: {code}:http://internal.amazon.com/coral/com.amazon.bedrock/\nx-amzn-RequestId: ca47a5ce-e260-4824-aa0e-2e62669d5d6e\n\n{body}",
                r.status
            ),
        ));
    }
    out
}

#[test]
fn section_1_6_every_text_every_rendering() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for r in &SECTION_1_6 {
        for (how, text) in renderings(r) {
            let e = explain(&text);
            checked += 1;
            if e.gate_name() != r.gate {
                wrong.push(format!(
                    "{} ({how}): want {}, got {}: {}",
                    r.situation,
                    r.gate,
                    e.gate_name(),
                    e.cause
                ));
            } else if r.gate == "unknown" {
                assert!(
                    e.cause.starts_with("not a gate:"),
                    "{}: {}",
                    r.situation,
                    e.cause
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // 31 rows; the one that needs its code has 3 renderings, the one without a code 2
    assert_eq!(checked, 29 * 5 + 3 + 2);
    // every gate appears in the table
    for g in [
        "credentials",
        "region",
        "iam",
        "model-access",
        "quota",
        "unknown",
    ] {
        assert!(SECTION_1_6.iter().any(|r| r.gate == g), "{g}");
    }
}

#[test]
fn section_1_6_texts_as_quoted() {
    // rows the table quotes inside their rendering
    for (text, want) in [
        ("…when calling the Converse operation: User: arn:aws:sts::***:assumed-role/… is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:eu-w…", "iam"),
        (r#"HTTP 403 {"message":"Signature expired: 20250130T203827Z is now earlier than 20250130T204131Z (20250130T204631Z - 5 min.)"}"#, "credentials"),
        (r#"status 400, body {"message":"The provided model identifier is invalid."}"#, "region"),
        ("operation error Bedrock Runtime: Converse, https response error StatusCode: 400, RequestID: 3f1e6a3b-8d4c-4b6e-9f0a-1c2d3e4f5a6b, ValidationException: Invocation of model ID anthropic.claude-3-7-sonnet-20250219-v1:0 with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.", "region"),
        ("403 – Model access is denied due to IAM user or service role is not authorized to perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, aws-marketplace:Subscribe) to enable access to this model. Refer to the Amazon Bedrock documentation for further details. Your AWS Marketplace subscription for this model cannot be completed at this time. If you recently fixed this issue, try again after 5 minutes.", "model-access"),
        ("x-amzn-ErrorType: ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock.build/\n{\"message\":\"The requested operation is not recognized by the service.\"}", "unknown"),
        (r#"{"Message":"User: arn:aws:sts::1:assumed-role/r is not authorized to perform: bedrock:InvokeModelWithResponseStream"}"#, "iam"),
        ("HTTP/1.1 403\nContent-Type: application/json\nContent-Length: 74\nx-amzn-ErrorType: AccessDeniedException:http://internal.amazon.com/coral/com.amazon.bedrock/\n\n{\"message\":\"Your account is not authorized to invoke this API operation.\"}", "model-access"),
    ] {
        assert_eq!(gate(text), want, "{text}");
    }
}

#[test]
fn section_1_5_page_headings() {
    // The User Guide troubleshooting page's codes (§1.5), with their sentences where it gives one.
    for (text, want) in [
        (cli("FTUFormNotFilled", "Converse", "Model use case details have not been submitted for this account"), "model-access"),
        (cli("BadCScoreException", "Converse", "Your account is not authorized to access this model"), "model-access"),
        (cli("MPAgreementBeingCreated", "Converse", "Your account is not authorized to access this model. Your AWS Marketplace subscription for this model is still being processed"), "model-access"),
        (cli("AccessDeniedException", "Converse", "AWS Marketplace Agreement Failed within 15 minutes"), "provider-terms"),
        (cli("AccessDeniedException", "Converse", "AWS Marketplace Agreement Pending after 15 minutes"), "provider-terms"),
        (cli("InvalidClientTokenId", "GetCallerIdentity", "The security token included in the request is invalid."), "credentials"),
        (cli("IncompleteSignature", "GetCallerIdentity", "Authorization header requires 'Signature' parameter."), "credentials"),
        (cli("RequestExpired", "GetCallerIdentity", "Request has expired."), "credentials"),
    ] {
        assert_eq!(gate(&text), want, "{text}");
    }
}

// ---- the rule table ----

/// The keys derived from the gates' constants are exactly the fragments the classifier matched
/// before it read the constants: the table changed where the text comes from, not what matches.
#[test]
fn rule_keys_are_the_former_fragments() {
    assert_eq!(
        expired_token_key(),
        "security token included in the request is expired"
    );
    assert_eq!(
        invalid_token_key(),
        "security token included in the request is invalid"
    );
    assert_eq!(marketplace_key(), "model access is denied due to");
    assert_eq!(
        subscribing_key(),
        "marketplace subscription for this model is still being processed"
    );
    assert_eq!(
        use_case_key(),
        "model use case details have not been submitted"
    );
    assert!(bg_gates::access::NO_USE_CASE_MESSAGE
        .to_lowercase()
        .contains(&use_case_key()));
    assert_eq!(end_of_life_key(), "reached the end of its life");
    assert_eq!(legacy_key(), "marked by provider as legacy");
    assert_eq!(
        no_access_key(),
        "you don't have access to the model with the specified model id"
    );
    assert_eq!(
        not_authorized_key(),
        "your account is not authorized to access this model"
    );
    assert_eq!(
        on_demand_keys(),
        (
            "invocation of model id".to_string(),
            "with on-demand throughput isn".to_string()
        )
    );
    assert_eq!(
        invalid_model_id_key(),
        "the provided model identifier is invalid"
    );
    assert_eq!(tpd_key(), "too many tokens per day");
    assert_eq!(tpm_key(), "too many tokens");
    assert_eq!(rpm_key(), "too many requests");
    assert_eq!(
        unavailable_key(),
        "bedrock is unable to process your request"
    );
    assert_eq!(
        not_ready_key(),
        "model is not ready to serve inference requests"
    );
    assert_eq!(timeout_key(), "model has timed out");
    assert_eq!(
        not_chat_key(),
        "this action doesn't support the model that you provided"
    );
}

/// Rule names are unique, so a test can name the rule it reaches.
#[test]
fn rule_names_are_unique() {
    let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    names.sort_unstable();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n);
}

/// The name of the rule a text reaches, if any.
fn rule(text: &str) -> Option<&'static str> {
    let x = Text::new(text);
    let f = extract_facts(&x, bg_catalog::catalog());
    let region = f.region.clone().filter(|r| r != "unspecified");
    let c = Ctx {
        x: &x,
        catalog: bg_catalog::catalog(),
        code: f.error_code.clone().unwrap_or_default(),
        r_or: region.clone().unwrap_or_else(|| "<region>".into()),
        region,
    };
    matching_rule(&c).map(|r| r.name)
}

/// One test per rule: the text reaches the rule, which names the gate and a command (`Some`:
/// a fragment the command contains; `None`: no command).
macro_rules! rule_test {
    ($test:ident, $text:expr, $rule:literal, $gate:expr, $command:expr) => {
        #[test]
        fn $test() {
            let text: String = $text.into();
            assert_eq!(rule(&text), Some($rule), "{text}");
            let e = explain(&text);
            assert_eq!(e.gate, $gate, "{text}");
            let command: Option<&str> = $command;
            match command {
                Some(fragment) => assert!(
                    e.command.as_deref().is_some_and(|c| c.contains(fragment)),
                    "{:?} lacks {fragment:?}",
                    e.command
                ),
                None => assert_eq!(e.command, None),
            }
        }
    };
}

use bg_gates::access::{
    FTU_MESSAGE, LEGACY_MESSAGE, MARKETPLACE_MESSAGE, NO_ACCESS_MESSAGE, NO_USE_CASE_MESSAGE,
    SUBSCRIBING_MESSAGE,
};
use bg_gates::credentials::CredentialError;
use bg_gates::quota::{FaultKind, RPM_MESSAGE, TPD_MESSAGE, TPM_MESSAGE};

const HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

rule_test!(
    rule_signature_time,
    cli(
        "InvalidSignatureException",
        "Converse",
        "Signature expired: 20240101T000000Z is now earlier than 20240101T001000Z (20240101T000500Z - 5 min.)"
    ),
    "signature-time",
    Some(Gate::Credentials),
    Some("timedatectl set-ntp true")
);
rule_test!(
    rule_request_expired,
    cli("RequestExpired", "InvokeModel", "Request has expired."),
    "request-expired",
    Some(Gate::Credentials),
    Some("timedatectl set-ntp true")
);
rule_test!(
    rule_expired_token,
    cli(
        "ExpiredTokenException",
        "Converse",
        CredentialError::ExpiredToken.message()
    ),
    "expired-token",
    Some(Gate::Credentials),
    Some("aws sso login")
);
rule_test!(
    rule_api_key_format,
    r#"Forbidden: {"Message":"Invalid API Key format: Must start with pre-defined prefix"}"#,
    "api-key-format",
    Some(Gate::Credentials),
    Some("unset AWS_BEARER_TOKEN_BEDROCK")
);
rule_test!(
    rule_api_key_invalid,
    cli(
        "AccessDeniedException",
        "Converse",
        bg_gates::api_key::AUTH_FAILED
    ),
    "api-key-invalid",
    Some(Gate::Credentials),
    Some("bedrock-gates api-key --region")
);
rule_test!(
    rule_api_key_iam,
    cli(
        "AccessDeniedException",
        "Converse",
        "User: arn:aws:iam::111111111111:user/dev is not authorized to perform: bedrock:CallWithBearerToken because no identity-based policy allows the bedrock:CallWithBearerToken action"
    ),
    "api-key-iam",
    Some(Gate::Iam),
    Some("bedrock:CallWithBearerToken")
);
rule_test!(
    rule_bearer_not_here,
    r#"<ErrorResponse><Error><Type>Sender</Type><Code>IncompleteSignature</Code><Message>Unsupported AWS 'algorithm': 'Bearer'.</Message></Error></ErrorResponse>"#,
    "bearer-not-here",
    Some(Gate::Credentials),
    Some("aws sts get-caller-identity")
);
rule_test!(
    rule_invalid_token,
    cli(
        "UnrecognizedClientException",
        "Converse",
        CredentialError::InvalidToken.message()
    ),
    "invalid-token",
    Some(Gate::Credentials),
    Some("aws configure list && aws sts get-caller-identity")
);
rule_test!(
    rule_signature_mismatch,
    cli(
        "InvalidSignatureException",
        "InvokeModel",
        "The request signature we calculated does not match the signature you provided."
    ),
    "signature-mismatch",
    Some(Gate::Credentials),
    Some("aws configure   # re-enter")
);
rule_test!(
    rule_scope_region,
    cli(
        "InvalidSignatureException",
        "InvokeModel",
        "Credential should be scoped to a valid region."
    ),
    "scope-region",
    Some(Gate::Credentials),
    Some("export AWS_REGION=")
);
rule_test!(
    rule_scope_service,
    cli(
        "InvalidSignatureException",
        "InvokeModel",
        "Credential should be scoped to correct service: 'bedrock'."
    ),
    "scope-service",
    Some(Gate::Credentials),
    None
);
rule_test!(
    rule_missing_auth_token,
    cli(
        "MissingAuthenticationTokenException",
        "InvokeModel",
        "Missing Authentication Token"
    ),
    "missing-auth-token",
    Some(Gate::Credentials),
    Some("aws configure list")
);
rule_test!(
    rule_no_credentials,
    "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
    "no-credentials",
    Some(Gate::Credentials),
    Some("aws configure list-profiles")
);
rule_test!(
    rule_incomplete_signature,
    cli(
        "IncompleteSignatureException",
        "InvokeModel",
        "Authorization header requires 'Signature' parameter."
    ),
    "incomplete-signature",
    Some(Gate::Credentials),
    Some("aws configure list")
);
rule_test!(
    rule_marketplace_first_use,
    cli("AccessDeniedException", "Converse", MARKETPLACE_MESSAGE),
    "marketplace-first-use",
    Some(Gate::ModelAccess),
    Some("bedrock-marketplace-first-use")
);
rule_test!(
    rule_marketplace_subscribing,
    cli("AccessDeniedException", "Converse", SUBSCRIBING_MESSAGE),
    "marketplace-subscribing",
    Some(Gate::ModelAccess),
    None
);
rule_test!(
    rule_use_case_form,
    cli("ResourceNotFoundException", "Converse", FTU_MESSAGE),
    "use-case-form",
    Some(Gate::ModelAccess),
    Some("aws bedrock put-use-case-for-model-access")
);
rule_test!(
    rule_use_case_form_not_on_file,
    cli(
        "ResourceNotFoundException",
        "GetUseCaseForModelAccess",
        NO_USE_CASE_MESSAGE
    ),
    "use-case-form",
    Some(Gate::ModelAccess),
    Some("aws bedrock put-use-case-for-model-access")
);
rule_test!(
    rule_end_of_life,
    cli(
        "ResourceNotFoundException",
        "Converse",
        bg_gates::checks::region::END_OF_LIFE_MESSAGE
    ),
    "end-of-life",
    Some(Gate::Region),
    Some("modelLifecycle.status==`ACTIVE`")
);
rule_test!(
    rule_legacy,
    cli("AccessDeniedException", "Converse", LEGACY_MESSAGE),
    "legacy",
    Some(Gate::ModelAccess),
    Some("modelLifecycle.status==`ACTIVE`")
);
rule_test!(
    rule_no_access,
    cli("AccessDeniedException", "Converse", NO_ACCESS_MESSAGE),
    "no-access",
    Some(Gate::ModelAccess),
    Some("aws bedrock get-foundation-model-availability")
);
rule_test!(
    rule_no_access_curly_apostrophe,
    cli(
        "AccessDeniedException",
        "Converse",
        &NO_ACCESS_MESSAGE.replace('\'', "\u{2019}")
    ),
    "no-access",
    Some(Gate::ModelAccess),
    Some("aws bedrock get-foundation-model-availability")
);
rule_test!(
    rule_prompt_resource,
    cli(
        "AccessDeniedException",
        "Converse",
        "Your account is not authorized to invoke this API operation with a prompt resource."
    ),
    "prompt-resource",
    Some(Gate::ModelAccess),
    None
);
rule_test!(
    rule_not_authorized_2023,
    cli(
        "AccessDeniedException",
        "InvokeModel",
        "Your account is not authorized to invoke this API operation."
    ),
    "not-authorized-2023",
    Some(Gate::ModelAccess),
    Some("aws bedrock get-foundation-model-availability")
);
rule_test!(
    rule_account_not_authorized,
    cli(
        "AccessDeniedException",
        "Converse",
        "Your account is not authorized to access this model."
    ),
    "account-not-authorized",
    Some(Gate::ModelAccess),
    None
);
rule_test!(
    rule_agreement_failed,
    cli(
        "AccessDeniedException",
        "InvokeModel",
        "The AWS Marketplace agreement failed for this model."
    ),
    "agreement-failed",
    Some(Gate::ProviderTerms),
    Some("aws bedrock get-foundation-model-availability")
);
rule_test!(
    rule_operation_not_allowed,
    cli(
        "ValidationException",
        "InvokeModel",
        "Operation not allowed"
    ),
    "operation-not-allowed",
    Some(Gate::ModelAccess),
    None
);
rule_test!(
    rule_availability_record,
    format!(
        r#"{{"modelId":"{HAIKU}","regionAvailability":"AVAILABLE","authorizationStatus":"AUTHORIZED","entitlementAvailability":"NOT_AVAILABLE","agreementAvailability":{{"status":"AVAILABLE"}}}}"#
    ),
    "availability-record",
    Some(Gate::ModelAccess),
    Some("aws bedrock list-foundation-model-agreement-offers")
);
rule_test!(
    rule_iam,
    cli(
        "AccessDeniedException",
        "InvokeModel",
        &format!("User: arn:aws:iam::123456789012:user/alice is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/{HAIKU} because no identity-based policy allows the bedrock:InvokeModel action")
    ),
    "iam",
    Some(Gate::Iam),
    Some("alice")
);
rule_test!(
    rule_profile_only,
    cli(
        "ValidationException",
        "Converse",
        &bg_gates::region::on_demand_unsupported("anthropic.claude-3-7-sonnet-20250219-v1:0")
    ),
    "profile-only",
    Some(Gate::Region),
    Some("aws bedrock-runtime converse")
);
rule_test!(
    rule_invalid_model_id,
    cli(
        "ValidationException",
        "Converse",
        bg_gates::region::INVALID_MODEL_ID
    ),
    "invalid-model-id",
    Some(Gate::Region),
    Some("aws bedrock list-foundation-models")
);
rule_test!(
    rule_provisioned_only,
    cli(
        "ValidationException",
        "Converse",
        "The provided model doesn\u{2019}t support on-demand throughput."
    ),
    "provisioned-only",
    Some(Gate::Region),
    None
);
rule_test!(
    rule_model_not_found,
    cli(
        "ResourceNotFoundException",
        "InvokeModel",
        "Model not found."
    ),
    "model-not-found",
    Some(Gate::Region),
    Some("aws bedrock list-foundation-models")
);
rule_test!(
    rule_no_region,
    "botocore.exceptions.NoRegionError: You must specify a region.",
    "no-region",
    Some(Gate::Region),
    Some("export AWS_REGION=us-east-1")
);
rule_test!(
    rule_no_endpoint,
    r#"botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: "https://bedrock-runtime.us-east-7.amazonaws.com/model/x/converse""#,
    "no-endpoint",
    Some(Gate::Region),
    Some("export AWS_REGION=us-east-1")
);
rule_test!(
    rule_tokens_per_day,
    cli("ThrottlingException", "Converse", TPD_MESSAGE),
    "tokens-per-day",
    Some(Gate::Quota),
    Some("aws service-quotas list-service-quotas --service-code bedrock")
);
rule_test!(
    rule_tokens_per_minute,
    cli("ThrottlingException", "Converse", TPM_MESSAGE),
    "tokens-per-minute",
    Some(Gate::Quota),
    Some("aws service-quotas list-service-quotas --service-code bedrock")
);
rule_test!(
    rule_requests_per_minute,
    cli("ThrottlingException", "Converse", RPM_MESSAGE),
    "requests-per-minute",
    Some(Gate::Quota),
    Some("aws service-quotas list-service-quotas --service-code bedrock")
);
rule_test!(
    rule_service_quota,
    cli(
        "ServiceQuotaExceededException",
        "CreateProvisionedModelThroughput",
        "Quota exceeded."
    ),
    "service-quota",
    Some(Gate::Quota),
    Some("aws service-quotas list-service-quotas --service-code bedrock")
);
rule_test!(
    rule_unavailable,
    cli(
        "ServiceUnavailableException",
        "Converse",
        FaultKind::Unavailable.http_error().2
    ),
    "unavailable",
    Some(Gate::Quota),
    None
);
rule_test!(
    rule_not_ready,
    cli(
        "ModelNotReadyException",
        "Converse",
        FaultKind::NotReady.http_error().2
    ),
    "not-ready",
    Some(Gate::Quota),
    None
);
rule_test!(
    rule_not_chat,
    cli(
        "ValidationException",
        "Converse",
        bg_gates::checks::request::NOT_CHAT
    ),
    "not-chat",
    None,
    None
);
rule_test!(
    rule_model_limit,
    cli(
        "ValidationException",
        "Converse",
        "Input is too long for requested model."
    ),
    "model-limit",
    None,
    None
);
rule_test!(
    rule_validation,
    cli(
        "ValidationException",
        "Converse",
        "1 validation error detected: Value 'x' at 'inferenceConfig.maxTokens' failed to satisfy constraint"
    ),
    "validation",
    None,
    None
);
rule_test!(
    rule_unknown_operation,
    cli(
        "UnknownOperationException",
        "Converse",
        "The requested operation is not recognized by the service."
    ),
    "unknown-operation",
    None,
    Some("pip install -U boto3 awscli")
);
rule_test!(
    rule_model_timeout,
    cli(
        "ModelTimeoutException",
        "Converse",
        FaultKind::Timeout.http_error().2
    ),
    "model-timeout",
    None,
    None
);

/// Every rule has a test above.
#[test]
fn every_rule_is_tested() {
    let src = include_str!("tests.rs");
    for r in RULES {
        assert!(
            src.contains(&format!("\n    \"{}\",\n", r.name)),
            "no rule_test! for {}",
            r.name
        );
    }
}
