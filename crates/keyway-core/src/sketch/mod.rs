//! A mergeable latency sketch: DDSketch's logarithmic mapping (from the
//! `sketches-ddsketch` crate) over a dense run of bins of its own: a
//! minute with a handful of calls takes a handful of bytes stored, and
//! merging (also straight from the stored bytes, see
//! [`Sketch::merge_encoded`]) is adding counts into a slice, without
//! allocating once the range of bins is covered.
//!
//! Error bound: every quantile is within 1% (relative) of the true value
//! of the same rank (`rank = floor(q * (n - 1))` of the sorted values), for
//! values from 1 µs up; values under 1 µs (and 0) are counted as 0.
//! Merging sketches adds their bins, so the bound holds for any merge of
//! minutes, groups or nodes: percentiles are never averaged.

mod varint;

use sketches_ddsketch::Config;
use std::sync::OnceLock;
use varint::{put, take, unzigzag, zigzag};

/// Relative accuracy of every quantile.
pub const RELATIVE_ERROR: f64 = 0.01;
/// Smallest value (ms) told apart from 0.
const MIN_VALUE: f64 = 1e-3;
/// Widest run of bins a sketch holds: every finite value from
/// [`MIN_VALUE`] up spans about 36,000 bins; a stored sketch claiming more
/// is refused rather than allocated.
const MAX_SPAN: i64 = 1 << 16;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| Config::new(RELATIVE_ERROR, 4096, MIN_VALUE))
}

/// Counts of values per logarithmic bin.
#[derive(Clone, Debug, Default)]
pub struct Sketch {
    /// Values under [`MIN_VALUE`].
    zero: u64,
    /// The bin key of `counts[0]`.
    offset: i32,
    /// Counts of consecutive bins from `offset` (empty: no value above zero).
    counts: Vec<u64>,
}

impl PartialEq for Sketch {
    fn eq(&self, other: &Sketch) -> bool {
        self.zero == other.zero && self.bins().eq(other.bins())
    }
}

impl Eq for Sketch {}

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
            let k = config().key(v);
            self.cover(k, k);
            let at = self.index(k);
            self.counts[at] += 1;
        }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Sketch) {
        self.zero += other.zero;
        let Some(last) = other.last_key() else {
            return;
        };
        self.cover(other.offset, last);
        let at = self.index(other.offset);
        for (mine, theirs) in self.counts[at..].iter_mut().zip(&other.counts) {
            *mine = mine.saturating_add(*theirs);
        }
    }

    /// Adds every value of the sketch stored as `bytes` (see
    /// [`Sketch::encode`]) without decoding it into a sketch of its own:
    /// one pass over the bytes, adding into this sketch's bins. On
    /// malformed bytes it fails, and this sketch may hold part of them:
    /// discard it.
    pub fn merge_encoded(&mut self, mut bytes: &[u8]) -> Result<(), SketchDecodeError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let zero = take(&mut bytes)?;
        let bins = take(&mut bytes)?;
        let mut prev: i64 = 0;
        for _ in 0..bins {
            let k = prev.checked_add(unzigzag(take(&mut bytes)?)).ok_or(SketchDecodeError)?;
            let c = take(&mut bytes)?;
            let key = i32::try_from(k).map_err(|_| SketchDecodeError)?;
            self.cover_checked(key)?;
            let at = self.index(key);
            self.counts[at] = self.counts[at].saturating_add(c);
            prev = k;
        }
        if !bytes.is_empty() {
            return Err(SketchDecodeError);
        }
        self.zero = self.zero.saturating_add(zero);
        Ok(())
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.zero + self.counts.iter().sum::<u64>()
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
        for (k, c) in self.bins() {
            seen += c;
            if seen > rank {
                return Some(config().value(k));
            }
        }
        None
    }

    /// The stored form: varints of the zero count, the number of bins,
    /// then per bin the key's gap from the previous key and its count.
    pub fn encode(&self) -> Vec<u8> {
        let bins = self.bins().count();
        let mut out = Vec::with_capacity(4 + bins * 3);
        put(&mut out, self.zero);
        put(&mut out, bins as u64);
        let mut prev: i64 = 0;
        for (k, c) in self.bins() {
            let k = i64::from(k);
            put(&mut out, zigzag(k - prev));
            put(&mut out, c);
            prev = k;
        }
        out
    }

    /// Reads [`Sketch::encode`]'s form (empty input: an empty sketch).
    pub fn decode(bytes: &[u8]) -> Result<Sketch, SketchDecodeError> {
        let mut sketch = Sketch::default();
        sketch.merge_encoded(bytes)?;
        Ok(sketch)
    }

    /// The bins holding values, lowest key first.
    fn bins(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        (self.offset..).zip(&self.counts).filter(|(_, c)| **c > 0).map(|(k, c)| (k, *c))
    }

    /// The key of the last bin held, `None` when none is.
    fn last_key(&self) -> Option<i32> {
        let len = i32::try_from(self.counts.len()).ok()?;
        (len > 0).then(|| self.offset + len - 1)
    }

    /// Where bin `k` is in `counts` (`k` covered).
    fn index(&self, k: i32) -> usize {
        usize::try_from(k - self.offset).unwrap_or(0)
    }

    /// Widens `counts` to hold bin `k`, unless that would make it wider
    /// than [`MAX_SPAN`].
    fn cover_checked(&mut self, k: i32) -> Result<(), SketchDecodeError> {
        let Some(last) = self.last_key() else {
            self.cover(k, k);
            return Ok(());
        };
        if k >= self.offset && k <= last {
            return Ok(());
        }
        let (lo, hi) = (k.min(self.offset), k.max(last));
        if i64::from(hi) - i64::from(lo) >= MAX_SPAN {
            return Err(SketchDecodeError);
        }
        self.cover(lo, hi);
        Ok(())
    }

    /// Widens `counts` to hold bins `lo..=hi` (`lo <= hi`).
    fn cover(&mut self, lo: i32, hi: i32) {
        let Some(last) = self.last_key() else {
            self.offset = lo;
            self.counts.resize(usize::try_from(hi - lo).unwrap_or(0) + 1, 0);
            return;
        };
        if lo < self.offset {
            let grow = usize::try_from(self.offset - lo).unwrap_or(0);
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = lo;
        }
        if hi > last {
            let len = self.counts.len() + usize::try_from(hi - last).unwrap_or(0);
            self.counts.resize(len, 0);
        }
    }
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
    fn merging_stored_bytes_equals_merging_decoded_sketches() {
        let mut rng = rand::thread_rng();
        let (mut direct, mut decoded) = (Sketch::default(), Sketch::default());
        for _ in 0..50 {
            let mut s = Sketch::default();
            for _ in 0..rng.gen_range(0..40) {
                s.add(if rng.gen_bool(0.1) { 0.0 } else { rng.gen_range(0.01..5000.0) });
            }
            direct.merge_encoded(&s.encode()).unwrap();
            decoded.merge(&Sketch::decode(&s.encode()).unwrap());
            assert_eq!(Sketch::decode(&s.encode()).unwrap(), s);
        }
        assert_eq!(direct, decoded);
        assert_eq!(direct.encode(), decoded.encode());
    }

    #[test]
    fn the_stored_form_is_unchanged() {
        // zero 1; bins 0 (1.0 ms) x2 and 116 (~10 ms) x1: gaps 0 and 116.
        let mut s = Sketch::default();
        for v in [0.0, 1.0, 1.0, 10.0] {
            s.add(v);
        }
        let k = config().key(10.0);
        assert_eq!(config().key(1.0), 0);
        let mut want = vec![1, 2, 0, 2];
        put(&mut want, zigzag(i64::from(k)));
        want.push(1);
        assert_eq!(s.encode(), want);
    }

    #[test]
    fn a_sketch_claiming_too_wide_a_range_is_refused() {
        let mut bytes = Vec::new();
        for v in [0, 2, zigzag(-30_000), 1, zigzag(70_000), 1] {
            put(&mut bytes, v);
        }
        assert!(Sketch::decode(&bytes).is_err());
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
