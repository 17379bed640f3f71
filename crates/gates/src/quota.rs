//! The throughput gate: requests-per-minute, tokens-per-minute and tokens-per-day quotas per
//! (account, Region, model), counted in memory on the gate clock (no database I/O per call),
//! and scripted faults for tests.
//!
//! Windows are fixed: the minute `floor(now / 60)` and the day `floor(now / 86400)`. A request
//! is admitted when one more request and its input tokens fit the current windows; its output
//! tokens are added when the answer is known. A cross-Region profile call may be served by any
//! destination, each with its own quota: the first destination with room serves it.

use crate::{Deny, ErrorCode, Gate};
use parking_lot::Mutex;
use std::collections::HashMap;

pub const RPM_MESSAGE: &str = "Too many requests, please wait before trying again.";
pub const TPM_MESSAGE: &str = "Too many tokens, please wait before trying again.";
pub const TPD_MESSAGE: &str = "Too many tokens per day, please wait before trying again.";

/// Fallback tokens per minute where neither a scenario nor the catalog (AWS's published
/// defaults, `[[quotas]]` in bg-catalog's data file) gives a value. Unsourced: of the same order
/// as the common published defaults.
pub const DEFAULT_TPM: u64 = 500_000;

/// Requests per minute are not limited unless a scenario sets `rpm`. AWS: "Amazon Bedrock no
/// longer enforces requests-per-minute (RPM) quotas on the bedrock-runtime endpoint. Throttling
/// is governed by the token-based quotas." (quotas-runtime.html and the release notes of
/// 2026-05-27, read 2026-11-25). The catalog keeps the RPM values AWS published before that as
/// data; a scenario that wants the older behaviour sets them.
pub const NO_RPM_LIMIT: u64 = u64::MAX;

/// AWS: "Model invocation max tokens per day for ${model} … By default, this value is the
/// per-minute quota multiplied by 24 × 60."
/// (docs.aws.amazon.com/bedrock/latest/userguide/quotas-runtime.html, read 2026-11-25)
pub const TPD_PER_TPM: u64 = 24 * 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub rpm: u64,
    pub tpm: u64,
    pub tpd: Option<u64>,
}

/// A scenario's `[[quota]]` values; `None` leaves the default in force.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Override {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub tpd: Option<u64>,
}

impl Limits {
    /// The quota in force in `region`, value by value. Tokens per minute: the scenario
    /// override, else the catalog's published default (`sourced`: the model's `[[quotas]]` entry
    /// for the call's kind), else the per-model `uniform_tpm` (`Model::tpm`), else
    /// [`DEFAULT_TPM`]. Requests per minute: the override, else [`NO_RPM_LIMIT`] (AWS's rule
    /// since May 2026). Tokens per day: the override, else a published value, else the tokens
    /// per minute in force × [`TPD_PER_TPM`]. No allocation.
    pub fn resolve(
        sourced: Option<&bg_catalog::QuotaDefault>,
        uniform_tpm: Option<u32>,
        region: &str,
        o: Override,
    ) -> Limits {
        let published = |f: fn(&bg_catalog::QuotaDefault) -> Option<&bg_catalog::RegionalQuota>| {
            sourced.and_then(f).map(|q| q.in_region(region))
        };
        let rpm = o.rpm.unwrap_or(NO_RPM_LIMIT);
        let tpm = o
            .tpm
            .or_else(|| published(|q| q.tpm.as_ref()))
            .or(uniform_tpm.map(u64::from))
            .unwrap_or(DEFAULT_TPM);
        let tpd = o
            .tpd
            .or_else(|| published(|q| q.tpd.as_ref()))
            .unwrap_or_else(|| tpm.saturating_mul(TPD_PER_TPM));
        Limits {
            rpm,
            tpm,
            tpd: Some(tpd),
        }
    }

    /// The defaults for a call to `model` in `region` (`cross_region`: through an inference
    /// profile) from a catalog, with no scenario override.
    pub fn catalog_default(
        catalog: &bg_catalog::Catalog,
        model: &bg_catalog::Model,
        region: &str,
        cross_region: bool,
    ) -> Limits {
        Limits::with_override(catalog, model, region, cross_region, Override::default())
    }

    /// [`Limits::resolve`] with the catalog's entry for `model` and the call's kind.
    pub fn with_override(
        catalog: &bg_catalog::Catalog,
        model: &bg_catalog::Model,
        region: &str,
        cross_region: bool,
        o: Override,
    ) -> Limits {
        Limits::resolve(
            catalog.default_quota(&model.id, bg_catalog::QuotaKind::of_call(cross_region)),
            model.tpm,
            region,
            o,
        )
    }
}

#[derive(Default, Debug)]
struct Counter {
    minute: i64,
    requests: u64,
    tokens: u64,
    day: i64,
    day_tokens: u64,
}

impl Counter {
    fn roll(&mut self, now: i64) {
        let (m, d) = (now.div_euclid(60), now.div_euclid(86_400));
        if self.minute != m {
            self.minute = m;
            self.requests = 0;
            self.tokens = 0;
        }
        if self.day != d {
            self.day = d;
            self.day_tokens = 0;
        }
    }
}

/// Which quota refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exceeded {
    Requests,
    Tokens,
    DailyTokens,
}

impl Exceeded {
    pub fn message(self) -> &'static str {
        match self {
            Exceeded::Requests => RPM_MESSAGE,
            Exceeded::Tokens => TPM_MESSAGE,
            Exceeded::DailyTokens => TPD_MESSAGE,
        }
    }

    pub fn deny(self, key: &str, limits: &Limits) -> Deny {
        let (what, n) = match self {
            Exceeded::Requests => ("requests per minute", limits.rpm),
            Exceeded::Tokens => ("tokens per minute", limits.tpm),
            Exceeded::DailyTokens => ("tokens per day", limits.tpd.unwrap_or(0)),
        };
        Deny {
            gate: Gate::Quota,
            error: ErrorCode::ThrottlingException,
            status: 429,
            message: self.message().to_string(),
            reason: format!("{key}: quota of {n} {what} reached"),
            fix: "retry with backoff, spread load over a cross-Region inference profile, or ask for a quota increase (Service Quotas)".into(),
        }
    }
}

/// A scenario's `[[quota]]` entry: the values it sets for one model, in one account and Region
/// or all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaOverride {
    pub model: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub values: Override,
}

/// The quotas in force: the scenario's overrides over the catalog's published defaults.
#[derive(Clone, Debug, Default)]
pub struct Quotas {
    pub overrides: Vec<QuotaOverride>,
}

impl Quotas {
    /// The quota for (account, Region, model): the last matching override, else AWS's published
    /// default for the call's kind (`cross_region`: through an inference profile), else the
    /// documented fallback; tokens per day default to tokens per minute × 24 × 60.
    pub fn limits(
        &self,
        catalog: &bg_catalog::Catalog,
        account: &str,
        region: &str,
        model: &bg_catalog::Model,
        cross_region: bool,
    ) -> Limits {
        let o = self
            .overrides
            .iter()
            .rev()
            .find(|q| {
                q.model == model.id
                    && q.account.as_deref().is_none_or(|a| a == account)
                    && q.region.as_deref().is_none_or(|r| r == region)
            })
            .map(|q| q.values)
            .unwrap_or_default();
        Limits::with_override(catalog, model, region, cross_region, o)
    }
}

#[derive(Default, Debug)]
pub struct Meter {
    counters: Mutex<HashMap<String, Counter>>,
}

impl Meter {
    pub fn key(account: &str, region: &str, model: &str) -> String {
        format!("{account}/{region}/{model}")
    }

    /// Admit one request with `input_tokens` if it fits; counts it when admitted.
    pub fn admit(
        &self,
        key: &str,
        limits: &Limits,
        input_tokens: u64,
        now: i64,
    ) -> Result<(), Exceeded> {
        let mut map = self.counters.lock();
        let c = map.entry(key.to_string()).or_default();
        c.roll(now);
        if c.requests + 1 > limits.rpm {
            return Err(Exceeded::Requests);
        }
        if c.tokens + input_tokens > limits.tpm {
            return Err(Exceeded::Tokens);
        }
        if limits.tpd.is_some_and(|d| c.day_tokens + input_tokens > d) {
            return Err(Exceeded::DailyTokens);
        }
        c.requests += 1;
        c.tokens += input_tokens;
        c.day_tokens += input_tokens;
        Ok(())
    }

    /// (requests, tokens) this minute and tokens today for `key` at `now` (the console's Quotas
    /// page); read only.
    pub fn usage(&self, key: &str, now: i64) -> (u64, u64, u64) {
        let map = self.counters.lock();
        let Some(c) = map.get(key) else {
            return (0, 0, 0);
        };
        let mut c = Counter { ..*c };
        c.roll(now);
        (c.requests, c.tokens, c.day_tokens)
    }

    /// Add the output tokens of an admitted request (streaming usage included).
    pub fn record_output(&self, key: &str, output_tokens: u64, now: i64) {
        let mut map = self.counters.lock();
        let c = map.entry(key.to_string()).or_default();
        c.roll(now);
        c.tokens += output_tokens;
        c.day_tokens += output_tokens;
    }
}

/// A scripted failure, from a scenario: every `every`-th call to the model fails with `kind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    pub model: String,
    pub kind: FaultKind,
    pub every: u64,
    /// For stream faults: how many event frames go out before the exception frame.
    pub after_frames: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Throttle,
    Timeout,
    NotReady,
    Unavailable,
    /// An exception frame inside a 200 event stream.
    StreamThrottle,
    StreamError,
}

impl FaultKind {
    /// Every kind, in the order scenario files document them.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Throttle,
        FaultKind::Timeout,
        FaultKind::NotReady,
        FaultKind::Unavailable,
        FaultKind::StreamThrottle,
        FaultKind::StreamError,
    ];

    /// The scenario spelling, the one [`FaultKind::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Throttle => "throttle",
            FaultKind::Timeout => "timeout",
            FaultKind::NotReady => "not-ready",
            FaultKind::Unavailable => "unavailable",
            FaultKind::StreamThrottle => "stream-throttle",
            FaultKind::StreamError => "stream-error",
        }
    }
}

impl FaultKind {
    pub fn parse(s: &str) -> Option<FaultKind> {
        Some(match s {
            "throttle" => FaultKind::Throttle,
            "timeout" => FaultKind::Timeout,
            "not-ready" => FaultKind::NotReady,
            "unavailable" => FaultKind::Unavailable,
            "stream-throttle" => FaultKind::StreamThrottle,
            "stream-error" => FaultKind::StreamError,
            _ => return None,
        })
    }

    /// (error code, HTTP status, message) before the stream; AWS's texts where known
    /// (bedrock-facts §1.6), ours otherwise.
    pub fn http_error(self) -> (ErrorCode, u16, &'static str) {
        match self {
            FaultKind::Throttle | FaultKind::StreamThrottle => (ErrorCode::ThrottlingException, 429, RPM_MESSAGE),
            FaultKind::Timeout => (
                ErrorCode::ModelTimeoutException,
                408,
                "Model has timed out in processing the request. Try your request again.",
            ),
            FaultKind::NotReady => (
                ErrorCode::ModelNotReadyException,
                429,
                "Model is not ready to serve inference requests. The model may be loading or scaling. Try again later.",
            ),
            FaultKind::Unavailable | FaultKind::StreamError => {
                (ErrorCode::ServiceUnavailableException, 503, "Bedrock is unable to process your request.")
            }
        }
    }

    /// (lower-camel exception type, message) for an in-stream exception frame.
    pub fn stream_exception(self) -> (&'static str, &'static str) {
        match self {
            FaultKind::StreamThrottle => (
                "throttlingException",
                "Too many requests, please wait before trying again. You have sent too many requests.  Wait before trying again.",
            ),
            _ => ("modelStreamErrorException", "The model failed while streaming its response."),
        }
    }

    pub fn is_stream(self) -> bool {
        matches!(self, FaultKind::StreamThrottle | FaultKind::StreamError)
    }
}

/// Counts calls per rule to decide which ones fail.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<FaultRule>,
    calls: Mutex<HashMap<usize, u64>>,
}

impl Faults {
    pub fn new(rules: Vec<FaultRule>) -> Faults {
        Faults {
            rules,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// The fault that hits this call to `model`, if any. `streaming` selects which rules apply:
    /// stream faults only fire on streaming calls.
    pub fn hit(&self, model: &str, streaming: bool) -> Option<FaultRule> {
        let mut calls = self.calls.lock();
        for (i, r) in self.rules.iter().enumerate() {
            if r.model != model || (r.kind.is_stream() && !streaming) {
                continue;
            }
            let n = calls.entry(i).or_insert(0);
            *n += 1;
            if r.every > 0 && n.is_multiple_of(r.every) {
                return Some(r.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_window_rolls() {
        let m = Meter::default();
        let l = Limits {
            rpm: 2,
            tpm: 1000,
            tpd: None,
        };
        assert!(m.admit("k", &l, 1, 60).is_ok());
        assert!(m.admit("k", &l, 1, 61).is_ok());
        assert_eq!(m.admit("k", &l, 1, 119), Err(Exceeded::Requests));
        assert!(m.admit("k", &l, 1, 120).is_ok());
    }

    #[test]
    fn tokens_and_days() {
        let m = Meter::default();
        let l = Limits {
            rpm: 100,
            tpm: 10,
            tpd: Some(15),
        };
        assert!(m.admit("k", &l, 6, 0).is_ok());
        m.record_output("k", 3, 1);
        assert_eq!(m.admit("k", &l, 2, 2), Err(Exceeded::Tokens));
        assert!(m.admit("k", &l, 5, 60).is_ok());
        assert_eq!(m.admit("k", &l, 2, 120), Err(Exceeded::DailyTokens));
        assert!(m.admit("k", &l, 2, 86_400).is_ok());
    }

    const NOVA_LITE: &str = "amazon.nova-lite-v1:0";

    fn model(id: &str) -> &'static bg_catalog::Model {
        bg_catalog::catalog().model(id).unwrap()
    }

    fn default_in(id: &str, region: &str, cross_region: bool) -> Limits {
        Limits::catalog_default(bg_catalog::catalog(), model(id), region, cross_region)
    }

    #[test]
    fn sourced_default_tpm_refuses_exactly_the_next_token() {
        // General Reference: "On-demand model inference tokens per minute for Amazon Nova
        // Lite": us-east-1 2,000,000, each of the other supported Regions 100,000.
        let l = default_in(NOVA_LITE, "us-west-2", false);
        assert_eq!(l.tpm, 100_000);
        let m = Meter::default();
        let key = Meter::key("111122223333", "us-west-2", NOVA_LITE);
        for i in 0..100 {
            assert_eq!(m.admit(&key, &l, 1000, 120), Ok(()), "request {}", i + 1);
        }
        let refused = m.admit(&key, &l, 1, 179).unwrap_err();
        assert_eq!(refused, Exceeded::Tokens);
        let deny = refused.deny(&key, &l);
        assert_eq!(
            (deny.error.as_str(), deny.status, deny.message.as_str()),
            (
                "ThrottlingException",
                429,
                "Too many tokens, please wait before trying again."
            )
        );
        // the next minute has room again
        assert_eq!(m.admit(&key, &l, 1, 180), Ok(()));
    }

    #[test]
    fn requests_per_minute_are_unlimited_by_default() {
        // AWS no longer enforces RPM quotas (May 2026): 10,000 one-token calls in one minute
        // pass, while a scenario's rpm still counts.
        let l = default_in(NOVA_LITE, "us-west-2", false);
        assert_eq!(l.rpm, NO_RPM_LIMIT);
        let m = Meter::default();
        for _ in 0..10_000 {
            assert!(m.admit("k", &l, 1, 60).is_ok());
        }
        let o = Override {
            rpm: Some(100),
            ..Override::default()
        };
        let l = Limits::with_override(
            bg_catalog::catalog(),
            model(NOVA_LITE),
            "us-west-2",
            false,
            o,
        );
        for _ in 0..100 {
            assert!(m.admit("k2", &l, 1, 60).is_ok());
        }
        assert_eq!(m.admit("k2", &l, 1, 60), Err(Exceeded::Requests));
    }

    #[test]
    fn sourced_default_tpm_and_cross_region_kind() {
        let l = default_in(NOVA_LITE, "us-east-1", false);
        assert_eq!((l.rpm, l.tpm), (NO_RPM_LIMIT, 2_000_000));
        let l = default_in(NOVA_LITE, "eu-west-1", false);
        assert_eq!((l.rpm, l.tpm), (NO_RPM_LIMIT, 100_000));
        // Through a profile: "Cross-region model inference … for Amazon Nova Lite".
        let l = default_in(NOVA_LITE, "us-east-2", true);
        assert_eq!(l.tpm, 4_000_000);
        let l = default_in(NOVA_LITE, "eu-west-1", true);
        assert_eq!(l.tpm, 200_000);
        // Only a cross-Region value is published: an in-Region call falls back.
        let sonnet4 = "anthropic.claude-sonnet-4-20250514-v1:0";
        let l = default_in(sonnet4, "us-east-1", true);
        assert_eq!(l.tpm, 200_000);
        let l = default_in(sonnet4, "us-east-1", false);
        assert_eq!(l.tpm, DEFAULT_TPM);
        // Nova Canvas: a published RPM only (not enforced), no published TPM.
        let l = default_in("amazon.nova-canvas-v1:0", "us-east-1", false);
        assert_eq!((l.rpm, l.tpm), (NO_RPM_LIMIT, DEFAULT_TPM));
    }

    #[test]
    fn unsourced_models_use_the_fallback() {
        for id in [
            "qwen.qwen3-32b-v1:0",
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
        ] {
            for cross in [false, true] {
                let l = default_in(id, "us-east-1", cross);
                assert_eq!((l.rpm, l.tpm), (NO_RPM_LIMIT, DEFAULT_TPM), "{id}");
            }
        }
    }

    #[test]
    fn tokens_per_day_default_is_tpm_times_1440() {
        assert_eq!(TPD_PER_TPM, 1440);
        for (id, region) in [
            (NOVA_LITE, "us-east-1"),
            (NOVA_LITE, "eu-west-1"),
            ("qwen.qwen3-32b-v1:0", "us-east-1"),
        ] {
            let l = default_in(id, region, false);
            assert_eq!(l.tpd, Some(l.tpm * 1440), "{id} in {region}");
        }
        assert_eq!(
            default_in(NOVA_LITE, "us-east-1", false).tpd,
            Some(2_880_000_000)
        );
        assert_eq!(
            default_in("qwen.qwen3-32b-v1:0", "us-east-1", false).tpd,
            Some(720_000_000)
        );
    }

    #[test]
    fn scenario_overrides_win_value_by_value() {
        let c = bg_catalog::catalog();
        let o = Override {
            rpm: Some(2),
            tpm: None,
            tpd: None,
        };
        let l = Limits::with_override(c, model(NOVA_LITE), "us-west-2", false, o);
        assert_eq!((l.rpm, l.tpm, l.tpd), (2, 100_000, Some(100_000 * 1440)));
        let o = Override {
            rpm: None,
            tpm: Some(60),
            tpd: None,
        };
        let l = Limits::with_override(c, model(NOVA_LITE), "us-west-2", false, o);
        assert_eq!((l.rpm, l.tpm, l.tpd), (NO_RPM_LIMIT, 60, Some(60 * 1440)));
        let o = Override {
            rpm: None,
            tpm: None,
            tpd: Some(50),
        };
        let l = Limits::with_override(c, model(NOVA_LITE), "us-west-2", false, o);
        assert_eq!(l.tpd, Some(50));
    }

    #[test]
    fn faults_fire_on_schedule() {
        let f = Faults::new(vec![FaultRule {
            model: "m".into(),
            kind: FaultKind::Throttle,
            every: 3,
            after_frames: 0,
        }]);
        let hits: Vec<bool> = (0..6).map(|_| f.hit("m", false).is_some()).collect();
        assert_eq!(hits, [false, false, true, false, false, true]);
        assert!(f.hit("other", false).is_none());
    }
}
