//! The throughput gate: requests-per-minute, tokens-per-minute and tokens-per-day quotas per
//! (account, Region, model), counted in memory on the gate clock (no database I/O per call),
//! and scripted faults for tests.
//!
//! Windows are fixed: the minute `floor(now / 60)` and the day `floor(now / 86400)`. A request
//! is admitted when one more request and its input tokens fit the current windows; its output
//! tokens are added when the answer is known. A cross-Region profile call may be served by any
//! destination, each with its own quota: the first destination with room serves it.

use crate::{Deny, Gate};
use parking_lot::Mutex;
use std::collections::HashMap;

pub const RPM_MESSAGE: &str = "Too many requests, please wait before trying again.";
pub const TPM_MESSAGE: &str = "Too many tokens, please wait before trying again.";
pub const TPD_MESSAGE: &str = "Too many tokens per day, please wait before trying again.";

/// Default on-demand quotas where the catalog has none. AWS's per-model defaults vary by model
/// and Region and are not in our sources; these are of the same order as the common ones.
pub const DEFAULT_RPM: u64 = 500;
pub const DEFAULT_TPM: u64 = 500_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub rpm: u64,
    pub tpm: u64,
    pub tpd: Option<u64>,
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
            error: "ThrottlingException",
            status: 429,
            message: self.message().to_string(),
            reason: format!("{key}: quota of {n} {what} reached"),
            fix: "retry with backoff, spread load over a cross-Region inference profile, or ask for a quota increase (Service Quotas)".into(),
        }
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
    pub fn http_error(self) -> (&'static str, u16, &'static str) {
        match self {
            FaultKind::Throttle | FaultKind::StreamThrottle => ("ThrottlingException", 429, RPM_MESSAGE),
            FaultKind::Timeout => (
                "ModelTimeoutException",
                408,
                "Model has timed out in processing the request. Try your request again.",
            ),
            FaultKind::NotReady => (
                "ModelNotReadyException",
                429,
                "Model is not ready to serve inference requests. The model may be loading or scaling. Try again later.",
            ),
            FaultKind::Unavailable | FaultKind::StreamError => {
                ("ServiceUnavailableException", 503, "Bedrock is unable to process your request.")
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
