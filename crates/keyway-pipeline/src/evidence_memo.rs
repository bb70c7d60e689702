//! Trace evidence made once and shared: a passing phase says the same
//! thing on every request until what it read changes (the API and its
//! tenant for `route`; the key for `key`; the app and tenant for
//! `identity`), so the text is made on first use, kept beside the entry,
//! and handed out as a shared [`Text`] — no allocation, no formatting on
//! the request path, and the call-log writer sees the same pointer again.

use arc_swap::ArcSwapOption;
use keyway_core::text::Text;
use std::sync::Arc;

/// What a memoized text was made from; equal inputs give the same text.
pub trait Inputs: Clone {
    /// Whether `self` and `other` are the very same values (the same
    /// snapshot records, compared by pointer).
    fn same(&self, other: &Self) -> bool;
}

impl<T> Inputs for Arc<T> {
    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(self, other)
    }
}

impl<A: Inputs, B: Inputs> Inputs for (A, B) {
    fn same(&self, other: &Self) -> bool {
        self.0.same(&other.0) && self.1.same(&other.1)
    }
}

impl Inputs for () {
    fn same(&self, _: &Self) -> bool {
        true
    }
}

/// One memoized text and the inputs it was made from (held, so a
/// pointer compared later cannot be a new record at a freed address).
#[derive(Debug)]
struct Made<I> {
    inputs: I,
    text: Arc<str>,
}

/// A text made from inputs `I`, remade when they change.
#[derive(Debug)]
pub struct Memo<I> {
    made: ArcSwapOption<Made<I>>,
}

impl<I> Default for Memo<I> {
    fn default() -> Self {
        Self { made: ArcSwapOption::empty() }
    }
}

impl<I: Inputs> Memo<I> {
    /// The text for `inputs`: the kept one if it was made from the same
    /// inputs, else `make()`'s, kept for the next call.
    pub fn get(&self, inputs: &I, make: impl FnOnce() -> String) -> Text {
        if let Some(made) = self.made.load().as_ref().filter(|m| m.inputs.same(inputs)) {
            return Text::Shared(made.text.clone());
        }
        let text: Arc<str> = Arc::from(make());
        self.made.store(Some(Arc::new(Made { inputs: inputs.clone(), text: text.clone() })));
        Text::Shared(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn made_once_for_the_same_inputs_and_again_when_they_change() {
        let memo: Memo<Arc<String>> = Memo::default();
        let made = Cell::new(0);
        let make = |s: &Arc<String>| {
            made.set(made.get() + 1);
            format!("app {s}")
        };
        let first = Arc::new("a".to_owned());
        let a1 = memo.get(&first, || make(&first));
        let a2 = memo.get(&first, || make(&first));
        assert_eq!((a1.as_str(), a2.as_str(), made.get()), ("app a", "app a", 1));
        // An equal value in a new record is a change: snapshot records are
        // replaced, never edited, so a new pointer means new facts.
        let renamed = Arc::new("b".to_owned());
        assert_eq!(memo.get(&renamed, || make(&renamed)).as_str(), "app b");
        assert_eq!(memo.get(&renamed, || make(&renamed)).as_str(), "app b");
        assert_eq!(made.get(), 2);
    }

    #[test]
    fn pairs_change_when_either_side_does() {
        let memo: Memo<(Arc<u8>, Arc<u8>)> = Memo::default();
        let (x, y) = (Arc::new(1), Arc::new(2));
        assert_eq!(memo.get(&(x.clone(), y.clone()), || "1 2".into()).as_str(), "1 2");
        assert_eq!(memo.get(&(x.clone(), y.clone()), || "again".into()).as_str(), "1 2");
        assert_eq!(memo.get(&(x, Arc::new(3)), || "1 3".into()).as_str(), "1 3");
    }
}
