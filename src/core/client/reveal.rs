//! Text that could deceive a reader, made visible.
//!
//! Invisible characters can make a message say something other than what it looks like: a
//! right-to-left override (U+202E) shows `exe.txt` for `txt.exe`, zero-width characters hide inside a
//! link or make two identical-looking words differ, and a line separator (U+2028, U+2029) breaks a
//! line where a terminal or a font honours it, so a sender could fake a second line that looks like
//! the client's own notice. The server passes such characters on (they have
//! legitimate uses, and refusing them would lose text); the client shows them as a visible marker
//! `⟨U+202E⟩` so the reader sees exactly what was sent.
//!
//! The joiners (U+200C, U+200D) are kept where they do their real job, between two letters or symbols
//! of a script or an emoji sequence (family emoji, Persian, Indic scripts), and revealed elsewhere
//! (next to ASCII, a space, or the edge of the text).

use std::borrow::Cow;

use crate::protocol::ServerMsg;

/// Characters that reorder text or take no room: always revealed.
fn always_revealed(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                      // soft hyphen
        | '\u{061C}'                    // Arabic letter mark
        | '\u{115F}' | '\u{1160}'       // Hangul fillers
        | '\u{180E}'                    // Mongolian vowel separator
        | '\u{200B}'                    // zero-width space
        | '\u{200E}' | '\u{200F}'       // left-to-right and right-to-left marks
        | '\u{2028}' | '\u{2029}'       // line and paragraph separators: one line shown as two
        | '\u{202A}'..='\u{202E}'       // embeddings and overrides
        | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}'       // isolates
        | '\u{3164}'                    // Hangul filler
        | '\u{FEFF}'                    // zero-width no-break space
        | '\u{FFA0}'                    // halfwidth Hangul filler
        | '\u{E0000}'..='\u{E007F}'     // tags
    )
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Whether a joiner between `before` and `after` is doing a joiner's job.
fn joins(before: Option<char>, after: Option<char>) -> bool {
    let real = |c: Option<char>| c.is_some_and(|c| !c.is_ascii() && !c.is_whitespace());
    real(before) && real(after)
}

/// `text` with every deceptive character shown as `⟨U+XXXX⟩`; borrowed when there is none.
pub fn reveal(text: &str) -> Cow<'_, str> {
    // Every character it reveals is outside ASCII: most texts (and every ciphertext, which is
    // looked at as it arrives, before it is decrypted) are told apart without collecting them.
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let hidden = |i: usize| {
        let c = chars[i];
        always_revealed(c)
            || (is_joiner(c)
                && !joins(
                    i.checked_sub(1).map(|j| chars[j]),
                    chars.get(i + 1).copied(),
                ))
    };
    if !(0..chars.len()).any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        if hidden(i) {
            out.push_str(&format!("⟨U+{:04X}⟩", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The same line, with what its senders wrote passed through [`reveal`].
pub fn reveal_msg(msg: ServerMsg) -> ServerMsg {
    let fix = |text: String| match reveal(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(shown) => shown,
    };
    match msg {
        ServerMsg::Message {
            id,
            sent_at,
            from,
            text,
        } => ServerMsg::Message {
            id,
            sent_at,
            from,
            text: fix(text),
        },
        ServerMsg::Broadcast { from, text } => ServerMsg::Broadcast {
            from,
            text: fix(text),
        },
        ServerMsg::GroupMessage {
            id,
            sent_at,
            group,
            from,
            text,
        } => ServerMsg::GroupMessage {
            id,
            sent_at,
            group,
            from,
            text: fix(text),
        },
        ServerMsg::OfflineMessage {
            id,
            sent_at,
            from,
            group,
            text,
        } => ServerMsg::OfflineMessage {
            id,
            sent_at,
            from,
            group,
            text: fix(text),
        },
        ServerMsg::OfflineAgain {
            id,
            sent_at,
            from,
            group,
            text,
        } => ServerMsg::OfflineAgain {
            id,
            sent_at,
            from,
            group,
            text: fix(text),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_invisible_characters_are_shown() {
        assert_eq!(reveal("open my\u{202E}txt.exe"), "open my⟨U+202E⟩txt.exe");
        assert_eq!(reveal("pay\u{200B}pal.com"), "pay⟨U+200B⟩pal.com");
        assert_eq!(reveal("\u{FEFF}hi"), "⟨U+FEFF⟩hi");
        assert_eq!(reveal("a\u{2067}b\u{2069}"), "a⟨U+2067⟩b⟨U+2069⟩");
        assert_eq!(reveal("tag\u{E0041}"), "tag⟨U+E0041⟩");
    }

    /// A line or paragraph separator inside a message could make one line read as two, the second
    /// passing for a notice of the client's own.
    #[test]
    fn line_and_paragraph_separators_are_shown() {
        assert_eq!(
            reveal("ok\u{2028}* carol logged out"),
            "ok⟨U+2028⟩* carol logged out"
        );
        assert_eq!(reveal("a\u{2029}b"), "a⟨U+2029⟩b");
    }

    #[test]
    fn ordinary_text_is_left_alone_and_not_copied() {
        for text in ["hello", "zoë ünïcode 🎉", "مرحبا", "日本語", ""] {
            assert!(
                matches!(reveal(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn joiners_stay_where_they_join_and_show_elsewhere() {
        let family = "👨\u{200D}👩\u{200D}👧";
        assert!(matches!(reveal(family), Cow::Borrowed(_)));
        let persian = "می\u{200C}خواهم";
        assert!(matches!(reveal(persian), Cow::Borrowed(_)));
        assert_eq!(reveal("ad\u{200D}min"), "ad⟨U+200D⟩min");
        assert_eq!(reveal("\u{200C}x"), "⟨U+200C⟩x");
        assert_eq!(reveal("🎉\u{200D}"), "🎉⟨U+200D⟩");
    }

    #[test]
    fn every_kind_of_message_text_is_revealed() {
        let m = reveal_msg(ServerMsg::Message {
            id: 1,
            sent_at: crate::time::Timestamp(0),
            from: "mallory".into(),
            text: "click\u{202E}gnp.exe".into(),
        });
        assert!(matches!(m, ServerMsg::Message { text, .. } if text.contains("⟨U+202E⟩")));
        let g = reveal_msg(ServerMsg::GroupMessage {
            id: 1,
            sent_at: crate::time::Timestamp(0),
            group: "team".into(),
            from: "mallory".into(),
            text: "x\u{200B}".into(),
        });
        assert!(matches!(g, ServerMsg::GroupMessage { text, .. } if text == "x⟨U+200B⟩"));
    }
}
