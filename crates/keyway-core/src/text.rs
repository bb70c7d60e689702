//! [`Text`]: a string that is cheap to make and to copy when it is the
//! same on every request (a constant, or one made once and shared), and
//! an ordinary owned string when it is not. Trace evidence is written on
//! every request and read almost never, so most of it is shared.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable string: static, shared or owned. Compares, hashes and
/// serializes as the string it holds.
#[derive(Clone)]
pub enum Text {
    /// A constant.
    Static(&'static str),
    /// Made once, shared by every request that says the same.
    Shared(Arc<str>),
    /// Made for one request.
    Owned(String),
}

impl Text {
    /// The string.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Shared(s) => s,
            Text::Owned(s) => s,
        }
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::Static("")
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Self {
        Text::Static(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Owned(s)
    }
}

impl From<Arc<str>> for Text {
    fn from(s: Arc<str>) -> Self {
        Text::Shared(s)
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        match t {
            Text::Owned(s) => s,
            other => other.as_str().to_owned(),
        }
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Text::Owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_compares_and_serializes_as_its_string() {
        let forms = [Text::from("api v1"), Text::from(String::from("api v1")), Text::from(Arc::<str>::from("api v1"))];
        for a in &forms {
            for b in &forms {
                assert_eq!(a, b);
            }
            assert_eq!(serde_json::to_string(a).unwrap_or_default(), "\"api v1\"");
            assert_eq!(a.to_string(), "api v1");
            assert_eq!(format!("{a:?}"), "\"api v1\"");
        }
        let back: Text = serde_json::from_str("\"x\"").unwrap_or_default();
        assert_eq!(back, "x");
        assert_ne!(Text::from("a"), Text::from("b"));
    }

    #[test]
    fn a_shared_text_is_cloned_by_pointer() {
        let shared = Text::from(Arc::<str>::from("once"));
        let copy = shared.clone();
        match (&shared, &copy) {
            (Text::Shared(a), Text::Shared(b)) => assert!(Arc::ptr_eq(a, b)),
            _ => unreachable!("both are shared"),
        }
        assert_eq!(String::from(copy), "once");
    }
}
