//! Small deterministic generators (splitmix64) for batch shuffling and
//! initial weights. They keep results reproducible from a seed without
//! touching libtorch's process-wide generator, which concurrent tasks share.

/// splitmix64: tiny, fast, and statistically fine for shuffles and inits.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// One well-spread seed from several inputs (e.g. seed, round, epoch).
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut rng = SplitMix::new(0);
    let mut state = 0;
    for &part in parts {
        rng = SplitMix::new(state ^ part);
        state = rng.next_u64();
    }
    rng.next_u64()
}

/// FNV-1a of a name, to give each tensor its own stream.
pub(crate) fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// A Fisher-Yates shuffle of `0..n`.
pub(crate) fn permutation(n: usize, seed: u64) -> Vec<i64> {
    let mut order: Vec<i64> = (0..n as i64).collect();
    let mut rng = SplitMix::new(seed);
    for i in (1..n).rev() {
        // The modulo bias is below 2^-40 for any realistic n.
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn permutation_is_a_permutation(n in 0usize..300, seed in any::<u64>()) {
            let mut order = permutation(n, seed);
            order.sort_unstable();
            prop_assert_eq!(order, (0..n as i64).collect::<Vec<_>>());
        }

        #[test]
        fn mixed_seeds_differ_per_input(seed in any::<u64>()) {
            let a = permutation(50, mix(&[seed, 0, 0]));
            let b = permutation(50, mix(&[seed, 0, 1]));
            let c = permutation(50, mix(&[seed, 1, 0]));
            prop_assert_ne!(&a, &b);
            prop_assert_ne!(&a, &c);
        }

        #[test]
        fn uniform_stays_in_unit_interval(seed in any::<u64>()) {
            let mut rng = SplitMix::new(seed);
            for _ in 0..100 {
                let u = rng.next_f64();
                prop_assert!((0.0..1.0).contains(&u));
            }
        }
    }
}
