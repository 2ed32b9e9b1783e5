//! irssi's split: a message longer than one line can carry is sent as several, cut at word
//! boundaries, in order, rather than refused.

/// `text` cut into pieces of at most `max` bytes: each cut at the last space that leaves the piece
/// within `max` (that one space dropped), or, in a word longer than `max`, at the last character
/// boundary that does. A text that fits is one piece, as it is; `max` of 0 gives the text whole
/// (there is no room to split into, and the refusal says so).
pub fn split_text(text: &str, max: usize) -> Vec<&str> {
    if text.len() <= max || max == 0 {
        return vec![text];
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        // The last character boundary at or before `max`.
        let mut end = max;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            // A character longer than `max`: nothing fits.
            return vec![text];
        }
        // A space is one byte, so a byte search cannot land inside a character.
        let reach = &rest.as_bytes()[..=end.min(rest.len() - 1)];
        let (piece, next) = match reach.iter().rposition(|b| *b == b' ') {
            // A space within reach (the one just past `max` included): cut there, dropping it.
            Some(space) if space > 0 && space <= end => (&rest[..space], &rest[space + 1..]),
            _ => (&rest[..end], &rest[end..]),
        };
        pieces.push(piece);
        rest = next;
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_that_fits_is_one_piece() {
        assert_eq!(split_text("hello there", 11), ["hello there"]);
        assert_eq!(split_text("", 5), [""]);
    }

    #[test]
    fn long_texts_are_cut_at_word_boundaries() {
        assert_eq!(split_text("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
        assert_eq!(split_text("aaa bbb ccc", 8), ["aaa bbb", "ccc"]);
        assert_eq!(split_text("aaa bbb ccc", 4), ["aaa", "bbb", "ccc"]);
        assert_eq!(split_text("aaaaaaaaaa", 4), ["aaaa", "aaaa", "aa"]);
        // Multi-byte characters are never cut.
        assert_eq!(split_text("ééééé", 3), ["é", "é", "é", "é", "é"]);
    }

    #[test]
    fn every_piece_fits_and_nothing_but_the_cut_spaces_is_lost() {
        let text = "The quick brown fox jumps over the lazy dog, again and again, ".repeat(400);
        for max in [10, 37, 100, 5813] {
            let pieces = split_text(&text, max);
            assert!(
                pieces.iter().all(|p| p.len() <= max && !p.is_empty()),
                "{max}"
            );
            let rejoined: String = pieces.join(" ");
            assert_eq!(rejoined.replace(' ', ""), text.replace(' ', ""), "{max}");
        }
    }
}
