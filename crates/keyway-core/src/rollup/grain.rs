//! Grains: which dimensions rollup rows keep. Every call is counted once
//! in each grain, so a query answered from a coarser grain (fewer, larger
//! rows) equals the same query answered from the full one; the planner
//! picks the coarsest grain that keeps every dimension a query filters or
//! groups by.

use super::RollupKey;

/// A dimension calls are filtered, grouped or ranked by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    /// The tenant.
    Tenant,
    /// The API.
    Api,
    /// The app.
    App,
    /// The key.
    Key,
    /// The refusal code, `ok` for accepted calls.
    Code,
}

impl Dimension {
    /// Every dimension's name, as the analytics API spells it.
    pub const NAMES: &'static [&'static str] = &["api", "app", "key", "code", "tenant"];

    /// The dimension named `s`.
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "tenant" => Dimension::Tenant,
            "api" => Dimension::Api,
            "app" => Dimension::App,
            "key" => Dimension::Key,
            "code" => Dimension::Code,
            _ => return None,
        })
    }

    /// Its value in `k` (empty when the call had none).
    pub fn of(self, k: &RollupKey) -> &str {
        match self {
            Dimension::Tenant => &k.tenant_id,
            Dimension::Api => &k.api_id,
            Dimension::App => &k.app_id,
            Dimension::Key => &k.key_id,
            Dimension::Code => &k.code,
        }
    }
}

/// The dimensions a rollup row keeps; the ones a grain drops are stored
/// as empty text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// Every dimension: tenant, API, app, key, status class and code.
    Key,
    /// Tenant, API, app, status class and code: no key.
    App,
    /// Tenant, API, status class and code: no app, no key.
    Api,
}

impl Grain {
    /// Every grain, finest first.
    pub const ALL: [Grain; 3] = [Grain::Key, Grain::App, Grain::Api];

    /// The stored number of the grain (0, 1, 2).
    pub fn index(self) -> i64 {
        match self {
            Grain::Key => 0,
            Grain::App => 1,
            Grain::Api => 2,
        }
    }

    /// The grain stored as `n`.
    pub fn from_index(n: i64) -> Option<Grain> {
        Grain::ALL.into_iter().find(|g| g.index() == n)
    }

    /// Whether rows of this grain keep `d`.
    pub fn keeps(self, d: Dimension) -> bool {
        match d {
            Dimension::Tenant | Dimension::Api | Dimension::Code => true,
            Dimension::App => self != Grain::Api,
            Dimension::Key => self == Grain::Key,
        }
    }

    /// The coarsest grain keeping every dimension of `needed`.
    pub fn coarsest(needed: impl IntoIterator<Item = Dimension> + Clone) -> Grain {
        Grain::ALL.into_iter().rev().find(|g| needed.clone().into_iter().all(|d| g.keeps(d))).unwrap_or(Grain::Key)
    }

    /// `key` (a full-grain key) with the dimensions this grain drops
    /// emptied.
    pub fn project(self, key: &RollupKey) -> RollupKey {
        let keep = |d: Dimension, v: &str| if self.keeps(d) { v.to_owned() } else { String::new() };
        RollupKey {
            bucket: key.bucket,
            tenant_id: key.tenant_id.clone(),
            api_id: key.api_id.clone(),
            app_id: keep(Dimension::App, &key.app_id),
            key_id: keep(Dimension::Key, &key.key_id),
            status_class: key.status_class,
            code: key.code.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarsest_grain_keeps_what_is_needed() {
        assert_eq!(Grain::coarsest([]), Grain::Api);
        assert_eq!(Grain::coarsest([Dimension::Api, Dimension::Code, Dimension::Tenant]), Grain::Api);
        assert_eq!(Grain::coarsest([Dimension::App]), Grain::App);
        assert_eq!(Grain::coarsest([Dimension::App, Dimension::Key]), Grain::Key);
        assert_eq!(Grain::coarsest([Dimension::Key]), Grain::Key);
    }

    #[test]
    fn projection_empties_what_a_grain_drops() {
        let k = RollupKey {
            bucket: 60,
            tenant_id: "t".into(),
            api_id: "a".into(),
            app_id: "p".into(),
            key_id: "k".into(),
            status_class: 2,
            code: "ok".into(),
        };
        assert_eq!(Grain::Key.project(&k), k);
        assert_eq!(Grain::App.project(&k), RollupKey { key_id: String::new(), ..k.clone() });
        assert_eq!(Grain::Api.project(&k), RollupKey { key_id: String::new(), app_id: String::new(), ..k.clone() });
    }
}
