//! Tab completion: command names in the first word, usernames the client has seen in a command's user
//! argument. Pure, so the shell's line-editor glue stays a few lines.

use super::display::command_words;

/// Commands whose first argument is a username.
const TAKES_USER: &[&str] = &[
    "message",
    "block",
    "unblock",
    "startprivate",
    "accept",
    "decline",
    "private",
    "stopprivate",
];

/// Where the word being completed starts in `line`, and the candidates for it, for the cursor at byte
/// `pos`. `users` is every username the client has seen, sorted.
pub fn complete(line: &str, pos: usize, users: &[String]) -> (usize, Vec<String>) {
    let before = line.get(..pos).unwrap_or(line);
    let start = before.rfind([' ', '\t']).map(|i| i + 1).unwrap_or(0);
    let word = &before[start..];
    let earlier: Vec<&str> = before[..start].split_whitespace().collect();
    let candidates: Vec<String> = match earlier.as_slice() {
        [] => command_words()
            .into_iter()
            .filter(|w| w.starts_with(&word.to_ascii_lowercase()))
            .map(|w| format!("{w} "))
            .collect(),
        [command] if TAKES_USER.contains(&command.to_ascii_lowercase().as_str()) => users
            .iter()
            .filter(|u| u.starts_with(word))
            .map(|u| format!("{u} "))
            .collect(),
        _ => Vec::new(),
    };
    (start, candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<String> {
        vec!["alice".into(), "bob".into(), "bobby".into()]
    }

    #[test]
    fn command_names_in_the_first_word() {
        let (start, c) = complete("who", 3, &users());
        assert_eq!(start, 0);
        assert_eq!(c, vec!["whoelse ", "whoelsesince "]);
        let (_, c) = complete("pri", 3, &users());
        assert_eq!(c, vec!["private "]);
        let (_, c) = complete("ac", 2, &users());
        assert_eq!(
            c,
            vec!["accept "],
            "internal commands like 'ack' are not offered"
        );
    }

    #[test]
    fn usernames_after_commands_that_take_one() {
        let (start, c) = complete("message bo", 10, &users());
        assert_eq!(start, 8);
        assert_eq!(c, vec!["bob ", "bobby "]);
        let (_, c) = complete("startprivate ", 13, &users());
        assert_eq!(c.len(), 3);
        let (_, c) = complete("broadcast bo", 12, &users());
        assert!(c.is_empty(), "broadcast takes text, not a user");
        let (_, c) = complete("message bob hel", 15, &users());
        assert!(c.is_empty(), "message text is not completed");
    }
}
