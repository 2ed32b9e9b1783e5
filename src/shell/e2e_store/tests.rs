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

/// The records of the journal, as (kind, part's name).
fn records(dir: &Path) -> Vec<(u8, String)> {
    let bytes = std::fs::read(device_dir(dir, "s:1", "bob").join(JOURNAL)).unwrap();
    let mut at = 0;
    let mut out = Vec::new();
    while at < bytes.len() {
        let n = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let (kind, name, _) = split(&bytes[at + 4..at + 4 + n]).unwrap();
        out.push((kind, name.to_owned()));
        at += 4 + n;
    }
    out
}

#[test]
fn a_commit_seals_a_parts_pieces_as_one_batch_and_old_single_records_still_read() {
    let top = tempfile::tempdir().unwrap();
    let (mut s, _) = open_ok(top.path(), "pw");
    // As a journal from before batches: one piece per commit, each its own appended record.
    s.append(&texts("al"), b"one");
    s.commit().unwrap();
    s.append(&texts("al"), b"two");
    s.commit().unwrap();
    // A burst: a whole save, then pieces of two parts in one commit.
    s.save(&texts("cy"), b"[]");
    for piece in ["three", "", "four"] {
        s.append(&texts("al"), piece.as_bytes());
    }
    s.append(&texts("cy"), b"cy's one");
    s.append(&texts("cy"), b"cy's two");
    s.commit().unwrap();
    drop(s);
    let (al, cy) = (texts("al").file_name(), texts("cy").file_name());
    assert_eq!(
        records(top.path()),
        vec![
            (APPENDED, al.clone()),
            (APPENDED, al.clone()),
            (BATCH, al),
            (WHOLE, cy.clone()),
            (BATCH, cy),
        ],
        "one record per part per commit"
    );
    let (_, stored) = open_ok(top.path(), "pw");
    let piece = |p: &str, b: &str| (texts(p), Stored::Appended(b.as_bytes().to_vec()));
    assert_eq!(
        stored,
        vec![
            piece("al", "one"),
            piece("al", "two"),
            piece("al", "three"),
            piece("al", ""),
            piece("al", "four"),
            (texts("cy"), Stored::Whole(b"[]".to_vec())),
            piece("cy", "cy's one"),
            piece("cy", "cy's two"),
        ],
        "each piece comes back as its own record, in order"
    );
}

#[test]
fn a_damaged_batch_is_reported_for_its_part_and_a_torn_one_is_dropped_whole() {
    let top = tempfile::tempdir().unwrap();
    let (mut s, _) = open_ok(top.path(), "pw");
    s.save(&Part::Device, b"device");
    s.append(&texts("al"), b"[1,\"d\",\"one\"]");
    s.append(&texts("al"), b"[2,\"d\",\"two\"]");
    s.commit().unwrap();
    let durable = s.len;
    s.append(&texts("al"), b"[3,\"d\",\"three\"]");
    s.append(&texts("al"), b"[4,\"d\",\"four\"]");
    s.commit().unwrap();
    drop(s);
    let journal = device_dir(top.path(), "s:1", "bob").join(JOURNAL);
    let bytes = std::fs::read(&journal).unwrap();
    // A crash in the middle of the second commit's write: its batch is cut short, and goes whole.
    std::fs::write(&journal, &bytes[..bytes.len() - 5]).unwrap();
    let (_, stored) = open_ok(top.path(), "pw");
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert_eq!(
        std::fs::metadata(&journal).unwrap().len(),
        durable,
        "the torn batch is cut off, nothing of it read"
    );
    // A flipped byte in the first batch: the part is reported damaged, once.
    let mut bytes = std::fs::read(&journal).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    std::fs::write(&journal, &bytes).unwrap();
    let (_, stored) = open_ok(top.path(), "pw");
    assert_eq!(stored[0], (Part::Device, Stored::Whole(b"device".to_vec())));
    assert!(
        matches!(&stored[1..], [(p, Stored::Damaged(why))] if *p == texts("al") && why.contains("authenticate")),
        "{stored:?}"
    );
}
