//! [`KeyTable`]: the snapshot's keys, each stored once and found two ways:
//! by digest (the request path) and by id (rotation successors, admin
//! reads, usage flushes).
//!
//! Both indexes hold the same `Arc<KeyEntry>`, an 8-byte slot each,
//! hashed from the entry itself; a `HashMap` keyed by a copy of the digest
//! or id took 40 and 48 bytes a slot, at a million keys ~100 MB more. Like
//! [`crate::table::Table`], each index is copy-on-write shards, so a write
//! copies one shard of each, not the table; here in two levels,
//! [`GROUPS`] groups of [`PER_GROUP`] shards, so a write copies the list
//! of groups, one group and one shard (128 + 128 + ~61 pointers at a
//! million keys) instead of 1,024 shard pointers and a ~1,000-entry shard.
//! Copying a pointer is a reference count increment (and, when the old
//! version goes, a decrement) on memory the write has no other reason to
//! touch, a cache miss each: with one level that was ~4,000 of them per
//! key create at a million keys, most of a create's cost.
//!
//! Hashes: a digest is HMAC output, already uniform, so its first eight
//! bytes are its hash (no hashing on the request path) and the next
//! eight pick its shard. An id is hashed with FNV-1a and a final mix; ids
//! in the snapshot are made by the server, never chosen by a caller.

use crate::snapshot::KeyEntry;
use hashbrown::hash_table::{Entry, HashTable};
use keyway_core::ids::KeyId;
use keyway_core::key_format::KeyDigest;
use std::marker::PhantomData;
use std::sync::Arc;

/// Groups of shards per index.
pub const GROUPS: usize = 128;
/// Shards per group.
pub const PER_GROUP: usize = 128;
/// Shards per index, [`GROUPS`] × [`PER_GROUP`].
pub const SHARDS: usize = GROUPS * PER_GROUP;

/// How an index finds an entry's key and hashes it.
trait Index {
    /// The indexed key.
    type Key: ?Sized + Eq;
    /// The key of `entry`.
    fn key(entry: &KeyEntry) -> &Self::Key;
    /// The hash used inside a shard.
    fn hash(key: &Self::Key) -> u64;
    /// The shard `key` falls in, below [`SHARDS`], from bits independent
    /// of [`Index::hash`]'s.
    fn shard(key: &Self::Key) -> usize;
}

/// Index by keyed digest.
#[derive(Debug)]
struct ByDigest;

impl Index for ByDigest {
    type Key = KeyDigest;

    fn key(entry: &KeyEntry) -> &KeyDigest {
        &entry.key.digest
    }

    fn hash(key: &KeyDigest) -> u64 {
        u64_at(key, 0)
    }

    fn shard(key: &KeyDigest) -> usize {
        top_bits(u64_at(key, 8))
    }
}

/// Index by key id.
#[derive(Debug)]
struct ById;

impl Index for ById {
    type Key = str;

    fn key(entry: &KeyEntry) -> &str {
        entry.key.id.as_str()
    }

    fn hash(key: &str) -> u64 {
        mix(fnv1a(key.as_bytes()))
    }

    fn shard(key: &str) -> usize {
        // Bits 32..46 of the hash: hashbrown uses the low bits (bucket)
        // and the top seven (control byte), so a shard's entries still
        // spread over its buckets.
        ((Self::hash(key) >> 32) as usize) & (SHARDS - 1)
    }
}

fn u64_at(d: &KeyDigest, at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[at..at + 8]);
    u64::from_le_bytes(b)
}

fn top_bits(h: u64) -> usize {
    (h >> (64 - SHARDS.trailing_zeros())) as usize
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// splitmix64's finalizer: every input bit reaches every output bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One shard: a hash table of entries.
type Shard = HashTable<Arc<KeyEntry>>;

/// One index: [`SHARDS`] copy-on-write hash tables of entries, in
/// [`GROUPS`] copy-on-write groups.
struct Shards<I> {
    groups: Arc<Vec<Arc<Vec<Arc<Shard>>>>>,
    index: PhantomData<I>,
}

impl<I> Clone for Shards<I> {
    fn clone(&self) -> Self {
        Shards { groups: self.groups.clone(), index: PhantomData }
    }
}

impl<I: Index> Shards<I> {
    fn with_capacity(n: usize) -> Self {
        // A little over the mean, so few shards grow while being filled.
        // Empty, every shard is one shared empty table (copied on its
        // first insert).
        let each = if n == 0 { 0 } else { n / SHARDS + n / SHARDS / 8 + 8 };
        let empty = Arc::new(HashTable::new());
        let group = |_| -> Arc<Vec<Arc<Shard>>> {
            Arc::new(
                (0..PER_GROUP)
                    .map(|_| if each == 0 { empty.clone() } else { Arc::new(HashTable::with_capacity(each)) })
                    .collect(),
            )
        };
        Shards { groups: Arc::new((0..GROUPS).map(group).collect()), index: PhantomData }
    }

    fn shard(&self, key: &I::Key) -> &Shard {
        let at = I::shard(key);
        &self.groups[at / PER_GROUP][at % PER_GROUP]
    }

    fn get(&self, key: &I::Key) -> Option<&Arc<KeyEntry>> {
        self.shard(key).find(I::hash(key), |e| I::key(e) == key)
    }

    /// The key's shard, copied first (with its group and the list of
    /// groups) if another version shares it.
    fn shard_mut(&mut self, key: &I::Key) -> &mut Shard {
        let at = I::shard(key);
        let group = Arc::make_mut(&mut Arc::make_mut(&mut self.groups)[at / PER_GROUP]);
        Arc::make_mut(&mut group[at % PER_GROUP])
    }

    /// Sets the entry for `entry`'s key, returning the one it replaces.
    fn insert(&mut self, entry: Arc<KeyEntry>) -> Option<Arc<KeyEntry>> {
        let key = I::key(&entry);
        let hash = I::hash(key);
        match self.shard_mut(key).entry(hash, |e| I::key(e) == key, |e| I::hash(I::key(e))) {
            Entry::Occupied(mut o) => Some(std::mem::replace(o.get_mut(), entry)),
            Entry::Vacant(v) => {
                v.insert(entry);
                None
            }
        }
    }

    /// Removes the entry for `key`; copies nothing when there is none.
    fn remove(&mut self, key: &I::Key) -> Option<Arc<KeyEntry>> {
        self.get(key)?;
        let hash = I::hash(key);
        let found = self.shard_mut(key).find_entry(hash, |e| I::key(e) == key).ok()?;
        Some(found.remove().0)
    }

    fn values(&self) -> impl Iterator<Item = &Arc<KeyEntry>> {
        self.groups.iter().flat_map(|g| g.iter()).flat_map(|s| s.iter())
    }

    /// Every shard, in order.
    #[cfg(test)]
    fn all_shards(&self) -> impl Iterator<Item = &Arc<Shard>> {
        self.groups.iter().flat_map(|g| g.iter())
    }
}

impl<I> std::fmt::Debug for Shards<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries: usize = self.groups.iter().flat_map(|g| g.iter()).map(|s| s.len()).sum();
        f.debug_struct("Shards").field("entries", &entries).finish()
    }
}

/// Every key of a snapshot, by digest and by id. Cloning is two
/// reference counts; [`KeyTable::insert`] copies one shard of each index.
#[derive(Clone, Debug)]
pub struct KeyTable {
    by_digest: Shards<ByDigest>,
    by_id: Shards<ById>,
    len: usize,
}

impl Default for KeyTable {
    fn default() -> Self {
        KeyTable::with_capacity(0)
    }
}

impl KeyTable {
    /// An empty table sized for `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        KeyTable { by_digest: Shards::with_capacity(n), by_id: Shards::with_capacity(n), len: 0 }
    }

    /// The key with this digest: the request path's one lookup.
    pub fn get(&self, digest: &KeyDigest) -> Option<&Arc<KeyEntry>> {
        self.by_digest.get(digest)
    }

    /// Whether a key has this digest.
    pub fn contains_key(&self, digest: &KeyDigest) -> bool {
        self.get(digest).is_some()
    }

    /// The key with this id.
    pub fn by_id(&self, id: &KeyId) -> Option<&Arc<KeyEntry>> {
        self.by_id.get(id.as_str())
    }

    /// Sets `entry` as the key with its id (and digest), returning the
    /// version it replaces.
    pub fn insert(&mut self, entry: Arc<KeyEntry>) -> Option<Arc<KeyEntry>> {
        let old = self.by_id.insert(entry.clone());
        match &old {
            Some(o) if o.key.digest != entry.key.digest => {
                self.by_digest.remove(&o.key.digest);
            }
            Some(_) => {}
            None => self.len += 1,
        }
        let id = entry.key.id.clone();
        if let Some(displaced) = self.by_digest.insert(entry) {
            // Another key with the same digest (storage refuses that):
            // gone from both indexes, so they always hold the same keys.
            if displaced.key.id != id {
                self.by_id.remove(displaced.key.id.as_str());
                self.len -= 1;
            }
        }
        old
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every key, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &Arc<KeyEntry>> {
        self.by_id.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyway_core::ids::{AppId, TenantId};
    use keyway_core::key_format::KeyEnv;
    use keyway_core::model::ApiKey;

    fn entry(id: &str, d: u64) -> Arc<KeyEntry> {
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&mix(d).to_le_bytes());
        digest[8..16].copy_from_slice(&mix(d ^ 0xff).to_le_bytes());
        let mut key = ApiKey::new(
            &AppId::from("app_1"),
            &TenantId::from("ten_1"),
            KeyEnv::Live,
            "kw_live_abcd",
            digest,
            chrono::Utc::now(),
        );
        key.id = KeyId::from(id);
        Arc::new(KeyEntry::new(key, Default::default()))
    }

    #[test]
    fn both_indexes_follow_every_write_and_old_versions_stay() {
        let mut t = KeyTable::with_capacity(3_000);
        for i in 0..3_000 {
            assert!(t.insert(entry(&format!("key_{i}"), i)).is_none());
        }
        let old = t.clone();
        // A new version of key_7 with another digest replaces it in both indexes.
        let moved = entry("key_7", 1_000_000);
        assert!(t.insert(moved.clone()).is_some());
        assert_eq!(t.len(), 3_000);
        assert!(t.get(&entry("key_7", 7).key.digest).is_none());
        assert!(Arc::ptr_eq(t.get(&moved.key.digest).unwrap(), &moved));
        assert!(Arc::ptr_eq(t.by_id(&KeyId::from("key_7")).unwrap(), &moved));
        // The version handed out before is untouched.
        assert!(old.get(&moved.key.digest).is_none());
        assert_eq!(old.by_id(&KeyId::from("key_7")).unwrap().key.digest, entry("key_7", 7).key.digest);
        assert_eq!(old.len(), 3_000);
        // Only the touched shards were copied.
        let shared = |a: &Shards<ByDigest>, b: &Shards<ByDigest>| {
            a.all_shards().zip(b.all_shards()).filter(|(x, y)| Arc::ptr_eq(x, y)).count()
        };
        assert!(shared(&old.by_digest, &t.by_digest) >= SHARDS - 2);
        for i in (0..3_000).step_by(97) {
            let id = KeyId::from(format!("key_{i}"));
            let e = t.by_id(&id).unwrap();
            assert!(Arc::ptr_eq(t.get(&e.key.digest).unwrap(), e));
        }
        assert_eq!(t.values().count(), 3_000);
    }

    #[test]
    fn ids_spread_over_shards() {
        let mut counts = vec![0usize; SHARDS];
        for i in 0..SHARDS * 64 {
            counts[ById::shard(&format!("key_01jf{i:022}"))] += 1;
        }
        let biggest = counts.iter().max().copied().unwrap_or(0);
        assert!(biggest < 64 * 2, "a shard holds {biggest} ids, the mean is 64");
    }
}
