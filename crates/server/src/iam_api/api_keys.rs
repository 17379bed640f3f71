//! IAM service-specific credentials: long-term Amazon Bedrock API keys.
//!
//! `CreateServiceSpecificCredential` for `bedrock.amazonaws.com` (with `CredentialAgeDays`,
//! 1..36600, absent = never expires), `List…`, `Update…` (Active/Inactive), `Reset…` (a new
//! secret) and `Delete…`. The key a client sends is `ABSK` + base64(`alias:secret`)
//! (`bg_gates::api_key`). Every write is durable before it is answered, and the next call's
//! snapshot sees it: a deleted, deactivated or expired key is shut at once.

use super::awsquery::{self, Checks, Xml};
use super::principals::{page_xml, user_for, user_for_with};
use super::{limit, no_such, Ctx, OpResult};
use crate::error::ApiError;
use bg_gates::api_key::SERVICE_NAME;
use bg_gates::{Change, Entity, Principal, ServiceCredential};

/// AWS's limit: two per user per service.
const PER_USER: usize = 2;

fn not_supported() -> ApiError {
    // The IAM model's text for ServiceNotSupportedException (code NotSupportedService, 404).
    ApiError::new(
        "NotSupportedService",
        404,
        "The specified service does not support service-specific credentials.",
    )
}

/// Service names IAM knows for service-specific credentials; only Bedrock's is served here.
fn check_service(name: &str) -> Result<(), ApiError> {
    if name == SERVICE_NAME {
        Ok(())
    } else {
        Err(not_supported())
    }
}

fn user_creds<'s>(cx: &'s Ctx, u: &Principal) -> Vec<&'s ServiceCredential> {
    let mut v: Vec<&ServiceCredential> = cx
        .state
        .service_credentials
        .values()
        .filter(|c| c.user_arn == u.arn)
        .collect();
    v.sort_by(|a, b| (a.created_unix, &a.id).cmp(&(b.created_unix, &b.id)));
    v
}

/// `ACCA` + 17 base-32 characters, as IAM's credential IDs look.
fn credential_id() -> String {
    let id = awsquery::access_key_id("ACCA");
    // access_key_id makes 20 characters; IAM's service-specific IDs are 21.
    format!("{id}{}", &awsquery::access_key_id("")[..1])
}

fn credential_xml(x: &mut Xml, c: &ServiceCredential, now: i64, with_secret: bool) {
    x.leaf("CreateDate", awsquery::iso8601(c.created_unix))
        .opt("ExpirationDate", c.expires_unix.map(awsquery::iso8601))
        .leaf("ServiceName", &c.service_name)
        .leaf("ServiceCredentialAlias", &c.alias);
    if with_secret {
        x.leaf("ServiceCredentialSecret", &c.secret);
    }
    x.leaf("ServiceSpecificCredentialId", &c.id)
        .leaf("UserName", &c.user_name)
        .leaf("Status", c.status(now));
}

/// Store `c` durably, then answer with it, secret included: the one time IAM shows the secret
/// (Create and Reset).
fn written_with_secret(cx: &Ctx, c: ServiceCredential) -> OpResult {
    cx.write(vec![Change::Put(Entity::ServiceCredential(c.clone()))])?;
    let mut x = Xml::new();
    x.open("ServiceSpecificCredential");
    credential_xml(&mut x, &c, cx.now, true);
    x.close("ServiceSpecificCredential");
    Ok(Some(x.finish()))
}

pub fn create(cx: &Ctx) -> OpResult {
    let service = cx.p.required("ServiceName")?;
    let age = cx.p.int("CredentialAgeDays")?;
    if let Some(days) = age {
        Checks::new()
            .range(days, "CredentialAgeDays", 1, 36_600)
            .done()?;
    }
    // The two condition keys AWS documents for this action, so that the SCPs AWS publishes
    // ("deny Bedrock API keys", "deny keys longer than 30 days") decide here as there. A key
    // that never expires sets no age: a policy tests that with `Null`.
    let u = user_for_with(cx, "iam:CreateServiceSpecificCredential", |r| {
        r.set("iam:ServiceSpecificCredentialServiceName", service);
        if let Some(days) = age {
            r.set("iam:ServiceSpecificCredentialAgeDays", days.to_string());
        }
    })?;
    check_service(service)?;
    if user_creds(cx, &u).len() >= PER_USER {
        // chosen: AWS's sentence is not known to us; shaped like its access-key quota text.
        return Err(limit(format!(
            "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {PER_USER}"
        )));
    }
    let user_name = u.name().to_string();
    let c = ServiceCredential {
        id: credential_id(),
        account: u.account.to_string(),
        user_arn: u.arn.clone(),
        alias: format!("{user_name}-at-{}", u.account),
        user_name,
        service_name: service.to_string(),
        secret: awsquery::secret_access_key(),
        created_unix: cx.now,
        expires_unix: age.map(|d| cx.now + d * 86_400),
        active: true,
    };
    written_with_secret(cx, c)
}

pub fn list(cx: &Ctx) -> OpResult {
    let service = cx.p.get("ServiceName");
    let all = cx.p.bool("AllUsers");
    if all && cx.p.get("UserName").is_some() {
        // chosen: the model says the two "cannot be specified together"; the text is ours.
        return Err(awsquery::validation(
            "AllUsers cannot be specified together with UserName.",
        ));
    }
    let mut creds: Vec<&ServiceCredential> = if all {
        cx.authorize_no_resource("iam:ListServiceSpecificCredentials")?;
        let mut v: Vec<&ServiceCredential> = cx
            .state
            .service_credentials
            .values()
            .filter(|c| c.account == cx.account)
            .collect();
        v.sort_by(|a, b| {
            (&a.user_name, a.created_unix, &a.id).cmp(&(&b.user_name, b.created_unix, &b.id))
        });
        v
    } else {
        let u = user_for(cx, "iam:ListServiceSpecificCredentials")?;
        user_creds(cx, &u)
    };
    if let Some(s) = service {
        creds.retain(|c| c.service_name == s);
    }
    let (creds, marker) = cx.page(creds)?;
    let mut x = Xml::new();
    x.list("ServiceSpecificCredentials", creds, |x, c| {
        credential_xml(x, c, cx.now, false)
    });
    page_xml(&mut x, marker);
    Ok(Some(x.finish()))
}

/// The credential `ServiceSpecificCredentialId` names, of the user the request is about.
fn owned(cx: &Ctx, action: &str) -> Result<ServiceCredential, ApiError> {
    let id = cx.p.required("ServiceSpecificCredentialId")?;
    Checks::new()
        .length(id, "serviceSpecificCredentialId", 20, 128)
        .done()?;
    let u = user_for(cx, action)?;
    cx.state
        .service_credentials
        .get(id)
        .filter(|c| c.user_arn == u.arn)
        .cloned()
        // chosen: shaped like IAM's access-key sentence.
        .ok_or_else(|| {
            no_such(format!(
                "No such credential {id} exists for user {}.",
                u.name()
            ))
        })
}

pub fn update(cx: &Ctx) -> OpResult {
    let status = cx.p.required("Status")?;
    if status != "Active" && status != "Inactive" {
        let mut c = Checks::new();
        c.fail(
            status,
            "status",
            "satisfy enum value set: [Active, Inactive, Expired]",
        );
        c.done()?;
    }
    let mut c = owned(cx, "iam:UpdateServiceSpecificCredential")?;
    c.active = status == "Active";
    cx.write(vec![Change::Put(Entity::ServiceCredential(c))])?;
    Ok(None)
}

pub fn reset(cx: &Ctx) -> OpResult {
    let mut c = owned(cx, "iam:ResetServiceSpecificCredential")?;
    c.secret = awsquery::secret_access_key();
    written_with_secret(cx, c)
}

pub fn delete(cx: &Ctx) -> OpResult {
    let c = owned(cx, "iam:DeleteServiceSpecificCredential")?;
    cx.write(vec![Change::Delete {
        kind: "service-credential",
        id: c.id,
    }])?;
    Ok(None)
}
