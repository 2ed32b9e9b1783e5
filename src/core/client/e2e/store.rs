//! What of the end-to-end state is persisted, as which part: the core says "save this part with these
//! bytes" or "append this record to this part" (effects), and "make what was saved durable" (a
//! commit, answered when it is: the lines that depend on the saves wait for it, see
//! `client::commit`); the shell keeps the parts under the (server, user) the device belongs to,
//! encrypted, and decides how (docs/DESIGN.md). Ratchet state and the store of texts already
//! decrypted are separate parts: a message costs its conversation's sessions (a few KB) and one
//! appended record of text, never a rewrite of the texts.
//!
//! Part names carry user and group names hex-encoded: names may be `.` or `..`, and differ only in
//! letter case, which some file systems do not tell apart.

use crate::protocol::Name;

/// One persisted part of the end-to-end state.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// The Olm account.
    Device,
    /// The pinned identities, verified marks, changed keys.
    Contacts,
    /// The Olm sessions with one contact.
    Peer(Name),
    /// The Megolm sessions of one group, and its members as last shown.
    Group(Name),
    /// What waits to be sent (see `outbox`).
    Outbox,
    /// The messages already decrypted from one contact (appended to, one record per message).
    PeerTexts(Name),
    /// The messages already decrypted in one group (appended to, likewise).
    GroupTexts(Name),
    /// The texts of the messages sent to one contact, by ciphertext digest (appended to, one record
    /// per message), to send one again if the contact says it was for a device they no longer have.
    PeerSent(Name),
}

/// One stored piece of a part, as the shell gives it back: the part's whole content, or a record
/// appended to it since (a part's pieces come in the order they were written, the whole first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The whole content, as last saved.
    Whole(Vec<u8>),
    /// A record appended since.
    Appended(Vec<u8>),
    /// A piece of the part that could not be read back (damaged, or not what was written): why.
    Damaged(String),
}

fn hex(name: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * name.len());
    for b in name.bytes() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

fn unhex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

impl Part {
    /// The file's name in the (server, user) directory.
    pub fn file_name(&self) -> String {
        match self {
            Part::Device => "device.json".into(),
            Part::Contacts => "contacts.json".into(),
            Part::Outbox => "outbox.json".into(),
            Part::Peer(user) => format!("peer-{}.json", hex(user)),
            Part::Group(group) => format!("group-{}.json", hex(group)),
            Part::PeerTexts(user) => format!("texts-peer-{}.json", hex(user)),
            Part::GroupTexts(group) => format!("texts-group-{}.json", hex(group)),
            Part::PeerSent(user) => format!("sent-peer-{}.json", hex(user)),
        }
    }

    /// The part a file holds; `None` for a file that is not one (a temporary file, a stranger's).
    pub fn from_file_name(name: &str) -> Option<Part> {
        match name {
            "device.json" => return Some(Part::Device),
            "contacts.json" => return Some(Part::Contacts),
            "outbox.json" => return Some(Part::Outbox),
            _ => {}
        }
        let stem = name.strip_suffix(".json")?;
        if let Some(h) = stem.strip_prefix("texts-peer-") {
            let user = unhex(h)?;
            crate::protocol::name::check_username(&user).ok()?;
            return Some(Part::PeerTexts(Name::from(user)));
        }
        if let Some(h) = stem.strip_prefix("texts-group-") {
            let group = unhex(h)?;
            crate::protocol::name::check_group_name(&group).ok()?;
            return Some(Part::GroupTexts(Name::from(group)));
        }
        if let Some(h) = stem.strip_prefix("sent-peer-") {
            let user = unhex(h)?;
            crate::protocol::name::check_username(&user).ok()?;
            return Some(Part::PeerSent(Name::from(user)));
        }
        if let Some(h) = stem.strip_prefix("peer-") {
            let user = unhex(h)?;
            crate::protocol::name::check_username(&user).ok()?;
            return Some(Part::Peer(Name::from(user)));
        }
        if let Some(h) = stem.strip_prefix("group-") {
            let group = unhex(h)?;
            crate::protocol::name::check_group_name(&group).ok()?;
            return Some(Part::Group(Name::from(group)));
        }
        None
    }
}

/// What a sessions part (of a contact or a group) written by a natter from before the texts had
/// parts of their own held of them: read once, when such a part is opened, and moved to those parts.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Legacy {
    #[serde(default)]
    pub seen: Option<LegacySeen>,
    #[serde(default)]
    pub sent: Vec<(String, String)>,
}

/// The texts decrypted, as they were kept inside a sessions part: (server id, digest, text).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct LegacySeen {
    #[serde(default)]
    pub seen: Vec<(u64, String, String)>,
}

/// The directory name of one (server, user) pair under the state directory's `e2e/`.
pub fn device_dir_name(server: &str, user: &str) -> String {
    format!("{}-{}", hex(server), hex(user))
}

/// The user a directory named by [`device_dir_name`] belongs to, if it is `server`'s.
pub fn device_dir_user(name: &str, server: &str) -> Option<Name> {
    let user = unhex(name.strip_prefix(&format!("{}-", hex(server)))?)?;
    crate::protocol::name::check_username(&user).ok()?;
    Some(Name::from(user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_names_a_file_that_names_it_back() {
        for part in [
            Part::Device,
            Part::Contacts,
            Part::Outbox,
            Part::Peer(Name::from("..")),
            Part::Peer(Name::from("Bob")),
            Part::Group(Name::from("devs.team")),
            Part::PeerTexts(Name::from("Bob")),
            Part::GroupTexts(Name::from("devs.team")),
            Part::PeerSent(Name::from("Bob")),
        ] {
            let name = part.file_name();
            assert!(!name.contains('/') && name != "." && name != "..", "{name}");
            assert_eq!(Part::from_file_name(&name), Some(part));
        }
        assert_ne!(
            Part::Peer(Name::from("bob")).file_name().to_lowercase(),
            Part::Peer(Name::from("Bob")).file_name().to_lowercase()
        );
        let dir = device_dir_name("127.0.0.1:4000", "bob");
        assert_eq!(
            device_dir_user(&dir, "127.0.0.1:4000"),
            Some(Name::from("bob"))
        );
        assert_eq!(device_dir_user(&dir, "127.0.0.1:4001"), None);
        for junk in ["device.json.tmp.12", "peer-zz.json", "peer-2f.json", "x"] {
            assert_eq!(Part::from_file_name(junk), None, "{junk}");
        }
    }
}
