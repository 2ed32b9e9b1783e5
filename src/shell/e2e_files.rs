//! The end-to-end state's files: read at start, written when the core says ([`Effect::SaveE2e`]).
//!
//! Under the state directory, `e2e/<server>-<user>/` (both hex-encoded) holds one file per part of one
//! device ([`Part`]). Each is written owner-only to a temporary file, synced, and renamed over the old
//! one, and the directory is synced, so a crash leaves the old part or the new one, never half; the core
//! asks for the write before sending the line that depends on it, and the driver carries effects out in
//! order.
//!
//! [`Effect::SaveE2e`]: natter_core::client::Effect::SaveE2e

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::private_fs;
use natter_core::client::e2e::Part;
use natter_core::client::e2e::store::{device_dir_name, device_dir_user};
use natter_core::protocol::Name;

/// Every stored part of every device of `server`, by user.
pub type Devices = BTreeMap<Name, Vec<(Part, Vec<u8>)>>;

fn root(state_dir: &Path) -> PathBuf {
    state_dir.join("e2e")
}

/// Reads every device of `server` under `state_dir`; problems come back as warnings (a part that
/// cannot be read is left out, and the core refuses a device with a damaged part rather than guess).
pub fn load(state_dir: &Path, server: &str) -> (Devices, Vec<String>) {
    let mut devices = Devices::new();
    let mut warnings = Vec::new();
    let root = root(state_dir);
    let entries = match std::fs::read_dir(&root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (devices, warnings),
        Err(e) => {
            warnings.push(format!("cannot read {}: {e}", root.display()));
            return (devices, warnings);
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(user) = name.to_str().and_then(|n| device_dir_user(n, server)) else {
            continue;
        };
        let dir = entry.path();
        let _ = private_fs::restrict(&dir, private_fs::DIR_MODE);
        let Ok(files) = std::fs::read_dir(&dir) else {
            warnings.push(format!("cannot read {}", dir.display()));
            continue;
        };
        let mut parts = Vec::new();
        for file in files.flatten() {
            let Some(part) = file.file_name().to_str().and_then(Part::from_file_name) else {
                continue;
            };
            match std::fs::read(file.path()) {
                Ok(bytes) => parts.push((part, bytes)),
                Err(e) => warnings.push(format!("cannot read {}: {e}", file.path().display())),
            }
        }
        parts.sort_by(|a, b| a.0.cmp(&b.0));
        devices.insert(user, parts);
    }
    (devices, warnings)
}

/// Writes one part of (`server`, `user`)'s device, atomically and owner-only.
pub fn save(
    state_dir: &Path,
    server: &str,
    user: &str,
    part: &Part,
    bytes: &[u8],
) -> std::io::Result<()> {
    let dir = root(state_dir).join(device_dir_name(server, user));
    private_fs::create_private_dir(&dir)?;
    let path = dir.join(part.file_name());
    let tmp = dir.join(format!("{}.tmp.{}", part.file_name(), std::process::id()));
    let result = (|| {
        let mut f = private_fs::private_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn parts_are_written_owner_only_and_read_back_per_server_and_user() {
        let top = tempfile::tempdir().unwrap();
        let state = top.path().join("state");
        save(&state, "s1:4000", "bob", &Part::Device, b"one").unwrap();
        save(&state, "s1:4000", "bob", &Part::Device, b"two").unwrap();
        save(
            &state,
            "s1:4000",
            "bob",
            &Part::Peer(Name::from("al")),
            b"p",
        )
        .unwrap();
        save(&state, "s2:4000", "bob", &Part::Device, b"other server").unwrap();
        let (devices, warnings) = load(&state, "s1:4000");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            devices[&Name::from("bob")],
            vec![
                (Part::Device, b"two".to_vec()),
                (Part::Peer(Name::from("al")), b"p".to_vec())
            ]
        );
        assert_eq!(devices.len(), 1);
        let dir = state.join("e2e").join(device_dir_name("s1:4000", "bob"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("device.json")), 0o600);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            2,
            "no temporary file left"
        );
        assert!(load(&top.path().join("none"), "s1:4000").0.is_empty());
    }
}
