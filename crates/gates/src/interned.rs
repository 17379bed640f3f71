//! [`Interned`]: an immutable string shared by every record that holds the same text (issue 11:
//! memory per principal). Each of 10,000 principals and their access keys names the same
//! account ID, and nearly every user the same attached managed policy ARN; as `String`s each
//! copy was its own allocation (32 and 64 bytes with glibc), interned they are one.
//!
//! It reads as a `&str` (`Deref`), and serde reads and writes it as a plain JSON string, so the
//! stored JSON and every API's bytes are the same as with `String`.
//!
//! Written here rather than taken from `internment` (`ArcIntern`): that one removes a text from
//! its global map when the last holder drops it, a map lock on every drop, and snapshots drop
//! records on every write; this pool sweeps unheld texts only when it has doubled, and is the
//! twenty lines of a `HashSet<Arc<str>>` behind a mutex.

use parking_lot::Mutex;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, LazyLock};

/// An interned string: equal texts made through [`Interned::new`] (or `From`, or serde) share
/// one allocation.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interned(Arc<str>);

/// Every interned text. An entry nothing else holds any more (its record was deleted) is
/// dropped when the pool has doubled since it was last swept, so the pool stays within twice
/// what the records hold.
struct Pool {
    texts: HashSet<Arc<str>, ahash::RandomState>,
    sweep_at: usize,
}

const FIRST_SWEEP: usize = 1024;

static POOL: LazyLock<Mutex<Pool>> = LazyLock::new(|| {
    Mutex::new(Pool {
        texts: HashSet::default(),
        sweep_at: FIRST_SWEEP,
    })
});

impl Interned {
    pub fn new(text: &str) -> Interned {
        let mut pool = POOL.lock();
        if let Some(shared) = pool.texts.get(text) {
            return Interned(shared.clone());
        }
        if pool.texts.len() >= pool.sweep_at {
            pool.texts.retain(|t| Arc::strong_count(t) > 1);
            pool.sweep_at = (pool.texts.len() * 2).max(FIRST_SWEEP);
        }
        let shared: Arc<str> = Arc::from(text);
        pool.texts.insert(shared.clone());
        Interned(shared)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Interned {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Interned {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Interned {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Interned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl fmt::Debug for Interned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Default for Interned {
    fn default() -> Interned {
        Interned::new("")
    }
}

impl From<&str> for Interned {
    fn from(s: &str) -> Interned {
        Interned::new(s)
    }
}

impl From<&String> for Interned {
    fn from(s: &String) -> Interned {
        Interned::new(s)
    }
}

impl From<String> for Interned {
    fn from(s: String) -> Interned {
        Interned::new(&s)
    }
}

impl From<&Interned> for Interned {
    fn from(s: &Interned) -> Interned {
        s.clone()
    }
}

impl From<Interned> for String {
    fn from(s: Interned) -> String {
        s.as_str().to_string()
    }
}

impl PartialEq<str> for Interned {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == o
    }
}

impl PartialEq<&str> for Interned {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

impl PartialEq<String> for Interned {
    fn eq(&self, o: &String) -> bool {
        self.as_str() == o
    }
}

impl PartialEq<Interned> for str {
    fn eq(&self, o: &Interned) -> bool {
        self == o.as_str()
    }
}

impl PartialEq<Interned> for &str {
    fn eq(&self, o: &Interned) -> bool {
        *self == o.as_str()
    }
}

impl PartialEq<Interned> for String {
    fn eq(&self, o: &Interned) -> bool {
        self == o.as_str()
    }
}

impl serde::Serialize for Interned {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Interned {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interned, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Interned;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            // Borrowed from the row where it can be: the text is looked up, not copied, when
            // it is already interned.
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Interned, E> {
                Ok(Interned::new(v))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_allocation_and_read_as_strings() {
        let a = Interned::new("111111111111-interned-test");
        let b: Interned = serde_json::from_str(r#""111111111111-interned-test""#).unwrap();
        let c = Interned::from("111111111111-interned-test".to_string());
        assert!(Arc::ptr_eq(&a.0, &b.0) && Arc::ptr_eq(&a.0, &c.0));
        assert_eq!(a, "111111111111-interned-test");
        assert_eq!(a.len(), 26);
        assert_eq!(
            format!("{a} {a:?}"),
            r#"111111111111-interned-test "111111111111-interned-test""#
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#""111111111111-interned-test""#
        );
        // escaped text is unescaped as a String's would be
        let e: Interned = serde_json::from_str(r#""a\"b\u00e9""#).unwrap();
        assert_eq!(e, "a\"bé");
        assert!(serde_json::from_str::<Interned>("1").is_err());
    }

    #[test]
    fn texts_nothing_holds_are_swept_once_the_pool_doubles() {
        let kept = Interned::new("kept-across-sweeps");
        for i in 0..3 * FIRST_SWEEP {
            drop(Interned::new(&format!("dropped-{i}")));
        }
        let pool = POOL.lock();
        assert!(pool.texts.len() <= pool.sweep_at, "{}", pool.texts.len());
        assert!(pool.texts.len() < 3 * FIRST_SWEEP);
        assert!(pool.texts.contains("kept-across-sweeps"));
        drop(pool);
        assert!(Arc::ptr_eq(&kept.0, &Interned::new("kept-across-sweeps").0));
    }
}
