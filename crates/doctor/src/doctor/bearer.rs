//! The Bedrock API key in `AWS_BEARER_TOKEN_BEDROCK`: its format, its key and its IAM user.

use super::*;

/// `AWS_BEARER_TOKEN_BEDROCK`, as the SDKs read it: set and not empty.
pub(super) fn bearer_token() -> Option<String> {
    std::env::var("AWS_BEARER_TOKEN_BEDROCK")
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// The credentials gate when `AWS_BEARER_TOKEN_BEDROCK` is set: boto3, the AWS CLI and the
/// SDKs then send that key to bedrock and bedrock-runtime instead of SigV4 credentials (STS and
/// IAM still sign). The key is described from what it says about itself, never printed; its
/// principal is the long-term key's IAM user, or the credential chain's for a short-term key
/// (made from those credentials). The first Bedrock call below proves it either way.
pub(super) fn bearer_gate(
    gates: &mut [GateReport],
    report: &mut Report,
    token: &str,
    region: &str,
    sts: Result<Identity, CallError>,
) -> Option<(String, String)> {
    use bg_gates::api_key::{describe, BearerKind, KeyError};
    let sent = "AWS_BEARER_TOKEN_BEDROCK is set: boto3, the AWS CLI and the AWS SDKs send it to bedrock and bedrock-runtime in place of SigV4 credentials";
    let g = gate_mut(gates, Gate::Credentials);
    let facts = match describe(token) {
        Ok(f) => f,
        Err(e) => {
            let what = match e {
                KeyError::Format => {
                    "it is not an Amazon Bedrock API key (no ABSK or bedrock-api-key- prefix)"
                }
                _ => "it does not decode as a Bedrock API key (cut short or altered when copied)",
            };
            g.set(
                Status::Shut,
                format!("{sent}, but {what}: every Bedrock call answers \"{}\"", e.message()),
                Some("unset AWS_BEARER_TOKEN_BEDROCK to sign with your AWS credentials, or set it to a Bedrock API key: export AWS_BEARER_TOKEN_BEDROCK=$(bedrock-gates api-key --region REGION)".into()),
            );
            report.call =
                Call::Skipped("the API key cannot authenticate, so nothing else was tried".into());
            return None;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    match facts.kind {
        BearerKind::ShortTerm => {
            let key_region = facts.region.clone().unwrap_or_default();
            let expires = facts.expires_unix.unwrap_or(0);
            let shut = if expires <= now {
                Some(format!(
                    "it expired at {} (short-term keys last at most 12 hours)",
                    iso(expires)
                ))
            } else if key_region != region {
                Some(format!("it was made for {key_region} and works only there, but the call goes to {region}"))
            } else {
                None
            };
            let described = format!("{sent}: a SHORT_TERM API key signed by access key {} for {key_region}, valid until {}", facts.id, iso(expires));
            if let Some(why) = shut {
                g.set(
                    Status::Shut,
                    format!("{described}; {why}: Bedrock answers \"{}\"", bg_gates::api_key::AUTH_FAILED),
                    Some(format!("export AWS_BEARER_TOKEN_BEDROCK=$(bedrock-gates api-key --region {region})")),
                );
                report.call = Call::Skipped(
                    "the API key cannot authenticate, so nothing else was tried".into(),
                );
                return None;
            }
            g.note(described);
            match sts {
                Ok(o) => {
                    let arn = o.arn().unwrap_or_default().to_string();
                    let account = o.account().unwrap_or_default().to_string();
                    g.set(
                        Status::Open,
                        format!("the key's principal, as the credential chain that signs it: {arn} (sts:GetCallerIdentity)."),
                        None,
                    );
                    report.caller = Some(arn.clone());
                    Some((arn, account))
                }
                Err(e) => {
                    credentials_refused(gates, &e);
                    report.call = Call::Skipped("the short-term key's principal is not known (sts:GetCallerIdentity did not succeed), so nothing else was tried".into());
                    None
                }
            }
        }
        BearerKind::LongTerm => {
            // The alias is `<user>-at-<account>` (IAM's ServiceUserName form).
            let Some((user, account)) = facts.id.rsplit_once("-at-") else {
                g.set(
                    Status::Unknown,
                    format!(
                        "{sent}: a LONG_TERM API key with alias {}, which names no user",
                        facts.id
                    ),
                    None,
                );
                return None;
            };
            let arn = format!("arn:aws:iam::{account}:user/{user}");
            g.set(
                Status::Open,
                format!("{sent}: a LONG_TERM API key (alias {}) of IAM user {arn}; whether it is active and unexpired, the first Bedrock call below shows.", facts.id),
                None,
            );
            report.caller = Some(arn.clone());
            Some((arn, account.to_string()))
        }
    }
}

/// A bearer call also needs `bedrock:CallWithBearerToken` (with `bedrock:BearerTokenType`).
pub(super) async fn bearer_iam(iam: &aws::Iam, g: &mut GateReport, token: &str, source: &str) {
    let Ok(facts) = bg_gates::api_key::describe(token) else {
        return;
    };
    let kind = facts.kind.as_str();
    let r = simulate(
        iam.clone(),
        source.to_string(),
        vec!["bedrock:CallWithBearerToken".into()],
        "*".into(),
        vec![("bedrock:BearerTokenType".into(), kind.into())],
    )
    .await;
    match r {
        Ok(results) => {
            for (what, decision, details) in results {
                let evidence = format!(
                    "simulated {what} (bedrock:BearerTokenType={kind}): {decision}{}",
                    if details.is_empty() {
                        String::new()
                    } else {
                        format!(" ({details})")
                    }
                );
                if decision == "allowed" {
                    g.note(evidence);
                } else {
                    g.set(
                        Status::Shut,
                        evidence,
                        Some(format!("allow bedrock:CallWithBearerToken for {source} (AmazonBedrockLimitedAccess includes it), or remove the Deny that names it; or unset AWS_BEARER_TOKEN_BEDROCK and call with SigV4 credentials")),
                    );
                }
            }
        }
        Err(e) => g.note(format!(
            "could not simulate bedrock:CallWithBearerToken: {}",
            e.text()
        )),
    }
}

pub(super) fn iso(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}
