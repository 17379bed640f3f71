//! `bedrock-gates api-key`: a short-term Amazon Bedrock API key from the standard credential
//! chain, made as AWS's token generator libraries make it (aws-bedrock-token-generator-python
//! and -js): a SigV4 query-string presign of
//! `POST https://bedrock.amazonaws.com/?Action=CallWithBearerToken` for service `bedrock` in the
//! Region, the scheme stripped, `&Version=1` appended, base64, prefixed `bedrock-api-key-`.

use aws_config::BehaviorVersion;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use bg_gates::api_key::{MAX_SHORT_TERM_SECS, SHORT_TERM_HOST, SHORT_TERM_PREFIX};
use std::borrow::Cow;
use std::time::{Duration, SystemTime};

/// The token for `region` (or the configuration's), valid `expires` seconds (1..=43200).
pub async fn short_term(
    region: Option<&str>,
    profile: Option<&str>,
    expires: u64,
) -> Result<String, String> {
    if !(1..=MAX_SHORT_TERM_SECS).contains(&expires) {
        return Err(format!(
            "--expires must be between 1 and {MAX_SHORT_TERM_SECS} seconds (12 hours), not {expires}"
        ));
    }
    // The credential chain may call out (SSO, IMDS): the doctor's HTTPS client.
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(crate::doctor::https());
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_string()));
    }
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    let conf = loader.load().await;
    let region = conf
        .region()
        .map(|r| r.to_string())
        .ok_or("no Region: pass --region or set AWS_REGION (a key works only in its Region)")?;
    let provider = conf
        .credentials_provider()
        .ok_or("no credentials provider in the AWS configuration")?;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| format!("no AWS credentials to sign the key with: {e}"))?;
    Ok(presign(&creds.into(), &region, expires, SystemTime::now()))
}

/// The token, signed with `identity` at `time`.
pub fn presign(
    identity: &aws_smithy_runtime_api::client::identity::Identity,
    region: &str,
    expires: u64,
    time: SystemTime,
) -> String {
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires));
    let params = v4::SigningParams::builder()
        .identity(identity)
        .region(region)
        .name("bedrock")
        .time(time)
        .settings(settings)
        .build()
        .expect("every signing parameter is set")
        .into();
    let url = format!("https://{SHORT_TERM_HOST}/?Action=CallWithBearerToken");
    let headers = [("host", SHORT_TERM_HOST)];
    // The generators sign over https with the empty body's SHA-256 (botocore's default).
    let signable = SignableRequest::new(
        "POST",
        Cow::Owned(url),
        headers.into_iter(),
        SignableBody::Bytes(b""),
    )
    .expect("a fixed, valid request");
    let (instructions, _) = sign(signable, &params)
        .expect("presigning a fixed request")
        .into_parts();
    let mut query = String::from("Action=CallWithBearerToken");
    for (name, value) in instructions.params() {
        query.push('&');
        query.push_str(&bg_sigv4::uri_encode(name));
        query.push('=');
        query.push_str(&bg_sigv4::uri_encode(value));
    }
    let presigned = format!("{SHORT_TERM_HOST}/?{query}&Version=1");
    let b64 = base64::engine::general_purpose::STANDARD.encode(presigned);
    format!("{SHORT_TERM_PREFIX}{b64}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bg_gates::api_key::{describe, BearerKind};

    #[test]
    fn the_token_decodes_as_awss_generator_lays_it_out() {
        let id = aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "t");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let token = presign(&id.into(), "us-west-2", 43_200, t);
        assert!(token.starts_with(
            "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbFdpdGhCZWFyZXJUb2tlbi"
        ));
        let facts = describe(&token).unwrap();
        assert_eq!(facts.kind, BearerKind::ShortTerm);
        assert_eq!(facts.id, "AKIDEXAMPLE");
        assert_eq!(facts.region.as_deref(), Some("us-west-2"));
        assert_eq!(facts.expires_unix, Some(1_800_000_000 + 43_200));
    }
}
