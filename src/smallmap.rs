//! `SmallMap`: an ordered map for the many small maps synroute keeps — the
//! paths of one host, the labels and annotations of one object.
//!
//! A `BTreeMap` allocates a whole node (11 slots) for its first entry:
//! about 1 KB for a host's paths, 0.5 KB for a label map, whatever the
//! number of entries. Most of these maps hold one to five entries, so they
//! are kept as a sorted `Vec` (one slot per entry) and only become a
//! `BTreeMap` past `SPILL` entries, where inserting into the middle of a
//! vector would start to cost time. Iteration is always in key order, as
//! with a `BTreeMap`, so output does not depend on the representation.
//!
//! It knows nothing of Kubernetes.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;

/// Entries kept in a sorted vector before spilling into a `BTreeMap`.
const SPILL: usize = 32;

/// Below this many entries, the vector grows by one slot at a time.
const GROW_EXACT: usize = 8;

#[derive(Clone)]
pub enum SmallMap<K, V> {
    Small(Vec<(K, V)>),
    Large(BTreeMap<K, V>),
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap::Small(Vec::new())
    }
}

impl<K: Ord, V> SmallMap<K, V> {
    pub fn new() -> Self {
        SmallMap::default()
    }

    pub fn len(&self) -> usize {
        match self {
            SmallMap::Small(v) => v.len(),
            SmallMap::Large(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self {
            SmallMap::Small(v) => v
                .binary_search_by(|(k, _)| k.borrow().cmp(key))
                .ok()
                .and_then(|i| v.get(i))
                .map(|(_, val)| val),
            SmallMap::Large(m) => m.get(key),
        }
    }

    /// The entry at `key`, key and value.
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self {
            SmallMap::Small(v) => v
                .binary_search_by(|(k, _)| k.borrow().cmp(key))
                .ok()
                .and_then(|i| v.get(i))
                .map(|(k, val)| (k, val)),
            SmallMap::Large(m) => m.get_key_value(key),
        }
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self {
            SmallMap::Small(v) => match v.binary_search_by(|(k, _)| k.borrow().cmp(key)) {
                Ok(i) => v.get_mut(i).map(|(_, val)| val),
                Err(_) => None,
            },
            SmallMap::Large(m) => m.get_mut(key),
        }
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self {
            SmallMap::Small(v) => match v.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(i) => v
                    .get_mut(i)
                    .map(|slot| std::mem::replace(&mut slot.1, value)),
                Err(i) => {
                    if v.len() < SPILL {
                        // Most maps stay at a handful of entries: grown one
                        // slot at a time, they hold no unused slots (a Vec
                        // doubles, from 4).
                        if v.len() == v.capacity() && v.len() < GROW_EXACT {
                            v.reserve_exact(1);
                        }
                        v.insert(i, (key, value));
                    } else {
                        let mut m: BTreeMap<K, V> = std::mem::take(v).into_iter().collect();
                        m.insert(key, value);
                        *self = SmallMap::Large(m);
                    }
                    None
                }
            },
            SmallMap::Large(m) => m.insert(key, value),
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self {
            SmallMap::Small(v) => match v.binary_search_by(|(k, _)| k.borrow().cmp(key)) {
                Ok(i) => Some(v.remove(i).1),
                Err(_) => None,
            },
            SmallMap::Large(m) => m.remove(key),
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        match self {
            SmallMap::Small(v) => v.retain_mut(|(k, val)| keep(k, val)),
            SmallMap::Large(m) => m.retain(|k, val| keep(k, val)),
        }
    }

    /// In key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        match self {
            SmallMap::Small(v) => Iter::Small(v.iter()),
            SmallMap::Large(m) => Iter::Large(m.iter()),
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }
}

/// The entries in key order.
pub enum Iter<'a, K, V> {
    Small(std::slice::Iter<'a, (K, V)>),
    Large(std::collections::btree_map::Iter<'a, K, V>),
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(it) => it.next().map(|(k, v)| (k, v)),
            Iter::Large(it) => it.next(),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Small(it) => it.size_hint(),
            Iter::Large(it) => it.size_hint(),
        }
    }
}

impl<'a, K, V> DoubleEndedIterator for Iter<'a, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Small(it) => it.next_back().map(|(k, v)| (k, v)),
            Iter::Large(it) => it.next_back(),
        }
    }
}

impl<'a, K: Ord, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

/// Later entries win over earlier ones with the same key, as with
/// `BTreeMap::from_iter`.
impl<K: Ord, V> FromIterator<(K, V)> for SmallMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v: Vec<(K, V)> = iter.into_iter().collect();
        if v.len() > SPILL {
            return SmallMap::Large(v.into_iter().collect());
        }
        // Stable: equal keys stay in input order; keep the last of each.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(K, V)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        SmallMap::Small(out)
    }
}

impl<K: Ord, V: PartialEq> PartialEq for SmallMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<K: Ord, V: Eq> Eq for SmallMap<K, V> {}

impl<K: Ord + fmt::Debug, V: fmt::Debug> fmt::Debug for SmallMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'de, K, V> serde::Deserialize<'de> for SmallMap<K, V>
where
    K: Ord + serde::Deserialize<'de>,
    V: serde::Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K, V> serde::de::Visitor<'de> for Visit<K, V>
        where
            K: Ord + serde::Deserialize<'de>,
            V: serde::Deserialize<'de>,
        {
            type Value = SmallMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(SPILL));
                while let Some(entry) = access.next_entry()? {
                    entries.push(entry);
                }
                Ok(entries.into_iter().collect())
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

impl<K: serde::Serialize + Ord, V: serde::Serialize> serde::Serialize for SmallMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is inserted, removed or retained, a SmallMap holds and
        /// iterates exactly what a BTreeMap does, across the spill.
        #[test]
        fn behaves_like_a_btreemap(ops in prop::collection::vec((0u8..4, 0u16..80, any::<u8>()), 0..300)) {
            let mut small: SmallMap<u16, u8> = SmallMap::new();
            let mut model: BTreeMap<u16, u8> = BTreeMap::new();
            for (op, k, v) in ops {
                match op {
                    0 | 1 => prop_assert_eq!(small.insert(k, v), model.insert(k, v)),
                    2 => prop_assert_eq!(small.remove(&k), model.remove(&k)),
                    _ => {
                        small.retain(|key, _| key % 7 != u16::from(v) % 7);
                        model.retain(|key, _| key % 7 != u16::from(v) % 7);
                    }
                }
                prop_assert_eq!(small.len(), model.len());
                prop_assert_eq!(small.get(&k), model.get(&k));
            }
            let a: Vec<(u16, u8)> = small.iter().map(|(k, v)| (*k, *v)).collect();
            let b: Vec<(u16, u8)> = model.iter().map(|(k, v)| (*k, *v)).collect();
            prop_assert_eq!(&a, &b);
            let rebuilt: SmallMap<u16, u8> = b.iter().copied().collect();
            prop_assert_eq!(rebuilt, small);
        }
    }

    #[test]
    fn later_duplicates_win_like_btreemap() {
        let m: SmallMap<&str, i32> = [("b", 1), ("a", 2), ("b", 3)].into_iter().collect();
        let got: Vec<_> = m.iter().collect();
        assert_eq!(got, [(&"a", &2), (&"b", &3)]);
        let json: SmallMap<String, String> =
            serde_json::from_str(r#"{"z": "1", "a": "2", "z": "3"}"#).unwrap();
        assert_eq!(json.get("z").map(String::as_str), Some("3"));
        assert_eq!(json.keys().next().map(String::as_str), Some("a"));
    }
}
