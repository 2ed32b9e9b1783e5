//! Drawing the full-screen client: a pure function of the [`App`] and the time, in the ratatui way, so
//! tests render it into a test backend and read the screen back.
//!
//! ```text
//!  natter — bob                                                    (title: the window's conversation)
//!  12:03 bob: are you there?                          │ alice
//!  12:04 alice: yes, a long answer that wraps and     │ bob
//!              carries on under the text              │ carol
//!  [12:05] [alice @ 127.0.0.1:4000] [1:status 2:bob 3:#team+ 4:carol*] [idle logout in 42 s]
//!  > the line being typed
//! ```

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::app::App;
use super::windows::{Line, LineStyle};
use crate::client::InputMode;
use crate::shell::ui::local_hhmm;
use crate::time::Timestamp;

/// The online list is shown only on screens at least this wide.
const NICKS_FROM_WIDTH: u16 = 60;
const NICKS_WIDTH: u16 = 18;
/// The idle countdown appears this close to the logout (the server warns a minute ahead).
const IDLE_SHOWN_SECS: u64 = 120;

pub fn draw(frame: &mut Frame<'_>, app: &mut App, now: Timestamp) {
    let [title, main, status, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let window = app.active_window();
    frame.render_widget(
        Paragraph::new(format!(" natter — {}", window.key.label()))
            .style(Style::new().add_modifier(Modifier::REVERSED)),
        title,
    );
    let (conversation, nicks) = if main.width >= NICKS_FROM_WIDTH {
        let [c, n] =
            Layout::horizontal([Constraint::Min(20), Constraint::Length(NICKS_WIDTH)]).areas(main);
        (c, Some(n))
    } else {
        (main, None)
    };
    app.page = usize::from(conversation.height);
    draw_lines(frame, app, conversation);
    if let Some(area) = nicks {
        let names: Vec<TextLine<'_>> = app
            .online
            .iter()
            .map(|n| TextLine::from(n.to_string()))
            .collect();
        frame.render_widget(
            Paragraph::new(names).block(Block::default().borders(Borders::LEFT)),
            area,
        );
    }
    frame.render_widget(Paragraph::new(status_line(app, now)), status);
    draw_input(frame, app, input);
}

/// The conversation's lines, wrapped and indented under their text, newest at the bottom, scrolled back
/// as far as the user asked.
fn draw_lines(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let window = app.active_window();
    let width = usize::from(area.width).max(1);
    let mut rows: Vec<TextLine<'_>> = Vec::new();
    for line in &window.lines {
        rows.extend(rows_of(line, width));
    }
    let height = usize::from(area.height);
    let end = rows.len().saturating_sub(window.scroll);
    let start = end.saturating_sub(height);
    let shown: Vec<TextLine<'_>> = rows.drain(start..end).collect();
    frame.render_widget(Paragraph::new(shown), area);
}

/// One line as screen rows: `HH:MM from: text`, continuation rows indented to where the text starts.
pub fn rows_of(line: &Line, width: usize) -> Vec<TextLine<'static>> {
    let time = format!("{} ", local_hhmm(line.at));
    let who = line
        .from
        .as_ref()
        .map(|f| format!("{f}: "))
        .unwrap_or_default();
    let indent = time.width() + who.width();
    let text_style = match line.style {
        LineStyle::Message => Style::new(),
        LineStyle::Own => Style::new().fg(Color::Cyan),
        LineStyle::Notice => Style::new().fg(Color::DarkGray),
        LineStyle::Error => Style::new().fg(Color::Red),
    };
    let mut text = line.text.clone();
    if let Some(outcome) = &line.outcome {
        text.push_str(&format!("  ({outcome})"));
    }
    let room = width.saturating_sub(indent).max(8);
    let pieces = wrap(&text, room);
    let mut rows = Vec::with_capacity(pieces.len());
    for (i, piece) in pieces.into_iter().enumerate() {
        let lead = if i == 0 {
            vec![
                Span::styled(time.clone(), Style::new().fg(Color::DarkGray)),
                Span::styled(who.clone(), Style::new().add_modifier(Modifier::BOLD)),
            ]
        } else {
            vec![Span::raw(" ".repeat(indent))]
        };
        let mut spans = lead;
        spans.push(Span::styled(piece, text_style));
        rows.push(TextLine::from(spans));
    }
    rows
}

/// Splits `text` into pieces at most `width` columns wide, at spaces where it can, inside a word
/// where a word is wider than the line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let sep = usize::from(!current.is_empty());
        if current.width() + sep + word.width() <= width {
            if sep == 1 {
                current.push(' ');
            }
            current.push_str(word);
            continue;
        }
        if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        // A word wider than the line: cut it by columns.
        let mut piece = String::new();
        for c in word.chars() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if piece.width() + w > width {
                out.push(std::mem::take(&mut piece));
            }
            piece.push(c);
        }
        current = piece;
    }
    out.push(current);
    out
}

/// `[HH:MM] [me @ server] [1:status 2:bob* 3:#team+] [idle logout in N s]`, the active window in
/// reverse video, a window with messages to the user alone marked `*`, other activity `+`.
pub fn status_line(app: &App, now: Timestamp) -> TextLine<'static> {
    let dim = Style::new().fg(Color::DarkGray);
    let me = app.me.as_deref().unwrap_or("(logging in)");
    let mut spans = vec![
        Span::styled(format!("[{}] ", local_hhmm(now)), dim),
        Span::raw(format!("[{me} @ {}] [", app.server)),
    ];
    for (i, w) in app.windows.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" "));
        }
        let mark = if i == app.active || w.activity.unread == 0 {
            ""
        } else if w.activity.for_me {
            "*"
        } else {
            "+"
        };
        let label = format!("{}:{}{mark}", i + 1, w.key.label());
        let style = if i == app.active {
            Style::new().add_modifier(Modifier::REVERSED)
        } else if w.activity.for_me && w.activity.unread > 0 {
            Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD)
        } else if w.activity.unread > 0 {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(label, style));
    }
    spans.push(Span::raw("]"));
    if let Some(left) = app.idle_left(now).filter(|s| *s <= IDLE_SHOWN_SECS) {
        spans.push(Span::styled(
            format!(" [idle logout in {left} s]"),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        ));
    }
    if app.active_window().scroll > 0 {
        spans.push(Span::styled(" [scrolled back: PageDown]", dim));
    }
    TextLine::from(spans)
}

/// The prompt and the line being typed (a password shown as nothing at all), with the cursor in it.
fn draw_input(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let prompt = match &app.mode {
        Some(InputMode::Command { .. }) | None => "> ".to_owned(),
        Some(mode) => mode.prompt(),
    };
    let secret = app.mode.as_ref().is_some_and(InputMode::is_secret);
    let text = if secret {
        String::new()
    } else {
        app.editor.text()
    };
    let before_cursor: String = text.chars().take(app.editor.cursor()).collect();
    // Long lines scroll horizontally so the cursor stays in view.
    let room = usize::from(area.width)
        .saturating_sub(prompt.width() + 1)
        .max(1);
    let skip = before_cursor.width().saturating_sub(room);
    let shown: String = {
        let mut acc = 0;
        text.chars()
            .skip_while(|c| {
                let w = unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
                let skipping = acc < skip;
                acc += w;
                skipping
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(TextLine::from(vec![
            Span::styled(prompt.clone(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(shown),
        ])),
        area,
    );
    let x = area.x + (prompt.width() + before_cursor.width() - skip) as u16;
    frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
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
}
