//! Deterministic pseudo-random embeddings.

use sha2::{Digest, Sha256};

/// A deterministic pseudo-random vector of exactly `dimensions` floats for `text`.
///
/// **Rule:** `seed = sha256(utf8(text))`; block `i` (i = 0, 1, ...) is
/// `sha256(seed ‖ i as u32 little-endian)`; each block yields eight floats, one per
/// 4-byte little-endian `u32` `u`, as `u / (2^32 - 1) * 2 - 1` (range `[-1, 1]`).
/// When `normalize` is true the vector is scaled to unit L2 norm. The same text
/// always gives the same vector, and a shorter vector is a prefix of a longer one
/// before normalization.
pub fn pseudo_embedding(text: &str, dimensions: usize, normalize: bool) -> Vec<f32> {
    let seed = Sha256::digest(text.as_bytes());
    let mut out = Vec::with_capacity(dimensions);
    let mut counter: u32 = 0;
    while out.len() < dimensions {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(counter.to_le_bytes());
        let block = h.finalize();
        for chunk in block.chunks_exact(4) {
            if out.len() == dimensions {
                break;
            }
            let u = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            out.push((f64::from(u) / f64::from(u32::MAX) * 2.0 - 1.0) as f32);
        }
        counter = counter.wrapping_add(1);
    }
    if normalize {
        let norm: f64 = out
            .iter()
            .map(|v| f64::from(*v) * f64::from(*v))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            for v in &mut out {
                *v = (f64::from(*v) / norm) as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_norm_determinism() {
        for d in [1usize, 7, 8, 256, 1024, 1536] {
            let v = pseudo_embedding("hello", d, true);
            assert_eq!(v.len(), d);
            let n: f64 = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            assert!((n - 1.0).abs() < 1e-4, "{n}");
        }
        assert_eq!(
            pseudo_embedding("x", 64, false),
            pseudo_embedding("x", 64, false)
        );
        assert_ne!(
            pseudo_embedding("x", 64, false),
            pseudo_embedding("y", 64, false)
        );
        let short = pseudo_embedding("x", 10, false);
        assert_eq!(&pseudo_embedding("x", 20, false)[..10], &short[..]);
        assert!(short.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert!(pseudo_embedding("x", 0, true).is_empty());
    }
}
