//! [`KeyLoader`]: builds a snapshot's [`KeyTable`] from keys one at a time,
//! as storage reads them, so start-up never holds every key twice.
//!
//! Each key's app and tenant ids are pointed at one shared copy of their
//! text: a million keys of one app hold one app id, not a million.

use crate::key_table::KeyTable;
use crate::snapshot::KeyEntry;
use keyway_core::ids::{AppId, TenantId};
use keyway_core::model::ApiKey;
use std::collections::HashSet;
use std::sync::Arc;

/// Keys added so far, and the id texts they share.
#[derive(Debug, Default)]
pub struct KeyLoader {
    table: KeyTable,
    ids: HashSet<Arc<str>>,
}

impl KeyLoader {
    /// A loader whose table is sized for `n` keys.
    pub fn with_capacity(n: usize) -> Self {
        KeyLoader { table: KeyTable::with_capacity(n), ids: HashSet::new() }
    }

    /// Adds one key (a later key with the same id replaces it).
    pub fn add(&mut self, mut key: ApiKey) {
        key.app_id = AppId(self.shared(&key.app_id.0));
        key.tenant_id = TenantId(self.shared(&key.tenant_id.0));
        self.table.insert(Arc::new(KeyEntry::new(key, Default::default())));
    }

    /// The one copy of `text` all keys share.
    fn shared(&mut self, text: &Arc<str>) -> Arc<str> {
        match self.ids.get(text) {
            Some(shared) => shared.clone(),
            None => {
                self.ids.insert(text.clone());
                text.clone()
            }
        }
    }

    /// The table of every key added.
    pub fn finish(self) -> KeyTable {
        self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyway_core::key_format::KeyEnv;

    #[test]
    fn keys_of_one_app_share_its_id_text() {
        let mut loader = KeyLoader::default();
        let mut digests = Vec::new();
        for i in 0..3u8 {
            // Each row decodes its own copy of the app id.
            let app = AppId::from("app_01jf0000000000000000000000");
            let digest = [i; 32];
            loader.add(ApiKey::new(&app, &TenantId::from("ten_1"), KeyEnv::Live, "kw_live_abcd", digest, chrono::Utc::now()));
            digests.push(digest);
        }
        let table = loader.finish();
        assert_eq!(table.len(), 3);
        let first = &table.get(&digests[0]).map(|e| e.key.app_id.0.clone());
        for d in &digests {
            let app = table.get(d).map(|e| e.key.app_id.0.clone());
            assert!(matches!((first, &app), (Some(a), Some(b)) if Arc::ptr_eq(a, b)));
        }
    }

    #[test]
    fn keys_keep_their_ai_limits() {
        use keyway_core::model::{AiLimits, Budget, BudgetPeriod};
        let app = AppId::from("app_1");
        let tenant = TenantId::from("ten_1");
        let now = chrono::Utc::now();
        let mut limited = ApiKey::new(&app, &tenant, KeyEnv::Live, "kw_live_abcd", [1; 32], now);
        let ai = AiLimits {
            allowed_models: vec!["gpt-4o".into()],
            budget: Some(Budget { usd: 5.0, period: BudgetPeriod::Day }),
            tokens_per_minute: Some(1000),
        };
        limited.rare_mut().ai = ai.clone();
        let plain = ApiKey::new(&app, &tenant, KeyEnv::Live, "kw_live_efgh", [2; 32], now);
        let mut loader = KeyLoader::default();
        loader.add(limited);
        loader.add(plain);
        let table = loader.finish();
        assert_eq!(table.get(&[1; 32]).map(|e| e.key.ai_limits().clone()), Some(ai));
        let plain = table.get(&[2; 32]).map(|e| e.key.clone());
        assert!(plain.is_some_and(|k| k.ai_limits().is_empty()));
    }
}
