//! The persistent maps the state snapshot is made of: [`PersistentMap`] (keyed by ID) and
//! [`RecordMap`] (records that carry their own key), both structurally shared, so that a write
//! copies only the path to what it changed.

/// The tries' hasher: aHash, several times faster than `std`'s SipHash on ARNs and key IDs (a
/// restart hashes each of them at least once). Its `RandomState` is seeded at random once per
/// process (`runtime-rng`), so the keys a client chooses (user names in ARNs) cannot be aimed at
/// one trie branch.
type Hasher = ahash::RandomState;

/// A persistent (immutable, structurally shared) hash map keyed by ID, with the read API of
/// `std`'s `HashMap`. Cloning it is O(1) and an insert or remove copies only the O(log n) path
/// to the entry (a hash array mapped trie, `rpds`), so a snapshot write costs what it touched,
/// not the size of the state. Values are behind an `Arc` in the trie, so a copied path shares
/// every value it does not replace.
pub struct PersistentMap<V>(rpds::HashTrieMap<String, V, archery::ArcTK, Hasher>);

impl<V> PersistentMap<V> {
    pub fn new() -> Self {
        PersistentMap(rpds::HashTrieMap::new_with_hasher_and_ptr_kind(
            Hasher::new(),
        ))
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        String: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.get(key)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        String: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.contains_key(key)
    }

    pub fn insert(&mut self, key: String, value: V) {
        self.0.insert_mut(key, value);
    }

    /// Removes the entry; whether there was one.
    pub fn remove<Q>(&mut self, key: &Q) -> bool
    where
        String: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.remove_mut(key)
    }

    pub fn len(&self) -> usize {
        self.0.size()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.0.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.values()
    }
}

impl<V: Clone> PersistentMap<V> {
    /// The value to change in place (the path to it is copied first if it is shared).
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        String: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.get_mut(key)
    }
}

impl<V> Clone for PersistentMap<V> {
    fn clone(&self) -> Self {
        PersistentMap(self.0.clone())
    }
}

impl<V> Default for PersistentMap<V> {
    fn default() -> Self {
        PersistentMap::new()
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for PersistentMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl<V, Q> std::ops::Index<&Q> for PersistentMap<V>
where
    String: std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    type Output = V;
    fn index(&self, key: &Q) -> &V {
        self.0.get(key).expect("no entry for that key")
    }
}

impl<'a, V> IntoIterator for &'a PersistentMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = rpds::map::hash_trie_map::Iter<'a, String, V, archery::ArcTK>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<V> FromIterator<(String, V)> for PersistentMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut m = PersistentMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// A record that carries its own map key (a principal's ARN, an access key's ID).
pub trait Keyed {
    fn key(&self) -> &String;
}

/// A record in a [`RecordMap`]: hashed and compared by its key, so that the set can be looked
/// up by `&str` (`Borrow<str>` agrees with `str`'s `Hash` and `Eq`, as it must).
#[derive(Clone, Debug)]
pub struct ByKey<V>(V);

impl<V: Keyed> std::hash::Hash for ByKey<V> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.key().as_str().hash(h)
    }
}

impl<V: Keyed> PartialEq for ByKey<V> {
    fn eq(&self, other: &Self) -> bool {
        self.0.key() == other.0.key()
    }
}

impl<V: Keyed> Eq for ByKey<V> {}

impl<V: Keyed> std::borrow::Borrow<str> for ByKey<V> {
    fn borrow(&self) -> &str {
        self.0.key()
    }
}

/// [`PersistentMap`] for records that carry their key (principals, access keys: one each per
/// principal at scale): a persistent set of records looked up by key, so that the key is not
/// stored a second time beside the record (issue 11: memory per principal). The read API is
/// the map's; [`RecordMap::insert`] takes the record alone.
pub struct RecordMap<V: Keyed>(rpds::HashTrieSet<ByKey<V>, archery::ArcTK, Hasher>);

type RecordIter<'a, V> = std::iter::Map<
    rpds::set::hash_trie_set::Iter<'a, ByKey<V>, archery::ArcTK>,
    fn(&'a ByKey<V>) -> (&'a String, &'a V),
>;

impl<V: Keyed> RecordMap<V> {
    pub fn new() -> Self {
        RecordMap(rpds::HashTrieSet::new_with_hasher_with_ptr_kind(
            Hasher::new(),
        ))
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.get(key).map(|r| &r.0)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains(key)
    }

    /// Inserts `record` under its own key, replacing the record stored there.
    pub fn insert(&mut self, record: V) {
        // rpds replaces a set's equal element (its map's whole entry), not only its value
        self.0.insert_mut(ByKey(record));
    }

    /// Removes the entry; whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        self.0.remove_mut(key)
    }

    pub fn len(&self) -> usize {
        self.0.size()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> RecordIter<'_, V> {
        fn pair<V: Keyed>(r: &ByKey<V>) -> (&String, &V) {
            (r.0.key(), &r.0)
        }
        self.0.iter().map(pair as fn(&ByKey<V>) -> (&String, &V))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|r| r.0.key())
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|r| &r.0)
    }
}

impl<V: Keyed> Clone for RecordMap<V> {
    fn clone(&self) -> Self {
        RecordMap(self.0.clone())
    }
}

impl<V: Keyed> Default for RecordMap<V> {
    fn default() -> Self {
        RecordMap::new()
    }
}

impl<V: Keyed + std::fmt::Debug> std::fmt::Debug for RecordMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: Keyed> std::ops::Index<&str> for RecordMap<V> {
    type Output = V;
    fn index(&self, key: &str) -> &V {
        self.get(key).expect("no entry for that key")
    }
}

impl<'a, V: Keyed> IntoIterator for &'a RecordMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = RecordIter<'a, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
