use super::*;
use natter_core::protocol::Name;

fn peer(n: &str) -> Part {
    Part::Peer(Name::from(n))
}

fn texts(n: &str) -> Part {
    Part::PeerTexts(Name::from(n))
}

fn open_ok(dir: &Path, password: &str) -> (DeviceStore, Vec<(Part, Stored)>) {
    open(dir, "s:1", "bob", password, &OpenHow::Unlock).unwrap()
}

/// Every byte under `dir`, for "is it readable?" checks.
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(all_bytes(&e.path()));
        } else {
            out.extend(std::fs::read(e.path()).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn parts_come_back_in_order_with_the_password_and_nothing_is_readable_without_it() {
    let top = tempfile::tempdir().unwrap();
    let (mut s, stored) = open_ok(top.path(), "builder");
    assert!(stored.is_empty());
    s.save(&Part::Device, b"{\"account\":\"secret pickle\"}");
    s.save(&peer("al"), b"sessions one");
    s.append(&texts("al"), b"[1,\"d\",\"the eagle lands\"]");
    s.save(&peer("al"), b"sessions two");
    s.append(&texts("al"), b"[2,\"d\",\"at midnight\"]");
    s.commit().unwrap();
    drop(s);
    let (_, stored) = open_ok(top.path(), "builder");
    // A part saved twice before the commit is written once, as last saved.
    let expected = vec![
        (Part::Device, br#"{"account":"secret pickle"}"#.to_vec()),
        (peer("al"), b"sessions two".to_vec()),
        (texts("al"), br#"[1,"d","the eagle lands"]"#.to_vec()),
        (texts("al"), br#"[2,"d","at midnight"]"#.to_vec()),
    ];
    let got: Vec<(Part, Vec<u8>)> = stored
        .into_iter()
        .map(|(p, s)| match s {
            Stored::Whole(b) | Stored::Appended(b) => (p, b),
            Stored::Damaged(why) => panic!("{why}"),
        })
        .collect();
    assert_eq!(got, expected);
    let bytes = all_bytes(top.path());
    for plain in [
        "secret pickle",
        "account",
        "sessions",
        "eagle",
        "midnight",
        "builder",
    ] {
        assert!(!contains(&bytes, plain), "{plain} is readable on disk");
    }
    let err = open(top.path(), "s:1", "bob", "wrong", &OpenHow::Unlock)
        .err()
        .unwrap();
    assert!(err.contains("password does not open"), "{err}");
    // Another user's (or server's) state is another directory, another key.
    let (_, other) = open(top.path(), "s:1", "al", "builder", &OpenHow::Unlock).unwrap();
    assert!(other.is_empty());
}

#[test]
fn a_changed_password_rewraps_the_key_and_new_keys_set_the_old_state_aside() {
    let top = tempfile::tempdir().unwrap();
    let (mut s, _) = open_ok(top.path(), "old");
    s.save(&Part::Device, b"kept");
    s.commit().unwrap();
    drop(s);
    assert!(open(top.path(), "s:1", "bob", "new", &OpenHow::Unlock).is_err());
    let how = OpenHow::Rewrap {
        previous: "old".into(),
    };
    let (_, stored) = open(top.path(), "s:1", "bob", "new", &how).unwrap();
    assert_eq!(
        stored,
        vec![(Part::Device, Stored::Whole(b"kept".to_vec()))]
    );
    let (_, stored) = open_ok(top.path(), "new");
    assert_eq!(stored.len(), 1, "the new password opens it from now on");
    let (_, stored) = open(top.path(), "s:1", "bob", "new", &OpenHow::Fresh).unwrap();
    assert!(stored.is_empty());
    let set_aside = std::fs::read_dir(top.path().join("e2e"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("set-aside"))
        .count();
    assert_eq!(set_aside, 1, "the old state is kept aside, not deleted");
}

#[test]
fn passwd_rewraps_the_key_in_place_and_the_state_is_untouched() {
    let top = tempfile::tempdir().unwrap();
    let (mut s, _) = open_ok(top.path(), "old password");
    s.save(&Part::Device, b"kept");
    s.commit().unwrap();
    let journal = device_dir(top.path(), "s:1", "bob").join(JOURNAL);
    let before = std::fs::read(&journal).unwrap();
    // The store stays open meanwhile (the running client's), with the same data key.
    let err = rewrap(top.path(), "s:1", "bob", "not it", "new password").unwrap_err();
    assert!(err.contains("password does not open"), "{err}");
    rewrap(top.path(), "s:1", "bob", "old password", "new password").unwrap();
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        before,
        "only key.json is written"
    );
    s.save(&peer("al"), b"after");
    s.commit().unwrap();
    drop(s);
    assert!(open(top.path(), "s:1", "bob", "old password", &OpenHow::Unlock).is_err());
    let (_, stored) = open_ok(top.path(), "new password");
    assert_eq!(stored.len(), 2, "{stored:?}");
    // Nothing stored for a user: nothing to do.
    rewrap(top.path(), "s:1", "nobody", "a", "b").unwrap();
    assert!(!device_dir(top.path(), "s:1", "nobody").exists());
}

#[test]
fn a_damaged_record_is_reported_for_its_part_and_a_torn_last_one_is_dropped() {
    let top = tempfile::tempdir().unwrap();
    let (mut s, _) = open_ok(top.path(), "pw");
    s.save(&Part::Device, b"device");
    s.save(&peer("al"), b"al's sessions");
    s.save(&peer("cy"), b"cy's sessions");
    s.commit().unwrap();
    drop(s);
    let journal = device_dir(top.path(), "s:1", "bob").join(JOURNAL);
    let mut bytes = std::fs::read(&journal).unwrap();
    // Flip a byte near the end of al's record (its ciphertext), and cut the last one short.
    let at = bytes.len() * 2 / 3 - 20;
    bytes[at] ^= 1;
    bytes.extend([0, 0, 0, 99, 1, 2]);
    std::fs::write(&journal, &bytes).unwrap();
    let (mut s, stored) = open_ok(top.path(), "pw");
    assert_eq!(stored[0], (Part::Device, Stored::Whole(b"device".to_vec())));
    assert!(
        matches!(&stored[1], (p, Stored::Damaged(why)) if *p == peer("al") && why.contains("authenticate")),
        "{stored:?}"
    );
    assert_eq!(
        stored[2],
        (peer("cy"), Stored::Whole(b"cy's sessions".to_vec()))
    );
    assert_eq!(
        std::fs::metadata(&journal).unwrap().len() as usize,
        bytes.len() - 6,
        "the torn record is cut off"
    );
    // Saving al's part again supersedes the damaged record.
    s.save(&peer("al"), b"new");
    s.commit().unwrap();
    drop(s);
    let (_, stored) = open_ok(top.path(), "pw");
    assert!(stored.contains(&(peer("al"), Stored::Whole(b"new".to_vec()))));
}

#[test]
fn compaction_keeps_what_is_live_and_a_plain_old_state_is_imported() {
    let top = tempfile::tempdir().unwrap();
    let dir = device_dir(top.path(), "s:1", "bob");
    private_fs::create_private_dir(&dir).unwrap();
    std::fs::write(dir.join("device.json"), b"{\"old\":1}").unwrap();
    std::fs::write(dir.join(peer("al").file_name()), b"old sessions").unwrap();
    let (mut s, stored) = open_ok(top.path(), "pw");
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(!dir.join("device.json").exists(), "the plain file is gone");
    for n in 0..50 {
        s.save(&peer("al"), format!("sessions {n}").as_bytes());
        s.append(&texts("al"), format!("text {n}").as_bytes());
        s.commit().unwrap();
    }
    let before = s.len;
    s.compact().unwrap();
    assert!(s.len < before);
    drop(s);
    let (_, stored) = open_ok(top.path(), "pw");
    assert!(stored.contains(&(peer("al"), Stored::Whole(b"sessions 49".to_vec()))));
    assert_eq!(
        stored.iter().filter(|(p, _)| *p == texts("al")).count(),
        50,
        "every appended record is live"
    );
    assert!(stored.contains(&(Part::Device, Stored::Whole(b"{\"old\":1}".to_vec()))));
}
