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

/// Statement positions, grouped by the service their actions are limited to.
#[derive(Debug, Clone, Default)]
pub(crate) struct ActionIndex {
    /// `(service, ascending statement positions)`, sorted by service.
    by_service: Vec<(String, Vec<usize>)>,
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
                match index
                    .by_service
                    .binary_search_by(|(s, _)| s.as_str().cmp(svc))
                {
                    Ok(at) => {
                        let list = &mut index.by_service[at].1;
                        // a statement naming the same service twice is filed once
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                    Err(at) => index.by_service.insert(at, (svc.to_string(), vec![i])),
                }
            }
        }
        index
    }

    /// The positions of the statements that can match an action whose (lower-cased)
    /// service part is `service` (`None` for an action without a colon), ascending.
    pub(crate) fn candidates(&self, service: Option<&str>) -> Candidates<'_> {
        let bucket: &[usize] = service
            .and_then(|svc| {
                self.by_service
                    .binary_search_by(|(s, _)| s.as_str().cmp(svc))
                    .ok()
            })
            .map_or(&[], |at| &self.by_service[at].1);
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
        let got: Vec<usize> = ix.candidates(Some("bedrock")).collect();
        assert_eq!(got, vec![1, 2, 4, 5]);
        let got: Vec<usize> = ix.candidates(Some("s3")).collect();
        assert_eq!(got, vec![0, 1, 2, 4]);
        let got: Vec<usize> = ix.candidates(Some("kms")).collect();
        assert_eq!(got, vec![1, 4]);
        let got: Vec<usize> = ix.candidates(None).collect();
        assert_eq!(got, vec![1, 4]);
        assert_eq!(idx(&[]).candidates(Some("s3")).count(), 0);
    }
}
