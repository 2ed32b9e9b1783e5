//! Names that look alike: `aIice` (a capital i) and `a1ice` read as `alice`, `ALICE` is `alice` in
//! capitals, `rnary` reads as `mary`. A new account may not be called something that looks like an
//! existing account's name, or one user could pass for another in every line the server shows.
//!
//! Two names look alike when they share a *look key*. The keys are Unicode's confusable skeleton
//! (Technical Standard #39, through the `unicode-security` crate: each character replaced by the
//! prototype of its class of confusables, so `rn` and `m`, `I` and `l` meet), with the
//! ASCII folds that fonts make of `I`, `l`, `1` and of `O`, `0` applied on top (whatever the tables'
//! version says), and letter case ignored, as names differing only in case always were. Case and the
//! skeleton do not commute (`I` lower-cased is `i`, which looks like no `l`; skeleton first, `ALICE`
//! becomes `ALlCE`), so a name has two keys, one from each order, and two names look alike when any
//! key of one is a key of the other.

use unicode_security::skeleton;

/// The keys of `name` (see the module documentation); the second is `None` when it equals the first.
pub(crate) fn look_keys(name: &str) -> [Option<Box<str>>; 2] {
    let as_typed = folded(skeleton(name));
    let lower = folded(skeleton(&name.to_lowercase()));
    let second = (lower != as_typed).then(|| lower.into_boxed_str());
    [Some(as_typed.into_boxed_str()), second]
}

/// The ASCII folds, then lower case.
fn folded(chars: impl Iterator<Item = char>) -> String {
    chars
        .map(|c| match c {
            'I' | '1' | '|' => 'l',
            '0' => 'o',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether two names look alike.
#[cfg(test)]
fn look_alike(a: &str, b: &str) -> bool {
    let (ka, kb) = (look_keys(a), look_keys(b));
    ka.iter()
        .flatten()
        .any(|k| kb.iter().flatten().any(|other| other == k))
}

/// The pairs of `names` that look alike, each as (the earlier, the later), in the order given: what
/// an operator is warned of when the credentials file already holds such twins.
pub fn look_alike_pairs<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, &'a str)> {
    let mut first: rustc_hash::FxHashMap<Box<str>, &'a str> = Default::default();
    let mut pairs = Vec::new();
    for name in names {
        let keys = look_keys(name);
        let earlier = keys.iter().flatten().find_map(|k| first.get(k).copied());
        if let Some(earlier) = earlier
            && earlier != name
        {
            pairs.push((earlier, name));
        }
        for k in keys.into_iter().flatten() {
            first.entry(k).or_insert(name);
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_of_the_report_look_like_alice() {
        for twin in [
            "aIice", "a1ice", "ALICE", "Alice", "AIice", "A1ICE", "alIce",
        ] {
            assert!(look_alike(twin, "alice"), "{twin}");
            assert!(look_alike("alice", twin), "{twin} (the other way)");
        }
        assert!(look_alike("b0b", "bob"));
        assert!(look_alike("B0B", "bob"));
    }

    #[test]
    fn the_skeleton_of_tr39_is_used() {
        // A sequence that renders like one letter in common fonts.
        assert!(look_alike("rnary", "mary"));
        assert!(look_alike("rnodern", "modern"));
    }

    #[test]
    fn different_names_stay_different() {
        for (a, b) in [
            ("alice", "alicia"),
            ("bill", "biii"),
            ("bob", "bib"),
            ("carol", "carl"),
            ("user1", "user2"),
            ("user_1", "user-1"),
        ] {
            assert!(!look_alike(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn pairs_in_a_list_are_named_once_each() {
        let names = ["alice", "bob", "aIice", "b0b", "carol", "a1ice"];
        assert_eq!(
            look_alike_pairs(names),
            vec![("alice", "aIice"), ("bob", "b0b"), ("alice", "a1ice")]
        );
        assert!(look_alike_pairs(["alice", "bob", "carol"]).is_empty());
    }
}
