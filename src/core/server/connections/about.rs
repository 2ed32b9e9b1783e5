//! What a session's client says of itself beyond its name: the user name and real name an IRC
//! client gives with `USER` (`userinfo`), which `who`, `whois` over IRC and `whowas` show.

use crate::protocol::Name;

/// The longest user name kept, in bytes (IRC servers keep about 10; longer ones are cut).
pub(crate) const MAX_USERNAME: usize = 16;
/// The longest real name kept, in bytes.
pub(crate) const MAX_REALNAME: usize = 128;

/// A session's user name and real name, as its client gave them.
///
/// Shared strings (stored as strings are), so that what a natter client's session shows, its name
/// as both ([`About::of_name`]), is the name itself and not two copies made at every logout for
/// `whowas`.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct About {
    /// One word, at most [`MAX_USERNAME`] bytes.
    pub(crate) username: Name,
    /// At most [`MAX_REALNAME`] bytes.
    pub(crate) realname: Name,
}

impl About {
    /// What a client gave, cut to the bounds (between characters) and made one word (a user name
    /// with nothing left is `-`), so that what is shown is always a well-formed line.
    pub(crate) fn new(username: &str, realname: &str) -> Self {
        let word: String = username
            .chars()
            .filter(|c| !c.is_whitespace() && !c.is_control())
            .collect();
        let word = cut(&word, MAX_USERNAME);
        let realname: String = realname.chars().filter(|c| !c.is_control()).collect();
        About {
            username: Name::from(if word.is_empty() { "-" } else { word }),
            realname: Name::from(cut(realname.trim(), MAX_REALNAME)),
        }
    }

    /// What is shown of a session whose client said nothing (a natter client): its name as both.
    pub(crate) fn of_name(name: &Name) -> Self {
        let username = cut(name, MAX_USERNAME);
        About {
            username: if username.len() == name.len() {
                name.clone()
            } else {
                Name::from(username)
            },
            realname: name.clone(),
        }
    }
}

/// `s` cut to at most `max` bytes, between characters.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_client_gives_is_cut_to_bounds_and_the_user_name_made_one_word() {
        let a = About::new("my user\tname", "  Real\u{7} Name  ");
        assert_eq!(&*a.username, "myusername");
        assert_eq!(&*a.realname, "Real Name");
        assert_eq!(&*About::new("", "x").username, "-");
        let long = About::new(&"é".repeat(20), &"r".repeat(300));
        assert!(long.username.len() <= MAX_USERNAME && long.username.chars().all(|c| c == 'é'));
        assert_eq!(long.realname.len(), MAX_REALNAME);
    }

    #[test]
    fn a_name_is_both_and_a_long_one_is_cut_for_the_user_name() {
        let short = Name::from("alice");
        let a = About::of_name(&short);
        assert!(
            std::sync::Arc::ptr_eq(&a.username, &short),
            "the name itself"
        );
        assert_eq!(&*a.realname, "alice");
        let long = Name::from("é".repeat(12).as_str());
        let a = About::of_name(&long);
        assert_eq!(&*a.username, "é".repeat(8));
        assert_eq!(a.realname, long);
    }

    #[test]
    fn it_is_stored_as_two_strings_were() {
        #[derive(serde::Serialize)]
        struct Strings {
            username: String,
            realname: String,
        }
        let a = About::new("bob", "Bob Builder");
        let strings = Strings {
            username: "bob".into(),
            realname: "Bob Builder".into(),
        };
        assert_eq!(
            postcard::to_allocvec(&a).unwrap(),
            postcard::to_allocvec(&strings).unwrap()
        );
    }
}
