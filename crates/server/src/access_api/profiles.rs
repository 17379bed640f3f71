//! Inference profiles: the catalog's system-defined (cross-Region) profiles as each account sees
//! them from the signed Region, and the account's application profiles (CreateInferenceProfile).

use super::wire::{self, Violations};
use crate::auth::Caller;
use crate::auth::Proto;
use crate::error::ApiError;
use crate::runtime::Refusal;
use crate::{json_response, App, Incoming};
use axum::body::Body;
use axum::http::Response;
use bg_catalog::{partition_of, InferenceProfile, ModelIdentifier};
use bg_gates::decide::Resource;
use bg_gates::state::AppProfile;
use bg_gates::{Change, Entity, State};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const TYPES: [&str; 2] = ["SYSTEM_DEFINED", "APPLICATION"];
const NAME_PATTERN: &str = "([0-9a-zA-Z][ _-]?)+";
const DESCRIPTION_PATTERN: &str = "([0-9a-zA-Z:.][ _-]?)+";
const TOKEN_PATTERN: &str = "[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?";
const TAG_PATTERN: &str = "[a-zA-Z0-9\\s._:/=+@-]*";
const IDENTIFIER_PATTERN: &str = "(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+";
const SOURCE_PATTERN: &str = "arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):(inference-profile|foundation-model)/[a-zA-Z0-9-:.]+";
/// ListInferenceProfiles without maxResults returns up to the maximum page.
const DEFAULT_PAGE: usize = 1000;

fn ok(status: u16, v: Value, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    Ok(json_response(
        status,
        v.to_string().into_bytes(),
        &inc.request_id,
    ))
}

/// What GetInferenceProfile / DeleteInferenceProfile answer for an identifier that names no
/// profile (AWS's text is not public).
pub fn not_found(identifier: &str) -> ApiError {
    ApiError::new(
        "ResourceNotFoundException",
        404,
        format!("The inference profile {identifier} does not exist."),
    )
}

/// One profile, as either kind renders.
enum Found<'a> {
    System(&'a InferenceProfile),
    App(Box<AppProfile>),
}

fn system_json(p: &InferenceProfile, region: &str, account: &str) -> Value {
    let mut o = Map::new();
    o.insert("inferenceProfileName".into(), json!(p.name));
    o.insert("description".into(), json!(p.description));
    // Only dates a real response showed are in the catalog; the rest are left out rather than
    // invented (both members are optional).
    if let Some(t) = p.created_at.as_deref().and_then(wire::rfc3339_norm) {
        o.insert("createdAt".into(), json!(t));
    }
    if let Some(t) = p.updated_at.as_deref().and_then(wire::rfc3339_norm) {
        o.insert("updatedAt".into(), json!(t));
    }
    o.insert("inferenceProfileArn".into(), json!(p.arn(region, account)));
    let models: Vec<Value> = p
        .model_arns()
        .into_iter()
        .map(|a| json!({ "modelArn": a }))
        .collect();
    o.insert("models".into(), Value::Array(models));
    o.insert("inferenceProfileId".into(), json!(p.id));
    o.insert("status".into(), json!("ACTIVE"));
    o.insert("type".into(), json!("SYSTEM_DEFINED"));
    Value::Object(o)
}

fn app_json(p: &AppProfile) -> Value {
    let mut o = Map::new();
    o.insert("inferenceProfileName".into(), json!(p.name));
    if let Some(d) = &p.description {
        o.insert("description".into(), json!(d));
    }
    if let Some(t) = wire::rfc3339_unix(p.created_unix) {
        o.insert("createdAt".into(), json!(t));
    }
    if let Some(t) = wire::rfc3339_unix(p.updated_unix) {
        o.insert("updatedAt".into(), json!(t));
    }
    o.insert("inferenceProfileArn".into(), json!(p.arn));
    let models: Vec<Value> = p
        .model_arns
        .iter()
        .map(|a| json!({ "modelArn": a }))
        .collect();
    o.insert("models".into(), Value::Array(models));
    o.insert("inferenceProfileId".into(), json!(p.id));
    o.insert("status".into(), json!("ACTIVE"));
    o.insert("type".into(), json!("APPLICATION"));
    Value::Object(o)
}

fn found_json(f: &Found, region: &str, account: &str) -> Value {
    match f {
        Found::System(p) => system_json(p, region, account),
        Found::App(p) => app_json(p),
    }
}

fn app_profile_arn(region: &str, account: &str, id: &str) -> String {
    format!(
        "arn:{}:bedrock:{region}:{account}:application-inference-profile/{id}",
        partition_of(region)
    )
}

/// The account's application profiles in the Region, oldest first (then by name: creation
/// times have one-second resolution).
fn app_profiles(state: &State, account: &str, region: &str) -> Vec<AppProfile> {
    let mut v: Vec<AppProfile> = state
        .app_profiles
        .values()
        .filter(|p| p.account == account && p.region == region)
        .cloned()
        .collect();
    v.sort_by(|a, b| (a.created_unix, &a.name, &a.id).cmp(&(b.created_unix, &b.name, &b.id)));
    v
}

// ---------------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------------

/// What an `InferenceProfileIdentifier` names, before looking it up.
enum Ident<'s> {
    System(&'s str),
    App(&'s str),
    /// An ARN of another Region or account: names nothing this caller can see here.
    Elsewhere,
}

fn check_identifier(identifier: &str) -> Result<(), ApiError> {
    let mut v = Violations::default();
    let n = identifier.chars().count();
    if n == 0 || n > 2048 {
        v.length(Some(identifier), "inferenceProfileIdentifier", n, 1, 2048);
        return v.into_result();
    }
    let tail_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-:.".contains(&b))
    };
    let ok = match bg_catalog::parse_model_identifier(identifier) {
        ModelIdentifier::Id(s) => tail_ok(s),
        ModelIdentifier::InferenceProfileArn { profile_id, .. } => tail_ok(profile_id),
        ModelIdentifier::ApplicationInferenceProfileArn { id, .. } => tail_ok(id),
        _ => false,
    };
    if !ok {
        v.pattern(
            Some(identifier),
            "inferenceProfileIdentifier",
            IDENTIFIER_PATTERN,
        );
    }
    v.into_result()
}

fn classify<'s>(identifier: &'s str, region: &str, account: &str) -> Ident<'s> {
    let here = |p: &str, r: &str, a: &str| p == partition_of(region) && r == region && a == account;
    match bg_catalog::parse_model_identifier(identifier) {
        ModelIdentifier::InferenceProfileArn {
            partition,
            region: r,
            account: a,
            profile_id,
        } if here(partition, r, a) => Ident::System(profile_id),
        ModelIdentifier::ApplicationInferenceProfileArn {
            partition,
            region: r,
            account: a,
            id,
        } if here(partition, r, a) => Ident::App(id),
        ModelIdentifier::Id(s) if s.contains('.') => Ident::System(s),
        ModelIdentifier::Id(s) => Ident::App(s),
        _ => Ident::Elsewhere,
    }
}

/// The ARN IAM checks for an identifier (whether or not the profile exists).
fn ident_arn(identifier: &str, ident: &Ident, region: &str, account: &str) -> String {
    match ident {
        Ident::System(id) => format!(
            "arn:{}:bedrock:{region}:{account}:inference-profile/{id}",
            partition_of(region)
        ),
        Ident::App(id) => app_profile_arn(region, account, id),
        Ident::Elsewhere => identifier.to_string(),
    }
}

fn lookup<'c>(
    app: &'c App,
    state: &State,
    ident: &Ident,
    region: &str,
    account: &str,
) -> Option<Found<'c>> {
    match ident {
        Ident::System(id) => app
            .catalog
            .profile(id)
            .filter(|p| p.is_callable_from(region))
            .map(Found::System),
        Ident::App(id) => state
            .app_profiles
            .get(&app_profile_arn(region, account, id))
            .map(|p| Found::App(Box::new(p.clone()))),
        Ident::Elsewhere => None,
    }
}

/// The IAM context for a request on an application profile: its tags as `aws:ResourceTag/…`.
/// The profile as IAM sees it: its ARN, with its tags as `aws:ResourceTag/…`.
fn resource(arn: String, found: Option<&Found>) -> Resource {
    let mut r = Resource::arn(arn);
    if let Some(Found::App(p)) = found {
        for (k, v) in &p.tags {
            r = r.with(format!("aws:ResourceTag/{k}"), v.clone());
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

pub fn get(
    app: &App,
    caller: &Caller,
    identifier: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    check_identifier(identifier)?;
    let (region, account) = (caller.region.as_str(), caller.identity.account.as_str());
    let ident = classify(identifier, region, account);
    let state = app.snapshot();
    let found = lookup(app, &state, &ident, region, account);
    let arn = ident_arn(identifier, &ident, region, account);
    app.authorize(
        caller,
        inc,
        Proto::Json,
        "bedrock:GetInferenceProfile",
        &[resource(arn, found.as_ref())],
    )?;
    match found {
        Some(f) => ok(200, found_json(&f, region, account), inc),
        None => Err(not_found(identifier).into()),
    }
}

pub fn delete(
    app: &App,
    caller: &Caller,
    identifier: &str,
    inc: &Incoming,
) -> Result<Response<Body>, Refusal> {
    check_identifier(identifier)?;
    let (region, account) = (caller.region.as_str(), caller.identity.account.as_str());
    let ident = classify(identifier, region, account);
    let state = app.snapshot();
    let found = lookup(app, &state, &ident, region, account);
    let arn = ident_arn(identifier, &ident, region, account);
    app.authorize(
        caller,
        inc,
        Proto::Json,
        "bedrock:DeleteInferenceProfile",
        &[resource(arn, found.as_ref())],
    )?;
    match found {
        Some(Found::App(p)) => {
            drop(state);
            app.write(&[Change::Delete {
                kind: "app-profile",
                id: p.arn.clone(),
            }])
            .map_err(wire::internal)?;
            ok(200, json!({}), inc)
        }
        Some(Found::System(p)) => Err(ApiError::validation(format!(
            "The inference profile {} is system-defined and can't be deleted. Only application inference profiles can be deleted.",
            p.id
        ))
        .into()),
        None => Err(not_found(identifier).into()),
    }
}

/// The opaque page token: base64url of `offset|type|check`, where the check binds it to the
/// account, Region and filter it was issued for.
fn page_token(offset: usize, filter: &str, account: &str, region: &str) -> String {
    let o = offset.to_string();
    let check = wire::b64url(&wire::digest(
        &["bedrock-gates page", &o, filter, account, region],
        18,
    ));
    wire::b64url(format!("{o}|{filter}|{check}").as_bytes())
}

fn parse_page_token(token: &str, filter: &str, account: &str, region: &str) -> Option<usize> {
    let raw = String::from_utf8(wire::b64url_decode(token)?).ok()?;
    let mut it = raw.splitn(3, '|');
    let (o, f, _) = (it.next()?, it.next()?, it.next()?);
    let offset: usize = o.parse().ok()?;
    (f == filter && page_token(offset, filter, account, region) == token).then_some(offset)
}

pub fn list(app: &App, caller: &Caller, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    let mut v = Violations::default();
    let max = match wire::query_param(inc, "maxResults") {
        None => DEFAULT_PAGE,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n < 1 => {
                v.constraint(
                    Some(&s),
                    "maxResults",
                    "Member must have value greater than or equal to 1",
                );
                0
            }
            Ok(n) if n > 1000 => {
                v.constraint(
                    Some(&s),
                    "maxResults",
                    "Member must have value less than or equal to 1000",
                );
                0
            }
            Ok(n) => n as usize,
            Err(_) => return Err(ApiError::wrong_type("maxResults", "an integer").into()),
        },
    };
    let type_filter = wire::query_param(inc, "type");
    if let Some(t) = &type_filter {
        if !TYPES.contains(&t.as_str()) {
            return Err(wire::enum_error(t, "typeEquals", &TYPES).into());
        }
    }
    let next = wire::query_param(inc, "nextToken");
    if let Some(t) = &next {
        let n = t.chars().count();
        v.length(Some(t), "nextToken", n, 1, 2048);
        if t.chars().any(char::is_whitespace) {
            v.pattern(Some(t), "nextToken", "\\S*");
        }
    }
    v.into_result()?;
    let (region, account) = (caller.region.as_str(), caller.identity.account.as_str());
    app.authorize(
        caller,
        inc,
        Proto::Json,
        "bedrock:ListInferenceProfiles",
        &[],
    )?;
    let filter = type_filter.as_deref().unwrap_or("ALL");
    let start = match &next {
        None => 0,
        Some(t) => parse_page_token(t, filter, account, region)
            .ok_or_else(|| ApiError::validation("The provided nextToken is invalid."))?,
    };
    let state = app.snapshot();
    let mut all: Vec<Value> = Vec::new();
    if filter != "APPLICATION" {
        all.extend(
            app.catalog
                .profiles_in_region(region)
                .map(|p| system_json(p, region, account)),
        );
    }
    if filter != "SYSTEM_DEFINED" {
        all.extend(app_profiles(&state, account, region).iter().map(app_json));
    }
    let end = start.saturating_add(max).min(all.len());
    let page: Vec<Value> = all.get(start.min(all.len())..end).unwrap_or(&[]).to_vec();
    let mut out = json!({ "inferenceProfileSummaries": page });
    if end < all.len() {
        out["nextToken"] = json!(page_token(end, filter, account, region));
    }
    ok(200, out, inc)
}

/// `([0-9a-zA-Z][ _-]?)+` and its description twin: runs of one "word" character, each
/// optionally followed by one separator.
fn matches_word_pattern(s: &str, word: impl Fn(char) -> bool) -> bool {
    let mut prev_word = false;
    for (i, c) in s.chars().enumerate() {
        if word(c) {
            prev_word = true;
        } else if matches!(c, ' ' | '_' | '-') && prev_word && i > 0 {
            prev_word = false;
        } else {
            return false;
        }
    }
    !s.is_empty()
}

fn token_ok(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

fn tag_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "._:/=+@-".contains(c))
}

struct CreateRequest {
    name: String,
    description: Option<String>,
    token: Option<String>,
    copy_from: String,
    tags: Vec<(String, String)>,
}

fn parse_create(inc: &Incoming) -> Result<CreateRequest, ApiError> {
    let body = wire::body_object(inc)?;
    let name = wire::opt_str(&body, "inferenceProfileName")?;
    let description = wire::opt_str(&body, "description")?;
    let token = wire::opt_str(&body, "clientRequestToken")?;
    let mut v = Violations::default();
    match name {
        None => v.null("inferenceProfileName"),
        Some(n) => {
            let len = n.chars().count();
            if !(1..=64).contains(&len) {
                v.length(Some(n), "inferenceProfileName", len, 1, 64);
            } else if !matches_word_pattern(n, |c| c.is_ascii_alphanumeric()) {
                v.pattern(Some(n), "inferenceProfileName", NAME_PATTERN);
            }
        }
    }
    if let Some(d) = description {
        // The description is a sensitive member: Coral does not echo it.
        let len = d.chars().count();
        if !(1..=200).contains(&len) {
            v.length(None, "description", len, 1, 200);
        } else if !matches_word_pattern(d, |c| c.is_ascii_alphanumeric() || c == ':' || c == '.') {
            v.pattern(None, "description", DESCRIPTION_PATTERN);
        }
    }
    if let Some(t) = token {
        let len = t.chars().count();
        if !(1..=256).contains(&len) {
            v.length(Some(t), "clientRequestToken", len, 1, 256);
        } else if !token_ok(t) {
            v.pattern(Some(t), "clientRequestToken", TOKEN_PATTERN);
        }
    }
    let copy_from = match body.get("modelSource") {
        None | Some(Value::Null) => {
            v.null("modelSource");
            None
        }
        Some(Value::Object(src)) => {
            // A union: exactly one member, and copyFrom is the only one.
            if src.len() != 1 || !src.contains_key("copyFrom") {
                return Err(ApiError::validation(
                    "1 validation error detected: Value at 'modelSource' failed to satisfy constraint: Member must have exactly one member set: copyFrom",
                ));
            }
            let c = wire::opt_str(src, "copyFrom")
                .map_err(|_| ApiError::wrong_type("modelSource.copyFrom", "a string"))?
                .unwrap_or_default();
            let len = c.chars().count();
            let shape_ok = matches!(
                bg_catalog::parse_model_identifier(c),
                ModelIdentifier::FoundationModelArn { .. }
                    | ModelIdentifier::InferenceProfileArn { .. }
            );
            if !(1..=2048).contains(&len) {
                v.length(Some(c), "modelSource.copyFrom", len, 1, 2048);
            } else if !shape_ok {
                v.pattern(Some(c), "modelSource.copyFrom", SOURCE_PATTERN);
            }
            Some(c.to_string())
        }
        Some(_) => return Err(ApiError::wrong_type("modelSource", "a structure")),
    };
    let mut tags = Vec::new();
    match body.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            if list.len() > 200 {
                v.constraint(
                    None,
                    "tags",
                    "Member must have length less than or equal to 200",
                );
            }
            for (i, t) in list.iter().enumerate() {
                let path = format!("tags.{}.member", i + 1);
                let o = t
                    .as_object()
                    .ok_or_else(|| ApiError::wrong_type(&path, "a structure"))?;
                let key = wire::opt_str(o, "key")
                    .map_err(|_| ApiError::wrong_type(&format!("{path}.key"), "a string"))?;
                let value = wire::opt_str(o, "value")
                    .map_err(|_| ApiError::wrong_type(&format!("{path}.value"), "a string"))?;
                match key {
                    None => v.null(format!("{path}.key")),
                    Some(k) => {
                        let len = k.chars().count();
                        if !(1..=128).contains(&len) {
                            v.length(Some(k), format!("{path}.key"), len, 1, 128);
                        } else if !tag_ok(k) {
                            v.pattern(Some(k), format!("{path}.key"), TAG_PATTERN);
                        }
                    }
                }
                match value {
                    None => v.null(format!("{path}.value")),
                    Some(val) => {
                        let len = val.chars().count();
                        if len > 256 {
                            v.length(Some(val), format!("{path}.value"), len, 0, 256);
                        } else if !tag_ok(val) {
                            v.pattern(Some(val), format!("{path}.value"), TAG_PATTERN);
                        }
                    }
                }
                if let (Some(k), Some(val)) = (key, value) {
                    tags.push((k.to_string(), val.to_string()));
                }
            }
        }
        Some(_) => return Err(ApiError::wrong_type("tags", "a list")),
    }
    v.into_result()?;
    let mut seen = std::collections::HashSet::new();
    if let Some((k, _)) = tags.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        // AWS's wording for a repeated tag key is not public.
        return Err(ApiError::validation(format!(
            "Duplicate tag key: {k}. Tag keys must be unique."
        )));
    }
    Ok(CreateRequest {
        name: name.unwrap_or_default().to_string(),
        description: description.map(str::to_string),
        token: token.map(str::to_string),
        copy_from: copy_from.unwrap_or_default(),
        tags,
    })
}

pub fn create(app: &App, caller: &Caller, inc: &Incoming) -> Result<Response<Body>, Refusal> {
    let req = parse_create(inc)?;
    let (region, account) = (caller.region.as_str(), caller.identity.account.as_str());
    let id = wire::lower_alnum(
        &[
            "bedrock-gates application profile",
            account,
            region,
            &req.name,
        ],
        12,
    );
    let arn = app_profile_arn(region, account, &id);

    // IAM: the new profile (with the request's tags) and the source it copies.
    let mut new = Resource::arn(arn.clone());
    for (k, v) in &req.tags {
        new = new.with(format!("aws:RequestTag/{k}"), v.clone());
    }
    if !req.tags.is_empty() {
        new = new.with_multi(
            "aws:TagKeys",
            req.tags.iter().map(|(k, _)| k.clone()).collect(),
        );
    }
    let state = app.snapshot();
    app.authorize(
        caller,
        inc,
        Proto::Json,
        "bedrock:CreateInferenceProfile",
        &[new, Resource::arn(req.copy_from.clone())],
    )?;

    // Idempotency: the same token returns what it created; a token reused for another
    // profile is a conflict.
    if let Some(t) = &req.token {
        if let Some(p) = state.app_profiles.values().find(|p| {
            p.account == account
                && p.region == region
                && p.client_request_token.as_deref() == Some(t)
        }) {
            if p.name == req.name {
                return ok(
                    201,
                    json!({ "inferenceProfileArn": p.arn, "status": "ACTIVE" }),
                    inc,
                );
            }
            return Err(ApiError::new(
                "ConflictException",
                400,
                format!("The clientRequestToken {t} was already used for a different request."),
            )
            .into());
        }
    }
    if state
        .app_profiles
        .values()
        .any(|p| p.account == account && p.region == region && p.name == req.name)
    {
        return Err(ApiError::new(
            "ConflictException",
            400,
            format!(
                "An inference profile with the name {} already exists.",
                req.name
            ),
        )
        .into());
    }

    let invalid_source = || ApiError::validation(bg_gates::region::INVALID_MODEL_ID);
    let (model_id, model_arns) = match bg_catalog::parse_model_identifier(&req.copy_from) {
        ModelIdentifier::FoundationModelArn {
            partition,
            region: r,
            model_id,
        } => {
            let m = app.catalog.model(model_id).ok_or_else(invalid_source)?;
            if r != region || partition != partition_of(region) || !m.is_listed_in(region) {
                return Err(invalid_source().into());
            }
            (m.id.clone(), vec![m.arn(region)])
        }
        ModelIdentifier::InferenceProfileArn {
            partition,
            region: r,
            account: a,
            profile_id,
        } => {
            let p = app
                .catalog
                .profile(profile_id)
                .filter(|p| p.is_callable_from(region))
                .ok_or_else(invalid_source)?;
            if r != region || partition != partition_of(region) || a != account {
                return Err(invalid_source().into());
            }
            (p.model_id.clone(), p.model_arns())
        }
        _ => return Err(invalid_source().into()),
    };
    let now = app.now_unix();
    let profile = AppProfile {
        arn: arn.clone(),
        id,
        account: account.to_string(),
        region: region.to_string(),
        name: req.name,
        description: req.description,
        model_id,
        model_arns,
        tags: req.tags.into_iter().collect::<BTreeMap<_, _>>(),
        client_request_token: req.token,
        created_unix: now,
        updated_unix: now,
    };
    drop(state);
    app.write(&[Change::Put(Entity::AppProfile(profile))])
        .map_err(wire::internal)?;
    ok(
        201,
        json!({ "inferenceProfileArn": arn, "status": "ACTIVE" }),
        inc,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_pattern() {
        let word = |c: char| c.is_ascii_alphanumeric();
        assert!(matches_word_pattern("my-profile_1", word));
        assert!(matches_word_pattern("a b c", word));
        assert!(matches_word_pattern("a-", word));
        assert!(!matches_word_pattern("-a", word));
        assert!(!matches_word_pattern("a--b", word));
        assert!(!matches_word_pattern("a.b", word));
        assert!(!matches_word_pattern("", word));
    }

    #[test]
    fn page_tokens_round_trip_and_are_bound() {
        let t = page_token(5, "ALL", "000000000000", "us-east-1");
        assert_eq!(
            parse_page_token(&t, "ALL", "000000000000", "us-east-1"),
            Some(5)
        );
        assert_eq!(
            parse_page_token(&t, "APPLICATION", "000000000000", "us-east-1"),
            None
        );
        assert_eq!(
            parse_page_token(&t, "ALL", "111111111111", "us-east-1"),
            None
        );
        assert_eq!(
            parse_page_token("garbage", "ALL", "000000000000", "us-east-1"),
            None
        );
    }

    #[test]
    fn request_tokens() {
        assert!(token_ok("a"));
        assert!(token_ok("3f2b1c4e-aaaa-4bbb-8ccc-123456789abc"));
        assert!(!token_ok("-a"));
        assert!(!token_ok("a_b"));
    }
}
