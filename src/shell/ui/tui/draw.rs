//! Drawing the full-screen client: a pure function of the core's [`View`] and the time, in the
//! ratatui way, so tests render it into a test backend and read the screen back.
//!
//! ```text
//!  natter — bob [e2e ✓]                        (title: the window's conversation, and its protection)
//!  12:03 bob: are you there?                          │ alice
//!  12:04 alice: yes, a long answer that wraps and     │ bob
//!              carries on under the text              │ carol
//!  [12:05] [alice @ 127.0.0.1:4000] [1:status 2:bob 3:#team+ 4:carol*] [idle logout in 42 s]
//!  > the line being typed
//! ```
//!
//! The nick list beside the conversation is the group's members in a group's window, and who is
//! online elsewhere; the status bar is the screen's, fitted to the width.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::shell::ui::{local_date_and_time, local_hhmm};
use natter_core::client::screen::{Line, LineStyle, SegmentStyle, View};
use natter_core::client::wrap::{columns, wrap};
use natter_core::time::Timestamp;

/// The nick list is shown only on screens at least this wide.
const NICKS_FROM_WIDTH: u16 = 60;
/// The nick list is as wide as its longest name (and its border), within these bounds, so a narrow
/// terminal keeps its room for the conversation.
const NICKS_MIN_WIDTH: u16 = 8;
const NICKS_MAX_WIDTH: u16 = 18;

pub fn draw(frame: &mut Frame<'_>, screen: &View<'_>, now: Timestamp) {
    let [title, main, status, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(screen.title()).style(Style::new().add_modifier(Modifier::REVERSED)),
        title,
    );
    let names = screen.nicks();
    let (conversation, nicks) = if main.width >= NICKS_FROM_WIDTH {
        let longest = names.iter().map(|n| columns(n)).max().unwrap_or(0);
        let width = u16::try_from(longest + 1)
            .unwrap_or(NICKS_MAX_WIDTH)
            .clamp(NICKS_MIN_WIDTH, NICKS_MAX_WIDTH);
        let [c, n] =
            Layout::horizontal([Constraint::Min(20), Constraint::Length(width)]).areas(main);
        (c, Some(n))
    } else {
        (main, None)
    };
    draw_lines(frame, screen, conversation);
    if let Some(area) = nicks {
        let names: Vec<TextLine<'_>> = names
            .into_iter()
            // Who is away is dimmed, as irssi's nick list does.
            .map(|n| match screen.away(n) {
                Some(_) => TextLine::styled(n.to_string(), Style::new().fg(Color::DarkGray)),
                None => TextLine::from(n.to_string()),
            })
            .collect();
        frame.render_widget(
            Paragraph::new(names).block(Block::default().borders(Borders::LEFT)),
            area,
        );
    }
    frame.render_widget(
        Paragraph::new(status_line(screen, usize::from(status.width), now)),
        status,
    );
    draw_input(frame, screen, input);
}

/// The conversation's lines, wrapped and indented under their text, newest at the bottom, scrolled back
/// as far as the user asked.
fn draw_lines(frame: &mut Frame<'_>, screen: &View<'_>, area: Rect) {
    let window = screen.active_window();
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
    let indent = columns(&time) + columns(&who);
    let text_style = match line.style {
        LineStyle::Message => Style::new(),
        LineStyle::Offline => Style::new().fg(Color::Yellow),
        LineStyle::Own => Style::new().fg(Color::Cyan),
        LineStyle::Notice => Style::new().fg(Color::DarkGray),
        LineStyle::Warning => Style::new().fg(Color::Yellow),
        LineStyle::Error => Style::new().fg(Color::Red),
        LineStyle::Separator => Style::new()
            .fg(Color::DarkGray)
            .add_modifier(Modifier::BOLD),
    };
    let mut text = match line.style {
        // The date only the shell can put in the user's time zone.
        LineStyle::Separator => format!("— {} {} —", line.text, local_date_and_time(line.at).0),
        _ => line.text.clone(),
    };
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

/// The screen's status bar for `width` columns, styled: the window shown in reverse video, a window
/// with messages to the user alone in bold magenta, other news in bold.
pub fn status_line(screen: &View<'_>, width: usize, now: Timestamp) -> TextLine<'static> {
    let spans: Vec<Span<'static>> = screen
        .status_bar(width, now, &local_hhmm(now))
        .into_iter()
        .map(|seg| {
            let style = match seg.style {
                SegmentStyle::Plain => Style::new(),
                SegmentStyle::Dim => Style::new().fg(Color::DarkGray),
                SegmentStyle::Active => Style::new().add_modifier(Modifier::REVERSED),
                SegmentStyle::ForMe => Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
                SegmentStyle::News => Style::new().add_modifier(Modifier::BOLD),
                SegmentStyle::Warn => Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            };
            Span::styled(seg.text, style)
        })
        .collect();
    TextLine::from(spans)
}

/// The prompt and the line being typed (a password shown as nothing at all), with the cursor in it.
fn draw_input(frame: &mut Frame<'_>, screen: &View<'_>, area: Rect) {
    let (prompt, text, cursor) = screen.input_line();
    let before_cursor: String = text.chars().take(cursor).collect();
    // Long lines scroll horizontally so the cursor stays in view, by whole clusters (an emoji with
    // its skin tone is scrolled away whole).
    let room = usize::from(area.width)
        .saturating_sub(columns(&prompt) + 1)
        .max(1);
    let skip = columns(&before_cursor).saturating_sub(room);
    let (shown, skipped) = {
        let mut acc = 0;
        let mut shown = String::new();
        for cluster in unicode_segmentation::UnicodeSegmentation::graphemes(text.as_str(), true) {
            if acc < skip {
                acc += columns(cluster);
            } else {
                shown.push_str(cluster);
            }
        }
        (shown, acc)
    };
    frame.render_widget(
        Paragraph::new(TextLine::from(vec![
            Span::styled(prompt.clone(), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(shown),
        ])),
        area,
    );
    let x = area.x + (columns(&prompt) + columns(&before_cursor)).saturating_sub(skipped) as u16;
    frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
}
