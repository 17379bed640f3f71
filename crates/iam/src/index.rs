//! The action index: which statements of a policy can possibly match a request's action.
//!
//! Built once at parse time. Every `Action` pattern starts with a literal `service:` prefix
//! unless a wildcard comes before its colon, and such a pattern can only match an action
//! whose service part (the text before its first colon, lower-cased) is that service. So a
//! statement whose `Action` patterns all have literal services is filed under each of those
//! services; every other statement (`NotAction`, `*`, `s*:Get*`, `?3:x`…) is filed under
//! `always`. Evaluation then visits, in document order, only the statements filed under the
//! request's service and the `always` ones: the skipped statements could not have matched,
//! so the decision and its explanation are exactly those of a full scan.

/// A request's service part, with its hash computed once per request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServiceKey<'a> {
    hash: u64,
    name: &'a str,
}

impl<'a> ServiceKey<'a> {
    pub(crate) fn new(name: &'a str) -> ServiceKey<'a> {
        ServiceKey {
            hash: fnv1a(name),
            name,
        }
    }

    /// A key whose hash was computed earlier by [`ServiceKey::new`] for the same name.
    pub(crate) fn with_hash(hash: u64, name: &'a str) -> ServiceKey<'a> {
        ServiceKey { hash, name }
    }

    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }
}

/// FNV-1a, 64 bits: cheap for the short service names, and deterministic.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Statement positions, grouped by the service their actions are limited to.
#[derive(Debug, Clone, Default)]
pub(crate) struct ActionIndex {
    /// `(hash of service, service, ascending statement positions)`, sorted by hash then
    /// service (looked up by hash, confirmed by name).
    by_service: Vec<(u64, String, Vec<usize>)>,
    /// Ascending positions of the statements that may match any service.
    always: Vec<usize>,
}

impl ActionIndex {
    /// Builds the index from, per statement in document order, the services its actions are
    /// limited to (`None`: not limited).
    pub(crate) fn build<'a, I, S>(statements: I) -> ActionIndex
    where
        I: IntoIterator<Item = Option<S>>,
        S: IntoIterator<Item = &'a str>,
    {
        let mut index = ActionIndex::default();
        for (i, services) in statements.into_iter().enumerate() {
            let Some(services) = services else {
                index.always.push(i);
                continue;
            };
            for svc in services {
                let h = fnv1a(svc);
                match index
                    .by_service
                    .binary_search_by(|(eh, s, _)| (*eh, s.as_str()).cmp(&(h, svc)))
                {
                    Ok(at) => {
                        let list = &mut index.by_service[at].2;
                        // a statement naming the same service twice is filed once
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                    Err(at) => index.by_service.insert(at, (h, svc.to_string(), vec![i])),
                }
            }
        }
        index
    }

    /// The positions of the statements that can match an action whose (lower-cased)
    /// service part is `service` (`None` for an action without a colon), ascending.
    pub(crate) fn candidates(&self, service: Option<ServiceKey<'_>>) -> Candidates<'_> {
        let mut bucket: &[usize] = &[];
        if let Some(key) = service {
            let start = self.by_service.partition_point(|(h, _, _)| *h < key.hash);
            if let Some((_, _, list)) = self.by_service[start..]
                .iter()
                .take_while(|(h, _, _)| *h == key.hash)
                .find(|(_, s, _)| s == key.name)
            {
                bucket = list;
            }
        }
        Candidates {
            a: bucket,
            b: &self.always,
        }
    }
}

/// The ascending merge of two ascending, disjoint position lists.
pub(crate) struct Candidates<'a> {
    a: &'a [usize],
    b: &'a [usize],
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let take_a = match (self.a.first(), self.b.first()) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(x), Some(y)) => x < y,
        };
        let list = if take_a { &mut self.a } else { &mut self.b };
        let (first, rest) = list.split_first()?;
        *list = rest;
        Some(*first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(stmts: &[Option<&[&'static str]>]) -> ActionIndex {
        ActionIndex::build(stmts.iter().map(|s| s.map(|l| l.iter().copied())))
    }

    #[test]
    fn merges_bucket_and_always_in_order() {
        let ix = idx(&[
            Some(&["s3"]),
            None,
            Some(&["bedrock", "s3"]),
            Some(&["ec2"]),
            None,
            Some(&["bedrock", "bedrock"]),
        ]);
        let key = ServiceKey::new;
        let got: Vec<usize> = ix.candidates(Some(key("bedrock"))).collect();
        assert_eq!(got, vec![1, 2, 4, 5]);
        let got: Vec<usize> = ix.candidates(Some(key("s3"))).collect();
        assert_eq!(got, vec![0, 1, 2, 4]);
        let got: Vec<usize> = ix.candidates(Some(key("kms"))).collect();
        assert_eq!(got, vec![1, 4]);
        let got: Vec<usize> = ix.candidates(Some(key("S3"))).collect();
        assert_eq!(got, vec![1, 4]);
        let got: Vec<usize> = ix.candidates(None).collect();
        assert_eq!(got, vec![1, 4]);
        assert_eq!(idx(&[]).candidates(Some(key("s3"))).count(), 0);
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_name() {
        // force two services into one hash bucket by building the table by hand
        let mut ix = idx(&[Some(&["s3"]), Some(&["ec2"])]);
        for e in &mut ix.by_service {
            e.0 = 7;
        }
        ix.by_service.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let k = |name| ServiceKey { hash: 7, name };
        assert_eq!(ix.candidates(Some(k("s3"))).collect::<Vec<_>>(), vec![0]);
        assert_eq!(ix.candidates(Some(k("ec2"))).collect::<Vec<_>>(), vec![1]);
        assert_eq!(ix.candidates(Some(k("kms"))).count(), 0);
    }
}
