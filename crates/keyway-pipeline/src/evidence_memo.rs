//! Trace evidence made once and shared: a passing phase says the same
//! thing on every request until what it read changes (the API and its
//! tenant for `route`; the key for `key`; the app and tenant for
//! `identity`), so the text is made on first use, kept beside the entry,
//! and handed out as a shared [`Text`] — no allocation, no formatting on
//! the request path, and the call-log writer sees the same pointer again.

use arc_swap::ArcSwapOption;
use keyway_core::text::Text;
use std::sync::Arc;

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

impl<I> Memo<I> {
    /// The kept text if `current` says its inputs are still the ones in
    /// use (compare snapshot records by pointer: they are replaced, never
    /// edited), else `make()`'s inputs and text, kept for the next call.
    /// The inputs are only cloned when the text is (re)made.
    pub fn get(&self, current: impl Fn(&I) -> bool, make: impl FnOnce() -> (I, String)) -> Text {
        if let Some(made) = self.made.load().as_ref().filter(|m| current(&m.inputs)) {
            return Text::Shared(made.text.clone());
        }
        let (inputs, text) = make();
        let text: Arc<str> = Arc::from(text);
        self.made.store(Some(Arc::new(Made { inputs, text: text.clone() })));
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
        let get = |s: &Arc<String>| {
            memo.get(
                |held| Arc::ptr_eq(held, s),
                || {
                    made.set(made.get() + 1);
                    (s.clone(), format!("app {s}"))
                },
            )
        };
        let first = Arc::new("a".to_owned());
        let (a1, a2) = (get(&first), get(&first));
        assert_eq!((a1.as_str(), a2.as_str(), made.get()), ("app a", "app a", 1));
        // An equal value in a new record is a change: snapshot records are
        // replaced, never edited, so a new pointer means new facts.
        let renamed = Arc::new("b".to_owned());
        assert_eq!(get(&renamed).as_str(), "app b");
        assert_eq!(get(&renamed).as_str(), "app b");
        assert_eq!(made.get(), 2);
    }

    #[test]
    fn pairs_change_when_either_side_does() {
        let memo: Memo<(Arc<u8>, Arc<u8>)> = Memo::default();
        let get = |x: &Arc<u8>, y: &Arc<u8>, text: &str| {
            memo.get(|(a, b)| Arc::ptr_eq(a, x) && Arc::ptr_eq(b, y), || ((x.clone(), y.clone()), text.to_owned()))
        };
        let (x, y) = (Arc::new(1), Arc::new(2));
        assert_eq!(get(&x, &y, "1 2").as_str(), "1 2");
        assert_eq!(get(&x, &y, "again").as_str(), "1 2");
        assert_eq!(get(&x, &Arc::new(3), "1 3").as_str(), "1 3");
    }
}
