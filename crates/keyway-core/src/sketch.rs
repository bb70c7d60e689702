//! A mergeable latency sketch: DDSketch's logarithmic mapping (from the
//! `sketches-ddsketch` crate) over a sparse store of its own, so a minute
//! with a handful of calls takes a handful of bytes.
//!
//! Error bound: every quantile is within 1% (relative) of the true value
//! of the same rank (`rank = floor(q * (n - 1))` of the sorted values), for
//! values from 1 µs up; values under 1 µs (and 0) are counted as 0.
//! Merging sketches adds their bins, so the bound holds for any merge of
//! minutes, groups or nodes: percentiles are never averaged.

use sketches_ddsketch::Config;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Relative accuracy of every quantile.
pub const RELATIVE_ERROR: f64 = 0.01;
/// Smallest value (ms) told apart from 0.
const MIN_VALUE: f64 = 1e-3;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config::new(RELATIVE_ERROR, 4096, MIN_VALUE))
}

/// Counts of values per logarithmic bin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sketch {
    zero: u64,
    bins: BTreeMap<i32, u64>,
}

/// A stored sketch that does not decode.
#[derive(Debug)]
pub struct SketchDecodeError;

impl std::fmt::Display for SketchDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed latency sketch")
    }
}

impl std::error::Error for SketchDecodeError {}

impl Sketch {
    /// Counts `v`; a value that is not a finite number is ignored.
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if v < MIN_VALUE {
            self.zero += 1;
        } else {
            *self.bins.entry(config().key(v)).or_insert(0) += 1;
        }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Sketch) {
        self.zero += other.zero;
        for (k, n) in &other.bins {
            *self.bins.entry(*k).or_insert(0) += n;
        }
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.zero + self.bins.values().sum::<u64>()
    }

    /// The `q`-quantile (0 ≤ q ≤ 1), or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (n - 1) as f64) as u64;
        if rank < self.zero {
            return Some(0.0);
        }
        let mut seen = self.zero;
        for (k, c) in &self.bins {
            seen += c;
            if seen > rank {
                return Some(config().value(*k));
            }
        }
        None
    }

    /// The stored form: varints of the zero count, the number of bins,
    /// then per bin the key's gap from the previous key and its count.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + self.bins.len() * 3);
        put(&mut out, self.zero);
        put(&mut out, self.bins.len() as u64);
        let mut prev: i64 = 0;
        for (k, c) in &self.bins {
            let k = i64::from(*k);
            put(&mut out, zigzag(k - prev));
            put(&mut out, *c);
            prev = k;
        }
        out
    }

    /// Reads [`Sketch::encode`]'s form (empty input: an empty sketch).
    pub fn decode(mut bytes: &[u8]) -> Result<Sketch, SketchDecodeError> {
        let mut sketch = Sketch::default();
        if bytes.is_empty() {
            return Ok(sketch);
        }
        sketch.zero = take(&mut bytes)?;
        let bins = take(&mut bytes)?;
        let mut prev: i64 = 0;
        for _ in 0..bins {
            let k = prev + unzigzag(take(&mut bytes)?);
            let c = take(&mut bytes)?;
            sketch.bins.insert(i32::try_from(k).map_err(|_| SketchDecodeError)?, c);
            prev = k;
        }
        if bytes.is_empty() {
            Ok(sketch)
        } else {
            Err(SketchDecodeError)
        }
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take(bytes: &mut &[u8]) -> Result<u64, SketchDecodeError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first().ok_or(SketchDecodeError)?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(SketchDecodeError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn exact(sorted: &[f64], q: f64) -> f64 {
        sorted[(q * (sorted.len() - 1) as f64) as usize]
    }

    #[test]
    fn quantiles_are_within_the_stated_error_after_merging() {
        let mut rng = rand::thread_rng();
        let mut all = Vec::new();
        let mut merged = Sketch::default();
        for part in 0..5 {
            let mut s = Sketch::default();
            for _ in 0..2000 {
                let v: f64 = rng.gen_range(0.05..(50.0 * f64::from(part + 1)));
                s.add(v);
                all.push(v);
            }
            merged.merge(&Sketch::decode(&s.encode()).unwrap());
        }
        all.sort_by(f64::total_cmp);
        assert_eq!(merged.count(), all.len() as u64);
        for q in [0.0, 0.01, 0.5, 0.95, 0.99, 1.0] {
            let (got, want) = (merged.quantile(q).unwrap(), exact(&all, q));
            assert!((got - want).abs() <= want * RELATIVE_ERROR + 1e-9, "q={q}: {got} vs {want}");
        }
    }

    #[test]
    fn zeros_non_finite_values_and_empty_sketches() {
        let mut s = Sketch::default();
        assert_eq!(s.quantile(0.5), None);
        assert_eq!(Sketch::decode(&[]).unwrap(), s);
        s.add(f64::NAN);
        s.add(0.0);
        s.add(0.0);
        s.add(10.0);
        assert_eq!(s.count(), 3);
        assert_eq!(s.quantile(0.5), Some(0.0));
        assert!((s.quantile(1.0).unwrap() - 10.0).abs() <= 0.1);
        assert_eq!(Sketch::decode(&s.encode()).unwrap(), s);
    }

    #[test]
    fn malformed_bytes_are_refused() {
        assert!(Sketch::decode(&[0x80]).is_err());
        assert!(Sketch::decode(&[0, 1]).is_err());
        let mut ok = Sketch::default();
        ok.add(1.0);
        let mut bytes = ok.encode();
        bytes.push(0);
        assert!(Sketch::decode(&bytes).is_err());
    }
}
