//! Fitting text to a terminal's width, by grapheme clusters: an emoji with its skin tone, a ZWJ
//! family or a flag is one thing, never cut in two (which would drop the modifier or break the
//! family into its people), and it is as wide as ratatui draws it (the width of the whole cluster,
//! `unicode-width`'s rule for a string), so what the client lays out and what the screen shows agree.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Columns `text` takes on the screen: the sum of its clusters' widths, as ratatui counts them.
pub fn columns(text: &str) -> usize {
    text.graphemes(true).map(UnicodeWidthStr::width).sum()
}

/// Splits `text` into pieces at most `width` columns wide, at spaces where it can, inside a word
/// (between two clusters) where a word is wider than the line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut current = String::new();
    let mut current_cols = 0;
    for word in text.split(' ') {
        let sep = usize::from(!current.is_empty());
        let word_cols = columns(word);
        if current_cols + sep + word_cols <= width {
            if sep == 1 {
                current.push(' ');
            }
            current.push_str(word);
            current_cols += sep + word_cols;
            continue;
        }
        if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        // A word wider than the line: cut it between clusters.
        current_cols = 0;
        for cluster in word.graphemes(true) {
            let w = cluster.width();
            if current_cols + w > width && !current.is_empty() {
                out.push(std::mem::take(&mut current));
                current_cols = 0;
            }
            current.push_str(cluster);
            current_cols += w;
        }
    }
    out.push(current);
    out
}

/// `text` wrapped to `width` columns with every piece after the first indented by `indent` columns
/// (a help row's summary continues under its start, not under the command), joined by newlines: for
/// line mode, where the terminal would otherwise cut the line wherever the width ends, mid-word.
pub fn hanging(text: &str, width: usize, indent: usize) -> String {
    if columns(text) <= width {
        return text.to_owned();
    }
    let indent = if indent * 2 > width { 2 } else { indent };
    let pad = " ".repeat(indent);
    let body = text.trim_start_matches(' ');
    let mut lines = Vec::new();
    let mut current = text[..text.len() - body.len()].to_owned();
    let mut current_cols = current.len();
    // Only the indent so far: the next word starts the line, whatever its width.
    let mut fresh = true;
    for word in body.split(' ') {
        let cols = columns(word);
        if fresh {
            if word.is_empty() {
                continue;
            }
        } else if current_cols + 1 + cols <= width {
            current.push(' ');
            current_cols += 1;
        } else {
            lines.push(std::mem::take(&mut current));
            current = pad.clone();
            current_cols = indent;
            if word.is_empty() {
                fresh = true;
                continue;
            }
        }
        current.push_str(word);
        current_cols += cols;
        fresh = false;
    }
    lines.push(current);
    lines.join("\n")
}

/// Where each cluster of `text` starts, as char indices, and the end (the number of chars): the
/// places an editing cursor may stand.
pub fn cluster_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    for cluster in text.graphemes(true) {
        starts.push(at);
        at += cluster.chars().count();
    }
    starts.push(at);
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("日本語テキスト", 6), vec!["日本語", "テキス", "ト"]);
    }

    #[test]
    fn emoji_sequences_are_one_cluster_as_wide_as_ratatui_draws_it() {
        let thumbs = "👍🏽";
        let family = "👨\u{200d}👩\u{200d}👧";
        let flag = "🏳\u{fe0f}\u{200d}🌈";
        for e in [thumbs, family, flag] {
            assert_eq!(columns(e), 2, "{e:?}");
        }
        // Cut between clusters, never inside one: the skin tone stays with its hand.
        let word = format!("{thumbs}{family}{flag}ab");
        assert_eq!(wrap(&word, 2), vec![thumbs, family, flag, "ab"]);
        assert_eq!(
            wrap(&format!("x {family} y"), 4),
            vec![format!("x {family}"), "y".into()]
        );
        assert_eq!(cluster_starts(&format!("a{thumbs}b")), vec![0, 1, 3, 4]);
    }

    #[test]
    fn hanging_rows_break_at_words_and_continue_under_the_indent() {
        let row = format!(
            "  {:<10}  {}",
            "help", "show this list of every command there is"
        );
        let text = hanging(&row, 30, 14);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "  help        show this list",
                "              of every command",
                "              there is",
            ]
        );
        assert!(lines.iter().all(|l| columns(l) <= 30));
        assert_eq!(hanging("short", 30, 14), "short");
    }
}
