//! Spare strings for the texts of the `MSG` lines the core makes: a direct message's line carries a
//! copy of its text (the line is written after the turn, when the sender's input is gone), and a
//! busy server made and freed one such string for every message. The shell gives each back once the
//! line is written ([`crate::server::composed::Server::recycle_text`]), and the next message's copy
//! goes into it. Nothing depends on it but the allocator's work: a core without spares copies into a
//! new string.

/// How many spare strings are kept at most.
const KEEP: usize = 4096;
/// The largest string kept (a longer text's string is freed): with [`KEEP`], at most 4 MiB held.
const MAX_CAPACITY: usize = 1024;

/// The spare strings. See the [module documentation](self).
#[derive(Debug, Default)]
pub(crate) struct SpareTexts {
    strings: Vec<String>,
}

impl SpareTexts {
    /// `text`, copied into a spare string if one is kept.
    pub(crate) fn copy_of(&mut self, text: &str) -> String {
        match self.strings.pop() {
            Some(mut s) => {
                s.push_str(text);
                s
            }
            None => text.to_owned(),
        }
    }

    /// A text's string, written out and given back: kept (emptied) if there is room for it.
    pub(crate) fn give(&mut self, mut s: String) {
        if (1..=MAX_CAPACITY).contains(&s.capacity()) && self.strings.len() < KEEP {
            s.clear();
            self.strings.push(s);
        }
    }

    /// Gives every spare back to the allocator (the server has gone idle).
    pub(crate) fn clear(&mut self) {
        self.strings = Vec::new();
    }

    /// How many are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.strings.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spare_is_reused_empty_and_the_pool_is_bounded() {
        let mut spares = SpareTexts::default();
        assert_eq!(spares.copy_of("hi"), "hi");
        spares.give(String::with_capacity(64));
        spares.give(String::from("left over"));
        assert_eq!(spares.len(), 2);
        assert_eq!(spares.copy_of("hello"), "hello");
        assert_eq!(spares.copy_of("x"), "x");
        assert_eq!(spares.len(), 0);
        // Too big, or nothing to keep: freed.
        spares.give(String::with_capacity(MAX_CAPACITY + 1));
        spares.give(String::new());
        assert_eq!(spares.len(), 0);
        for _ in 0..KEEP + 10 {
            spares.give(String::with_capacity(8));
        }
        assert_eq!(spares.len(), KEEP);
        spares.clear();
        assert_eq!(spares.len(), 0);
    }
}
