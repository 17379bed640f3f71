//! Consistency checks run by `Catalog::from_toml_str` (ids are already unique when this runs).

use crate::{partition_of, Catalog, CatalogError, Model, QuotaDefault};
use std::collections::HashSet;

const SCHEMA_VERSION: u32 = 1;

pub(crate) fn check(c: &Catalog) -> Result<(), CatalogError> {
    if c.meta.schema_version != SCHEMA_VERSION {
        return Err(invalid(
            "meta",
            format!(
                "schema_version {} is not supported (expected {SCHEMA_VERSION})",
                c.meta.schema_version
            ),
        ));
    }

    for p in &c.partitions {
        let owner = format!("partition `{}`", p.id);
        non_empty(&owner, "id", &p.id)?;
        provenance(&owner, &p.source, &p.as_of)?;
        if p.regions.is_empty() {
            return Err(invalid(&owner, "lists no Regions".into()));
        }
        for r in &p.regions {
            if partition_of(r) != p.id {
                return Err(invalid(
                    &owner,
                    format!(
                        "Region `{r}` is named like a Region of partition `{}`",
                        partition_of(r)
                    ),
                ));
            }
        }
    }

    for r in &c.regions {
        let owner = format!("Region `{}`", r.id);
        non_empty(&owner, "name", &r.name)?;
        provenance(&owner, &r.source, &r.as_of)?;
        let Some(p) = c.partition(&r.partition) else {
            return Err(CatalogError::UnknownPartition {
                owner,
                partition: r.partition.clone(),
            });
        };
        if !p.regions.contains(&r.id) {
            return Err(invalid(
                &owner,
                format!("is not listed among the Regions of partition `{}`", p.id),
            ));
        }
    }

    for m in &c.models {
        check_model(c, m)?;
    }

    for q in &c.quotas {
        check_quota(c, q)?;
    }

    for p in &c.profiles {
        let owner = format!("inference profile `{}`", p.id);
        if p.prefix.is_empty()
            || !p
                .prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-')
        {
            return Err(invalid(
                &owner,
                format!("prefix `{}` is not a geography prefix", p.prefix),
            ));
        }
        let Some(model) = c.model(&p.model_id) else {
            return Err(CatalogError::UnknownModel {
                profile: p.id.clone(),
                model_id: p.model_id.clone(),
            });
        };
        non_empty(&owner, "name", &p.name)?;
        non_empty(&owner, "description", &p.description)?;
        provenance(&owner, &p.source, &p.as_of)?;
        for (field, t) in [("created_at", &p.created_at), ("updated_at", &p.updated_at)] {
            if let Some(t) = t {
                if !is_rfc3339(t) {
                    return Err(invalid(
                        &owner,
                        format!("`{field}` = `{t}` is not an RFC 3339 time"),
                    ));
                }
            }
        }
        if p.global != (p.prefix == "global") {
            return Err(invalid(
                &owner,
                "`global` must be true exactly for the `global` prefix".into(),
            ));
        }
        region_list(c, &owner, "source_regions", &p.source_regions, true)?;
        region_list(
            c,
            &owner,
            "destination_regions",
            &p.destination_regions,
            true,
        )?;
        for r in &p.source_regions {
            if !model.is_listed_in(r) {
                return Err(invalid(
                    &owner,
                    format!(
                        "is callable from `{r}` but model `{}` is not listed there",
                        model.id
                    ),
                ));
            }
        }
        let partitions: HashSet<&str> = p
            .source_regions
            .iter()
            .chain(&p.destination_regions)
            .map(|r| partition_of(r))
            .collect();
        if partitions.len() != 1 {
            return Err(invalid(&owner, "spans more than one partition".into()));
        }
        if p.global && !partitions.contains("aws") {
            return Err(invalid(
                &owner,
                "a global profile must stay in the commercial `aws` partition".into(),
            ));
        }
    }

    // Every profile-only Region must offer at least one profile of the model.
    for m in &c.models {
        for r in &m.profile_only_regions {
            if !c
                .profiles
                .iter()
                .any(|p| p.model_id == m.id && p.is_callable_from(r))
            {
                return Err(invalid(
                    &format!("model `{}`", m.id),
                    format!("is profile-only in `{r}` but no inference profile of it is callable from there"),
                ));
            }
        }
    }
    Ok(())
}

fn check_model(c: &Catalog, m: &Model) -> Result<(), CatalogError> {
    let owner = format!("model `{}`", m.id);
    if m.id.is_empty()
        || !m
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
    {
        return Err(invalid(
            &owner,
            "id must be a Bedrock model ID ([A-Za-z0-9._:-]+)".into(),
        ));
    }
    non_empty(&owner, "name", &m.name)?;
    non_empty(&owner, "provider", &m.provider)?;
    provenance(&owner, &m.source, &m.as_of)?;
    if m.input_modalities.is_empty() || m.output_modalities.is_empty() {
        return Err(invalid(&owner, "needs input and output modalities".into()));
    }
    region_list(c, &owner, "on_demand_regions", &m.on_demand_regions, false)?;
    region_list(
        c,
        &owner,
        "profile_only_regions",
        &m.profile_only_regions,
        false,
    )?;
    if let Some(r) = m
        .on_demand_regions
        .iter()
        .find(|r| m.profile_only_regions.contains(r))
    {
        return Err(invalid(
            &owner,
            format!("`{r}` is both on-demand and profile-only"),
        ));
    }
    for (field, t) in [
        ("start_of_life_time", &m.start_of_life_time),
        ("legacy_time", &m.legacy_time),
        ("end_of_life_time", &m.end_of_life_time),
    ] {
        if let Some(t) = t {
            if !is_rfc3339(t) {
                return Err(invalid(
                    &owner,
                    format!("`{field}` = `{t}` is not an RFC 3339 time"),
                ));
            }
        }
    }
    match (&m.embedding_dimensions, m.is_embedding()) {
        (Some(d), true) => {
            if !d.allowed.contains(&d.default) {
                return Err(invalid(
                    &owner,
                    "embedding_dimensions.default must be one of `allowed`".into(),
                ));
            }
        }
        (None, true) => {
            return Err(invalid(
                &owner,
                "an embedding model needs embedding_dimensions".into(),
            ))
        }
        (Some(_), false) => {
            return Err(invalid(
                &owner,
                "embedding_dimensions on a model that outputs no EMBEDDING".into(),
            ))
        }
        (None, false) => {}
    }
    if m.is_embedding() && m.converse {
        return Err(invalid(
            &owner,
            "Converse does not support embedding models".into(),
        ));
    }
    for (field, v) in [
        ("max_output_tokens", m.max_output_tokens),
        ("rpm", m.rpm),
        ("tpm", m.tpm),
    ] {
        if v == Some(0) {
            return Err(invalid(&owner, format!("`{field}` must be positive")));
        }
    }
    Ok(())
}

/// A `[[quotas]]` entry: a known model, provenance, at least one value, positive values, AWS
/// quota names, Bedrock Regions of this catalog.
fn check_quota(c: &Catalog, q: &QuotaDefault) -> Result<(), CatalogError> {
    let owner = format!("quota default `{}` ({})", q.model, q.kind);
    if c.model(&q.model).is_none() {
        return Err(invalid(
            &owner,
            "names a model the catalog does not have".into(),
        ));
    }
    provenance(&owner, &q.source, &q.as_of)?;
    let values = [("rpm", &q.rpm), ("tpm", &q.tpm), ("tpd", &q.tpd)];
    if values.iter().all(|(_, v)| v.is_none()) {
        return Err(invalid(&owner, "has none of `rpm`, `tpm`, `tpd`".into()));
    }
    for (field, v) in values {
        let Some(v) = v else { continue };
        non_empty(&owner, field, &v.name)?;
        if v.other_regions == 0 || v.regions.values().any(|&n| n == 0) {
            return Err(invalid(
                &owner,
                format!("`{field}` values must be positive"),
            ));
        }
        for r in v.regions.keys() {
            if c.region(r).is_none() {
                return Err(CatalogError::UnknownRegion {
                    owner: owner.clone(),
                    field,
                    region: r.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Every entry is a known Bedrock Region and appears once; `required` lists must be non-empty.
fn region_list(
    c: &Catalog,
    owner: &str,
    field: &'static str,
    list: &[String],
    required: bool,
) -> Result<(), CatalogError> {
    if required && list.is_empty() {
        return Err(invalid(owner, format!("`{field}` is empty")));
    }
    let mut seen = HashSet::new();
    for r in list {
        if c.region(r).is_none() {
            return Err(CatalogError::UnknownRegion {
                owner: owner.to_string(),
                field,
                region: r.clone(),
            });
        }
        if !seen.insert(r.as_str()) {
            return Err(invalid(owner, format!("`{field}` lists `{r}` twice")));
        }
    }
    Ok(())
}

fn provenance(owner: &str, source: &str, as_of: &str) -> Result<(), CatalogError> {
    non_empty(owner, "source", source)?;
    if !is_date(as_of) {
        return Err(invalid(
            owner,
            format!("`as_of` = `{as_of}` is not a YYYY-MM-DD date"),
        ));
    }
    Ok(())
}

fn non_empty(owner: &str, field: &str, v: &str) -> Result<(), CatalogError> {
    if v.trim().is_empty() {
        return Err(invalid(owner, format!("`{field}` is empty")));
    }
    Ok(())
}

fn invalid(owner: &str, problem: String) -> CatalogError {
    CatalogError::Invalid {
        owner: owner.to_string(),
        problem,
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DD` with a plausible month and day.
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if !s.is_ascii() || b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    matches!(
        (digits(&s[0..4]), digits(&s[5..7]), digits(&s[8..10])),
        (Some(_), Some(1..=12), Some(1..=31))
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
pub(crate) fn is_rfc3339(s: &str) -> bool {
    if !s.is_ascii() || s.len() < 20 || !is_date(&s[..10]) {
        return false;
    }
    let rest = &s[10..];
    let b = rest.as_bytes();
    if !(b[0] == b'T' || b[0] == b't') || b.len() < 9 || b[3] != b':' || b[6] != b':' {
        return false;
    }
    let time_ok = matches!(
        (
            digits(&rest[1..3]),
            digits(&rest[4..6]),
            digits(&rest[7..9])
        ),
        (Some(0..=23), Some(0..=59), Some(0..=60))
    );
    if !time_ok {
        return false;
    }
    let mut tail = &rest[9..];
    if let Some(frac) = tail.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        tail = &frac[n..];
    }
    match tail {
        "Z" | "z" => true,
        _ => {
            let t = tail.as_bytes();
            t.len() == 6
                && (t[0] == b'+' || t[0] == b'-')
                && t[3] == b':'
                && matches!(
                    (digits(&tail[1..3]), digits(&tail[4..6])),
                    (Some(0..=23), Some(0..=59))
                )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_date("2026-02-15"));
        assert!(!is_date("2026-13-01"));
        assert!(!is_date("2026-02"));
        assert!(!is_date("botocore"));
    }

    #[test]
    fn rfc3339_times() {
        assert!(is_rfc3339("2024-09-30T00:00:00+00:00"));
        assert!(is_rfc3339("2024-11-04T18:05:38.433816+00:00"));
        assert!(is_rfc3339("2026-08-29T00:00:00Z"));
        assert!(!is_rfc3339("2026-08-29"));
        assert!(!is_rfc3339("2026-08-29T00:00:00"));
        assert!(!is_rfc3339("2026-08-29T25:00:00Z"));
        assert!(!is_rfc3339("2026-08-29T00:00:00.Z"));
    }
}
