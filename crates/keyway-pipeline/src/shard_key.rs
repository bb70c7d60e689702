//! [`ShardKey`]: how a [`crate::table::Table`] picks a key's shard, cheaply.
//!
//! Key digests are HMAC output, already uniform: their first eight bytes
//! are the shard hash, for free. Ids are hashed with FNV-1a over their
//! text (about one multiply per byte), much cheaper than the map's own
//! SipHash, which the lookup inside the shard still uses.

use keyway_core::ids::{ApiId, AppId, HmacKeyId, KeyId, SubscriptionId, TenantId, UserId};
use keyway_core::key_format::KeyDigest;
use std::hash::Hash;

/// A map key that can name its shard.
pub trait ShardKey: Hash + Eq {
    /// A 64-bit hash whose bits are spread well enough to pick a shard.
    fn shard_hash(&self) -> u64;
}

impl ShardKey for KeyDigest {
    fn shard_hash(&self) -> u64 {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self[..8]);
        u64::from_le_bytes(first)
    }
}

/// FNV-1a over `bytes`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

macro_rules! id_shard_key {
    ($($id:ty),*) => {$(
        impl ShardKey for $id {
            fn shard_hash(&self) -> u64 {
                fnv1a(self.as_str().as_bytes())
            }
        }
    )*};
}

id_shard_key!(TenantId, UserId, AppId, KeyId, ApiId, SubscriptionId, HmacKeyId);

impl<A: ShardKey, B: ShardKey> ShardKey for (A, B) {
    fn shard_hash(&self) -> u64 {
        self.0.shard_hash() ^ self.1.shard_hash().rotate_left(29)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_differ_in_one_character_hash_apart() {
        let a = AppId::from("app_01jf00000000000000000000a1");
        let b = AppId::from("app_01jf00000000000000000000a2");
        assert_ne!(a.shard_hash(), b.shard_hash());
        let pair = (a.clone(), ApiId::from("api_1"));
        let swapped = (b, ApiId::from("api_1"));
        assert_ne!(pair.shard_hash(), swapped.shard_hash());
    }
}
