//! Request IDs and CloudTrail event IDs without a system call each.
//!
//! `Uuid::new_v4` and `Uuid::now_v7` read the OS's randomness (`getrandom(2)`) for every ID:
//! two system calls per request, ~5% of an in-process Converse (BENCHMARKS.md). These IDs are
//! opaque identifiers, not secrets (every client sees its request ID; the audit API shows
//! event IDs), so a per-thread xorshift128+ seeded once from the OS serves: unique with
//! overwhelming probability (122 and 74 random bits), not meant to be unpredictable.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<(u64, u64)> = Cell::new(seed());
}

fn seed() -> (u64, u64) {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        // No OS randomness: the time and the thread make distinct seeds still.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = (t ^ (&b as *const [u8; 16] as usize as u128)).to_le_bytes();
    }
    let a = u64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
    let c = u64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
    // xorshift's state must not be all zero.
    (a | 1, c)
}

/// 128 random bits (xorshift128+, two steps).
fn random_u128() -> u128 {
    STATE.with(|s| {
        let next = || {
            let (mut x, y) = s.get();
            x ^= x << 23;
            x ^= x >> 17;
            x ^= y ^ (y >> 26);
            s.set((y, x));
            x.wrapping_add(y)
        };
        (u128::from(next()) << 64) | u128::from(next())
    })
}

/// A request ID: a version-4 UUID, as AWS's `x-amzn-RequestId` looks.
pub fn request_id() -> String {
    uuid::Builder::from_random_bytes(random_u128().to_le_bytes())
        .into_uuid()
        .to_string()
}

/// A version-7 UUID for `time_ms`: time-ordered, see [`super::record::new_event_id`].
pub fn event_id(time_ms: u64) -> String {
    let r = random_u128().to_le_bytes();
    let tail: &[u8; 10] = r[..10].try_into().expect("10 bytes");
    uuid::Builder::from_unix_timestamp_millis(time_ms, tail)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_of_their_version_and_distinct() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 4);
        let e = event_id(1_796_229_862_123);
        let u = uuid::Uuid::parse_str(&e).unwrap();
        assert_eq!(u.get_version_num(), 7);
        let (secs, nanos) = u.get_timestamp().unwrap().to_unix();
        assert_eq!((secs, nanos / 1_000_000), (1_796_229_862, 123));
        // Time-ordered across milliseconds.
        assert!(event_id(1_796_229_862_124) > e);
    }
}
