//! The input history both interfaces keep across runs: one plain line per entry, the last
//! [`HISTORY_KEPT`], in a file readable by its owner only (it holds what was typed).

use std::io::Write;
use std::path::Path;

/// Lines of history kept across runs.
pub const HISTORY_KEPT: usize = 1000;

/// The history in `path`; a missing or unreadable file is an empty history, no reason not to chat.
pub fn load(path: Option<&Path>) -> Vec<String> {
    path.and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| {
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Writes the last [`HISTORY_KEPT`] of `lines` to `path`, creating its directory.
pub fn save(path: Option<&Path>, lines: &[String]) {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(path) = path else {
        return;
    };
    if let Some(dir) = path.parent() {
        let _ = crate::private_fs::create_private_dir(dir);
    }
    let skip = lines.len().saturating_sub(HISTORY_KEPT);
    let text: String = lines[skip..].iter().map(|l| format!("{l}\n")).collect();
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        tracing::debug!("could not keep the history in {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_for_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("history");
        let lines: Vec<String> = (0..HISTORY_KEPT + 5).map(|i| format!("line {i}")).collect();
        save(Some(&path), &lines);
        let back = load(Some(&path));
        assert_eq!(back.len(), HISTORY_KEPT);
        assert_eq!(back[0], "line 5");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(load(Some(&dir.path().join("missing"))).is_empty());
    }
}
