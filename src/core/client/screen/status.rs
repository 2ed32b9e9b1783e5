//! The status bar, fitted to the terminal's width.
//!
//! In full: `[HH:MM] [me @ server] [1:status 2:bob* 3:#crew+] [idle logout in 42 s]`, the window shown
//! highlighted, `*` on a window with a message to the user alone, `+` on one with other news. When it
//! does not fit, it gives up what matters least first: window names are shortened, then the server,
//! then the windows become their numbers (with their markers), then the user's name, then the clock.
//! The idle countdown and the connection's state (`[reconnecting for 4m 10s, next try in 37 s]`,
//! `[logged out: type to log in again]`, `[disconnected: /reconnect]`) are never given up: they say
//! what is about to happen;
//! nor is the protection of the conversation in view (`[e2e]`, `[e2e ✓]`, `[NOT ENCRYPTED]`,
//! `[KEY CHANGED]`), which says whether the server can read what is typed there. Who is typing in
//! the conversation in view (`[bob is typing]`) follows the windows.

use unicode_width::UnicodeWidthStr;

use super::{Link, View};
use crate::time::Timestamp;

/// The idle countdown appears this close to the logout (the server warns a minute ahead).
pub const IDLE_SHOWN_SECS: u64 = 120;

/// One piece of the status bar, and how it is drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Its text.
    pub text: String,
    /// How it is drawn.
    pub style: SegmentStyle,
}

/// How a piece of the status bar is drawn: what it says about the windows, or what is about to
/// happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentStyle {
    /// As the rest of the bar.
    Plain,
    /// Of less weight (the clock, a scroll marker).
    Dim,
    /// The window shown.
    Active,
    /// A window with a message to the user alone.
    ForMe,
    /// A window with other news.
    News,
    /// Something about to happen (the idle logout, a lost connection).
    Warn,
}

/// How much of the bar is kept, from the most to the least.
#[derive(Clone, Copy, Debug)]
struct Level {
    /// The longest window name, in columns (`None`: names in full; `Some(0)`: numbers only).
    names: Option<usize>,
    server: bool,
    me: bool,
    clock: bool,
    /// `[scrolled back: PageDown]` in full, or `[scrolled]`.
    scrolled_long: bool,
}

const LEVELS: &[Level] = &[
    Level {
        names: None,
        server: true,
        me: true,
        clock: true,
        scrolled_long: true,
    },
    Level {
        names: Some(10),
        server: true,
        me: true,
        clock: true,
        scrolled_long: false,
    },
    Level {
        names: Some(6),
        server: true,
        me: true,
        clock: true,
        scrolled_long: false,
    },
    Level {
        names: Some(6),
        server: false,
        me: true,
        clock: true,
        scrolled_long: false,
    },
    Level {
        names: Some(3),
        server: false,
        me: true,
        clock: true,
        scrolled_long: false,
    },
    Level {
        names: Some(0),
        server: false,
        me: true,
        clock: true,
        scrolled_long: false,
    },
    Level {
        names: Some(0),
        server: false,
        me: false,
        clock: true,
        scrolled_long: false,
    },
    Level {
        names: Some(0),
        server: false,
        me: false,
        clock: false,
        scrolled_long: false,
    },
];

/// The bar for `width` columns: the fullest level that fits (the last one if none does).
pub(super) fn fit(view: &View<'_>, width: usize, now: Timestamp, clock: &str) -> Vec<Segment> {
    let mut bar = Vec::new();
    for level in LEVELS {
        bar = at_level(view, *level, now, clock);
        if bar.iter().map(|s| s.text.width()).sum::<usize>() <= width {
            break;
        }
    }
    bar
}

fn seg(text: impl Into<String>, style: SegmentStyle) -> Segment {
    Segment {
        text: text.into(),
        style,
    }
}

/// `name` cut to `max` columns, with `…` where it was cut.
fn shorten(name: &str, max: usize) -> String {
    if name.width() <= max {
        return name.to_owned();
    }
    let mut out = String::new();
    for c in name.chars() {
        if (out.clone() + &c.to_string()).width() + 1 > max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn at_level(view: &View<'_>, level: Level, now: Timestamp, clock: &str) -> Vec<Segment> {
    use SegmentStyle as S;
    let mut bar = Vec::new();
    if level.clock {
        bar.push(seg(format!("[{clock}] "), S::Dim));
    }
    if level.me {
        let me = view.me().map_or("(logging in)", |m| &**m);
        let who = if level.server {
            format!("[{me} @ {}] ", view.server())
        } else {
            format!("[{me}] ")
        };
        bar.push(seg(who, S::Plain));
    }
    bar.push(seg("[", S::Plain));
    for (i, w) in view.windows().iter().enumerate() {
        if i > 0 {
            bar.push(seg(" ", S::Plain));
        }
        let shown = i == view.active();
        let news = !shown && w.activity.unread > 0;
        let mark = match (news, w.activity.for_me) {
            (false, _) => "",
            (true, true) => "*",
            (true, false) => "+",
        };
        let label = match level.names {
            Some(0) => format!("{}{mark}", i + 1),
            Some(max) => format!("{}:{}{mark}", i + 1, shorten(&w.key.label(), max)),
            None => format!("{}:{}{mark}", i + 1, w.key.label()),
        };
        let style = if shown {
            S::Active
        } else if news && w.activity.for_me {
            S::ForMe
        } else if news {
            S::News
        } else {
            S::Plain
        };
        bar.push(seg(label, style));
    }
    bar.push(seg("]", S::Plain));
    if let Some(p) = view.protection() {
        // Never given up: it says whether what is typed here can be read by the server.
        use crate::client::e2e::Protection;
        let style = match p {
            Protection::KeyChanged | Protection::NotEncrypted => S::Warn,
            Protection::Encrypted | Protection::Verified | Protection::Waiting => S::Plain,
        };
        bar.push(seg(format!(" [{}]", p.badge()), style));
    }
    let typing = view.typing(now);
    if !typing.is_empty() {
        let names: Vec<&str> = typing.iter().map(|n| &***n).collect();
        let verb = if names.len() == 1 { "is" } else { "are" };
        bar.push(seg(
            format!(" [{} {verb} typing]", names.join(", ")),
            S::Dim,
        ));
    }
    if let Some(left) = view.idle_left(now).filter(|s| *s <= IDLE_SHOWN_SECS) {
        bar.push(seg(format!(" [idle logout in {left} s]"), S::Warn));
    }
    match view.link() {
        Link::Up => {}
        Link::Reconnecting { since, next_try } => {
            let trying = crate::client::moving::span(now.millis_since(since) / 1000);
            let text = match next_try {
                Some(at) => format!(
                    " [reconnecting for {trying}, next try in {} s]",
                    now.secs_until_ceil(at)
                ),
                None => format!(" [reconnecting for {trying}, trying now]"),
            };
            bar.push(seg(text, S::Warn));
        }
        Link::Offline {
            wake_on_typing: true,
        } => bar.push(seg(" [logged out: type to log in again]", S::Warn)),
        Link::Offline {
            wake_on_typing: false,
        } => bar.push(seg(" [disconnected: /reconnect]", S::Warn)),
    }
    if view.active_window().scroll > 0 {
        let text = if level.scrolled_long {
            " [scrolled back: PageDown]"
        } else {
            " [scrolled]"
        };
        bar.push(seg(text, S::Dim));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_with_a_mark() {
        assert_eq!(shorten("broadcasts", 6), "broad…");
        assert_eq!(shorten("bob", 6), "bob");
        assert_eq!(shorten("#crew", 3), "#c…");
    }
}
