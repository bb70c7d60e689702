//! [`Table`]: a map whose copy-on-write update costs one shard, not the
//! whole table.
//!
//! A snapshot is shared by every in-flight request, so a write cannot
//! change it in place: it makes a new version. With one `HashMap` per
//! table that meant copying every entry (a million keys copied to revoke
//! one). A `Table` is [`SHARDS`] `Arc<HashMap>`s; a write copies the list
//! of shard pointers and the one shard its key falls in, and every other
//! shard stays shared between the old and the new version. A lookup is
//! one shard pick (a few arithmetic instructions on the key) and one
//! ordinary `HashMap` lookup, so the request path pays what it paid
//! before.

use crate::shard_key::ShardKey;
// hashbrown's default hasher (foldhash), not SipHash: a lookup per stage on
// every request, keyed by ids this node made.
use hashbrown::HashMap;
use std::sync::Arc;

/// Shards per table. At a million entries a write copies ~1,000 entries
/// (tens of microseconds) and the 1,024 shard pointers.
pub const SHARDS: usize = 1024;

/// A persistent map sharded into [`SHARDS`] copy-on-write `HashMap`s.
/// Cloning is one reference count; [`Table::insert`] and
/// [`Table::remove`] copy at most one shard.
#[derive(Debug)]
pub struct Table<K, V> {
    shards: Arc<Vec<Arc<HashMap<K, V>>>>,
    len: usize,
}

impl<K, V> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        Table { shards: self.shards.clone(), len: self.len }
    }
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table { shards: Arc::new((0..SHARDS).map(|_| Arc::new(HashMap::new())).collect()), len: 0 }
    }
}

impl<K: ShardKey + Clone, V: Clone> Table<K, V> {
    /// The entry for `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[shard_of(key)].get(key)
    }

    /// Whether `key` has an entry.
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, returning the previous value. Copies the
    /// key's shard if another version shares it.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = self.shard_mut(&key).insert(key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes `key`'s entry, returning it. Copies nothing when the key
    /// is absent.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        if !self.contains_key(key) {
            return None;
        }
        let old = self.shard_mut(key).remove(key);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// The key's shard, copied first if another version shares it (and
    /// the shard list too, once per new version).
    fn shard_mut(&mut self, key: &K) -> &mut HashMap<K, V> {
        let i = shard_of(key);
        Arc::make_mut(&mut Arc::make_mut(&mut self.shards)[i])
    }
}

impl<K, V> Table<K, V> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|s| s.iter())
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(|s| s.values())
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.shards.iter().flat_map(|s| s.keys())
    }
}

impl<K: ShardKey + Clone, V: Clone> FromIterator<(K, V)> for Table<K, V> {
    /// Builds every shard in place: no copy, whatever the size.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut shards: Vec<HashMap<K, V>> = (0..SHARDS).map(|_| HashMap::new()).collect();
        let mut len = 0;
        for (k, v) in entries {
            if shards[shard_of(&k)].insert(k, v).is_none() {
                len += 1;
            }
        }
        Table { shards: Arc::new(shards.into_iter().map(Arc::new).collect()), len }
    }
}

impl<K: ShardKey + Clone, V: Clone + PartialEq> PartialEq for Table<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// The shard `key` falls in: the top bits of its mixed shard hash, so
/// always below [`SHARDS`].
fn shard_of<K: ShardKey>(key: &K) -> usize {
    const BITS: u32 = SHARDS.trailing_zeros();
    (key.shard_hash().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - BITS)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_copies_one_shard_and_leaves_the_old_version_alone() {
        let old: Table<[u8; 32], u32> = (0..5_000u32).map(|i| (digest(i), i)).collect();
        let mut new = old.clone();
        new.insert(digest(1), 100);
        new.insert(digest(9_999), 7);
        assert_eq!(new.remove(&digest(2)), Some(2));
        assert_eq!(new.remove(&digest(123_456)), None);

        assert_eq!((old.len(), new.len()), (5_000, 5_000));
        assert_eq!((old.get(&digest(1)), new.get(&digest(1))), (Some(&1), Some(&100)));
        assert_eq!((old.get(&digest(2)), new.get(&digest(2))), (Some(&2), None));
        assert_eq!((old.get(&digest(9_999)), new.get(&digest(9_999))), (None, Some(&7)));
        let shared = old.shards.iter().zip(new.shards.iter()).filter(|(a, b)| Arc::ptr_eq(a, b)).count();
        assert!(shared >= SHARDS - 3, "only touched shards are copied ({shared} of {SHARDS} shared)");
    }

    #[test]
    fn entries_spread_over_the_shards() {
        let t: Table<[u8; 32], u32> = (0..SHARDS as u32 * 64).map(|i| (digest(i), i)).collect();
        let biggest = t.shards.iter().map(|s| s.len()).max().unwrap_or(0);
        assert!(biggest < 64 * 2, "a shard holds {biggest} entries, the mean is 64");
        assert_eq!(t.iter().count(), t.len());
    }

    fn digest(i: u32) -> [u8; 32] {
        let mut d = [0u8; 32];
        for (j, chunk) in d.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&splitmix(u64::from(i) * 4 + j as u64).to_le_bytes());
        }
        d
    }

    /// splitmix64: digests in tests are uniform, as HMAC output is.
    fn splitmix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
