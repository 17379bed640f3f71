//! The throughput gate: the call fits the account's tokens-per-minute (and, where set,
//! requests-per-minute and tokens-per-day) quota in the Region that serves it. A profile call
//! may be served by any destination, each with its own quota: the serving Region is tried first.

use crate::decide::{Call, GateCheck, Refusal, Snapshot, Work};
use crate::quota::Meter;

pub struct Throughput;

impl GateCheck for Throughput {
    fn name(&self) -> &'static str {
        "quota"
    }

    fn applies(&self, call: &Call, snap: &Snapshot) -> Result<(), &'static str> {
        super::metered_inference(
            call,
            snap,
            "the quota counters live in serve; offline, the quota is assumed unused",
        )
    }

    fn check(&self, w: &mut Work) -> Result<(), Refusal> {
        let (Some(target), Some(c), Some(caller)) =
            (w.plan.target.clone(), w.snap.counters, w.caller())
        else {
            return Ok(());
        };
        let account = caller.account.clone();
        let serving = w
            .plan
            .serving_region
            .clone()
            .unwrap_or_else(|| w.call.region.to_string());
        let others = target
            .profile
            .map(|p| p.destination_regions.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter(|r| **r != serving);
        let cross_region = target.profile.is_some();
        let mut first_refusal = None;
        for region in std::iter::once(&serving).chain(others) {
            let key = Meter::key(&account, region, &target.model.id);
            let limits =
                w.snap
                    .quotas
                    .limits(w.snap.catalog, &account, region, target.model, cross_region);
            match c
                .meter
                .admit(&key, &limits, u64::from(w.plan.input_tokens), w.call.now)
            {
                Ok(()) => {
                    w.note(|| format!("charged to {key} (tokens per minute {})", limits.tpm));
                    w.plan.serving_region = Some(region.clone());
                    w.plan.quota_key = Some(key);
                    return Ok(());
                }
                Err(e) => {
                    first_refusal.get_or_insert_with(|| e.deny(&key, &limits));
                }
            }
        }
        Err(first_refusal.expect("the serving Region was tried").into())
    }
}
