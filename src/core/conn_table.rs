//! A table of one value per open connection, for the server's core (`Sessions`) and its shell (the
//! sockets' state): the values side by side in one vector, and a small index from a connection's
//! number to its place.
//!
//! Why not a hash map of the values: a map keeps its buckets up to half empty, and each empty
//! bucket is as large as a value (300 bytes for the core's connection), all of it touched; with
//! 19,000 connections in 32,768 buckets that was 1.7 times the values themselves. Here the values
//! are packed (a closed connection's place is taken by the last one), and the index's buckets hold
//! only a place, 4 bytes and hashbrown's control byte: the number a place belongs to is read from
//! the value's side, as `indexmap` does, instead of being kept in the index a second time (a
//! `HashMap<ConnId, u32>` bucket is 16 bytes, about 28 a connection with the empty ones; this is
//! about 8). A vector's capacity beyond its length is never written, so it costs address space,
//! not memory.
//!
//! Why not numbers that are places (a slab whose slot is in the connection's number): connection
//! numbers stay what they were, given in order and never reused, which the core's listings, its
//! shutdown and the simulator go by, and in a cluster one core's table holds every node's
//! connections, numbered by their nodes.

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::conn::ConnId;

/// One `V` per connection, by [`ConnId`]; lookups go through one small index.
#[derive(Clone, Debug)]
pub struct ConnTable<V> {
    /// The values, each with its connection, in no particular order.
    values: Vec<(ConnId, V)>,
    /// Each connection's place in `values`, hashed by the connection's number there.
    place: HashTable<u32>,
}

impl<V> Default for ConnTable<V> {
    fn default() -> Self {
        ConnTable {
            values: Vec::new(),
            place: HashTable::new(),
        }
    }
}

/// The index's hash of a connection's number.
fn hash(conn: ConnId) -> u64 {
    FxBuildHasher.hash_one(conn)
}

impl<V> ConnTable<V> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where `conn`'s value is, if it has one.
    fn at(&self, conn: ConnId) -> Option<usize> {
        let values = &self.values;
        let at = self
            .place
            .find(hash(conn), |&at| values[at as usize].0 == conn)?;
        Some(*at as usize)
    }

    /// Puts `value` in for `conn`, returning the one it replaces.
    pub fn insert(&mut self, conn: ConnId, value: V) -> Option<V> {
        if let Some(at) = self.at(conn) {
            return Some(std::mem::replace(&mut self.values[at].1, value));
        }
        let at = u32::try_from(self.values.len()).expect("fewer than 2^32 connections");
        let values = &self.values;
        self.place
            .insert_unique(hash(conn), at, |&at| hash(values[at as usize].0));
        self.values.push((conn, value));
        None
    }

    /// `conn`'s value.
    pub fn get(&self, conn: &ConnId) -> Option<&V> {
        let at = self.at(*conn)?;
        Some(&self.values[at].1)
    }

    /// `conn`'s value, to change.
    pub fn get_mut(&mut self, conn: &ConnId) -> Option<&mut V> {
        let at = self.at(*conn)?;
        Some(&mut self.values[at].1)
    }

    /// Whether `conn` has a value.
    pub fn contains_key(&self, conn: &ConnId) -> bool {
        self.at(*conn).is_some()
    }

    /// Takes `conn`'s value out; the last value moves into its place.
    pub fn remove(&mut self, conn: &ConnId) -> Option<V> {
        let conn = *conn;
        let values = &self.values;
        let entry = self
            .place
            .find_entry(hash(conn), |&at| values[at as usize].0 == conn)
            .ok()?;
        let at = entry.remove().0 as usize;
        let (_, value) = self.values.swap_remove(at);
        if let Some(&(moved, _)) = self.values.get(at) {
            // The last value's place was the old length, which the vector now has.
            let was = self.values.len() as u32;
            if let Some(place) = self.place.find_mut(hash(moved), |&p| p == was) {
                *place = at as u32;
            }
        }
        // A table that emptied out after a peak gives its memory back (a small one keeps its room).
        if self.values.capacity() > 1024 && self.values.len() < self.values.capacity() / 4 {
            self.values.shrink_to(self.values.len() * 2);
            let values = &self.values;
            self.place
                .shrink_to(values.len() * 2, |&at| hash(values[at as usize].0));
        }
        Some(value)
    }

    /// The connections, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &ConnId> + '_ {
        self.values.iter().map(|(conn, _)| conn)
    }

    /// The connections and their values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&ConnId, &V)> + '_ {
        self.values.iter().map(|(conn, value)| (conn, value))
    }

    /// Gives back the values' room beyond what they fill and a sixteenth more, when that room is a
    /// quarter of the vector or more and at least 64 KiB (called as the server goes idle after a
    /// burst, before the allocator is asked to give free memory back). Why: the vector grows by
    /// doubling, and each larger copy goes wherever the allocator has room, during a burst often
    /// memory the burst wrote and freed; the room beyond the length is then resident though never
    /// used (about 1.5 MB at 10,000 connections, the core's table and the shell's together). Given
    /// back, it is free memory that the trim returns; the allocator shrinks a block where it is,
    /// without copying it, and the next growth extends it there when the room is still free.
    pub fn shrink(&mut self) {
        let (len, cap) = (self.values.len(), self.values.capacity());
        let spare = cap - len;
        if spare >= cap / 4 && spare * std::mem::size_of::<(ConnId, V)>() >= 64 << 10 {
            self.values.shrink_to(len + len / 16);
        }
    }

    /// How many connections have a value.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no connection has a value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<V> std::ops::Index<&ConnId> for ConnTable<V> {
    type Output = V;

    fn index(&self, conn: &ConnId) -> &V {
        self.get(conn).expect("no such connection")
    }
}

/// As a map from connection to value, as the hash map it replaces was (a cluster node's snapshot).
impl<V: serde::Serialize> serde::Serialize for ConnTable<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for ConnTable<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<ConnId, V>::deserialize(d)?;
        let mut table = ConnTable::new();
        for (conn, value) in map {
            table.insert(conn, value);
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_room_is_given_back_only_when_it_is_worth_it_and_lookups_hold() {
        let mut t = ConnTable::new();
        for n in 0..30_000u64 {
            t.insert(ConnId(n), n);
        }
        let full = t.values.capacity();
        t.shrink();
        assert_eq!(
            t.values.capacity(),
            full,
            "a quarter or more spare, not less"
        );
        for n in 0..25_000u64 {
            t.remove(&ConnId(n));
        }
        t.shrink();
        assert!(
            t.values.capacity() < 5_000 + 5_000 / 8,
            "{}",
            t.values.capacity()
        );
        assert!((25_000..30_000u64).all(|n| t.get(&ConnId(n)) == Some(&n)));
        assert_eq!(t.insert(ConnId(7), 7), None, "and it grows again");
        assert_eq!((t.len(), t.get(&ConnId(7))), (5_001, Some(&7)));
        let mut small = ConnTable::new();
        for n in 0..100u64 {
            small.insert(ConnId(n), n);
        }
        small.remove(&ConnId(0));
        let room = small.values.capacity();
        small.shrink();
        assert_eq!(small.values.capacity(), room, "under 64 KiB spare: kept");
    }

    #[test]
    fn a_removed_place_is_taken_by_the_last_value() {
        let mut t = ConnTable::new();
        for n in 1..=5 {
            assert_eq!(t.insert(ConnId(n), n * 10), None);
        }
        assert_eq!(t.insert(ConnId(3), 33), Some(30));
        assert_eq!(t.remove(&ConnId(2)), Some(20));
        assert_eq!(t.remove(&ConnId(2)), None);
        assert_eq!(t.len(), 4);
        for (n, v) in [(1, 10), (3, 33), (4, 40), (5, 50)] {
            assert_eq!(t.get(&ConnId(n)), Some(&v));
            assert_eq!(t[&ConnId(n)], v);
        }
        *t.get_mut(&ConnId(5)).unwrap() = 55;
        let mut keys: Vec<u64> = t.keys().map(|c| c.0).collect();
        keys.sort();
        assert_eq!(keys, [1, 3, 4, 5]);
        for n in [1, 3, 4, 5] {
            t.remove(&ConnId(n));
        }
        assert!(t.is_empty());
        assert_eq!(t.get(&ConnId(5)), None);
    }

    #[test]
    fn every_value_is_found_through_churn_and_shrinking() {
        // Against a map: inserts, removals from anywhere (the last value moving each time), a
        // peak and an emptying that shrinks both parts.
        let mut t = ConnTable::new();
        let mut model = std::collections::BTreeMap::new();
        let mut x: u64 = 1;
        for round in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let conn = ConnId((x >> 33) % 3000 + if round > 15_000 { 10_000 } else { 0 });
            if x & (1 << 20) == 0 {
                assert_eq!(t.insert(conn, round), model.insert(conn, round));
            } else {
                assert_eq!(t.remove(&conn), model.remove(&conn));
            }
        }
        assert_eq!(t.len(), model.len());
        for (conn, v) in &model {
            assert_eq!(t.get(conn), Some(v));
        }
        for conn in model.keys() {
            t.remove(conn);
        }
        assert!(t.is_empty());
    }

    #[test]
    fn it_round_trips_as_a_map() {
        let mut t = ConnTable::new();
        t.insert(ConnId(9), "nine".to_owned());
        t.insert(ConnId(2), "two".to_owned());
        let json = serde_json::to_string(&t).unwrap();
        let back: ConnTable<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[&ConnId(9)], "nine");
        let as_map: std::collections::HashMap<u64, String> = serde_json::from_str(&json).unwrap();
        assert_eq!(as_map[&2], "two");
    }
}
