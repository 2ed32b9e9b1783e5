//! How encrypted text travels, outside and inside the encryption (docs/PROTOCOL.md has the same).
//!
//! **Outside** (the text of an ordinary `message` / `message group` line, so every server rule applies
//! to it unchanged): the fixed prefix `e2e1:` (the `1` is the format's version), then one of
//!
//! - `p:<curve25519>:<base64>`: an Olm pre-key message (the first messages of a pairwise session,
//!   which set the session up at the recipient from one of its published one-time keys), for the
//!   device whose Curve25519 identity key is `<curve25519>`;
//! - `n:<curve25519>:<base64>`: an Olm normal message, likewise;
//! - `g:<session id>:<base64>`: a Megolm message of the sender's group session `<session id>`.
//!
//! Base64 is vodozemac's (standard alphabet, unpadded), so `:` never occurs inside a part. The
//! recipient key of a direct message is outside the encryption so that the server can refuse
//! ciphertext for a device the recipient no longer has (`stale-key`) and the recipient's client can
//! tell a message for its other device from a damaged one; it is not trusted for anything else (a
//! message is always tried with the sessions held, whatever it names).
//!
//! **Inside** an Olm message (the plaintext), one of
//!
//! - `M <text>`: a direct message;
//! - `K <group> <session key>`: the sender's Megolm session key for `<group>`, consumed by the
//!   recipient's client without being shown;
//! - `U <digest>`: "your message whose ciphertext has this digest (dedup's: 16 bytes of SHA-256 in
//!   hex) was encrypted for a device of mine that is gone": the recipient's client sends its text
//!   again, once it trusts the device this came from;
//! - `C ` (nothing after the space): "the session this arrives on is set up here": sent once by a
//!   client whose new session was made from a pre-key message, on that session; it makes the
//!   sender's next messages normal ones (Olm sends pre-key messages until it hears back), without the
//!   pre-key header and the identity proof each pre-key message repeats;
//!
//! and, in front of either in a pre-key message only, `I <ed25519> <signature>\n`: the sender's Ed25519
//! identity key and its signature over `natter-identity:<sender>:<curve25519>:<ed25519>`. Olm's
//! pre-key message already proves the sender holds the Curve25519 identity key; this binds the Ed25519
//! key (the one safety numbers are made of) to it, so a recipient pins both without asking the server.
//!
//! Inside a Megolm message: `M <text>`.

use super::b64::{
    decode as base64_decode, encode as base64_encode, encode_into as base64_encode_into,
};

use super::engine::OlmMessage;
use crate::protocol::Name;

/// The prefix of every encrypted text: anything else is "not encrypted".
pub const PREFIX: &str = crate::protocol::keys::E2E_PREFIX;

/// What an encrypted text holds, decoded from its outside form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Envelope {
    /// An Olm message for the device whose Curve25519 identity key is `to`.
    Olm {
        /// The recipient device's Curve25519 identity key.
        to: String,
        /// The message.
        message: OlmMessage,
    },
    /// A Megolm message of the sender's session `session_id`.
    Group {
        /// The session it belongs to.
        session_id: String,
        /// The ciphertext.
        body: Vec<u8>,
    },
}

/// Why a text that starts with the prefix could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not a kind this natter knows.
    #[error("unknown kind of encrypted text (a newer natter?)")]
    UnknownKind,
    /// Its body is not base64.
    #[error("the encrypted text is not valid base64")]
    Base64,
    /// A group message without its session's id.
    #[error("the group message names no session")]
    NoSession,
    /// An Olm message without its recipient's key.
    #[error("the encrypted message names no recipient key")]
    NoRecipient,
}

/// Whether a message's text is encrypted (it may still fail to decode).
pub fn is_encrypted(text: &str) -> bool {
    text.starts_with(PREFIX)
}

impl Envelope {
    /// The outside form.
    pub fn render(&self) -> String {
        match self {
            Envelope::Olm { to, message } => {
                let mut out = String::new();
                render_olm(to, message, &mut out);
                out
            }
            Envelope::Group { session_id, body } => {
                format!("{PREFIX}g:{session_id}:{}", base64_encode(body))
            }
        }
    }

    /// Reads the outside form; `None` if `text` does not start with the prefix (not encrypted).
    pub fn parse(text: &str) -> Option<Result<Envelope, EnvelopeError>> {
        let rest = text.strip_prefix(PREFIX)?;
        Some(Self::parse_rest(rest))
    }

    fn parse_rest(rest: &str) -> Result<Envelope, EnvelopeError> {
        let decode = |b: &str| base64_decode(b.trim_end()).map_err(|_| EnvelopeError::Base64);
        let (kind, rest) = rest.split_once(':').ok_or(EnvelopeError::UnknownKind)?;
        match kind {
            "p" | "n" => {
                let (to, body) = rest.split_once(':').ok_or(EnvelopeError::NoRecipient)?;
                crate::protocol::keys::curve25519(to).map_err(|_| EnvelopeError::NoRecipient)?;
                Ok(Envelope::Olm {
                    to: to.to_owned(),
                    message: OlmMessage {
                        pre_key: kind == "p",
                        body: decode(body)?,
                    },
                })
            }
            "g" => {
                let (session_id, body) = rest.split_once(':').ok_or(EnvelopeError::NoSession)?;
                if session_id.is_empty() {
                    return Err(EnvelopeError::NoSession);
                }
                Ok(Envelope::Group {
                    session_id: session_id.to_owned(),
                    body: decode(body)?,
                })
            }
            _ => Err(EnvelopeError::UnknownKind),
        }
    }
}

/// The outside form of an Olm `message` for the device `to`, appended to `out` (the line that
/// carries it is made in one piece, without a copy of the text per step).
pub fn render_olm(to: &str, message: &OlmMessage, out: &mut String) {
    out.reserve(PREFIX.len() + 3 + to.len() + message.body.len().div_ceil(3) * 4);
    out.push_str(PREFIX);
    out.push(if message.pre_key { 'p' } else { 'n' });
    out.push(':');
    out.push_str(to);
    out.push(':');
    base64_encode_into(&message.body, out);
}

/// The identity proof in front of a pre-key message's plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// The sender's Ed25519 identity key.
    pub ed25519: String,
    /// Its signature over [`identity_statement`], binding it to the Curve25519 key the message came
    /// from.
    pub signature: String,
}

/// What an Olm plaintext carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// A message the user wrote.
    Text(String),
    /// The key of the sender's Megolm session for a group, shared with this member.
    GroupKey {
        /// The group.
        group: Name,
        /// The session's key.
        session_key: String,
    },
    /// The recipient could not read the sender's message with this ciphertext digest: it was for a
    /// device of the recipient's that is gone.
    Unreadable {
        /// The digest of the ciphertext that could not be read.
        digest: String,
    },
    /// The recipient set the session up from the sender's pre-key message: nothing to show; its
    /// decryption is what matters (a session that has received a message makes normal messages
    /// from then on, so the sender stops repeating the pre-key header and its identity proof).
    Confirm,
}

/// An Olm plaintext, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inner {
    /// The sender's identity proof (pre-key messages carry one).
    pub proof: Option<Proof>,
    /// What it carries.
    pub body: Body,
}

/// Why a decrypted plaintext could not be read: the sender's client is broken or newer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InnerError {
    /// Not UTF-8.
    #[error("the decrypted text is not UTF-8")]
    NotText,
    /// Not a form this natter knows.
    #[error("the decrypted text has an unknown form (a newer natter?)")]
    UnknownForm,
}

/// What the sender signs to bind its Ed25519 key to its Curve25519 key and name.
pub fn identity_statement(sender: &str, curve25519: &str, ed25519: &str) -> String {
    format!("natter-identity:{sender}:{curve25519}:{ed25519}")
}

impl Inner {
    /// As encrypted: the proof's line, if any, then the body's.
    pub fn render(&self) -> String {
        render_inner(self.proof.as_ref(), &self.body)
    }

    /// A plaintext as decrypted, read.
    pub fn parse(bytes: &[u8]) -> Result<Inner, InnerError> {
        let text = std::str::from_utf8(bytes).map_err(|_| InnerError::NotText)?;
        let (proof, rest) = match text.strip_prefix("I ") {
            Some(rest) => {
                let (line, rest) = rest.split_once('\n').ok_or(InnerError::UnknownForm)?;
                let (ed25519, signature) = line.split_once(' ').ok_or(InnerError::UnknownForm)?;
                (
                    Some(Proof {
                        ed25519: ed25519.to_owned(),
                        signature: signature.to_owned(),
                    }),
                    rest,
                )
            }
            None => (None, text),
        };
        Ok(Inner {
            proof,
            body: parse_body(rest)?,
        })
    }
}

/// An Olm plaintext ([`Inner::render`]) from its parts, made in one piece.
pub fn render_inner(proof: Option<&Proof>, body: &Body) -> String {
    let mut out = String::with_capacity(
        proof.map_or(0, |p| p.ed25519.len() + p.signature.len() + 4) + body_len(body),
    );
    if let Some(p) = proof {
        out.push_str("I ");
        out.push_str(&p.ed25519);
        out.push(' ');
        out.push_str(&p.signature);
        out.push('\n');
    }
    push_body(body, &mut out);
    out
}

/// How long a body's plaintext line is.
fn body_len(body: &Body) -> usize {
    2 + match body {
        Body::Text(t) => t.len(),
        Body::GroupKey { group, session_key } => group.len() + 1 + session_key.len(),
        Body::Unreadable { digest } => digest.len(),
        Body::Confirm => 0,
    }
}

fn push_body(body: &Body, out: &mut String) {
    match body {
        Body::Text(t) => {
            out.push_str("M ");
            out.push_str(t);
        }
        Body::GroupKey { group, session_key } => {
            out.push_str("K ");
            out.push_str(group);
            out.push(' ');
            out.push_str(session_key);
        }
        Body::Unreadable { digest } => {
            out.push_str("U ");
            out.push_str(digest);
        }
        Body::Confirm => out.push_str("C "),
    }
}

/// A body as its plaintext line: a one-letter kind, a space, and what it holds.
pub fn render_body(body: &Body) -> String {
    let mut out = String::with_capacity(body_len(body));
    push_body(body, &mut out);
    out
}

/// A body alone (the plaintext of a Megolm message is one).
pub fn parse_body(text: &str) -> Result<Body, InnerError> {
    if let Some(t) = text.strip_prefix("M ") {
        return Ok(Body::Text(t.to_owned()));
    }
    if let Some(digest) = text.strip_prefix("U ") {
        if digest.len() != 32 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InnerError::UnknownForm);
        }
        return Ok(Body::Unreadable {
            digest: digest.to_owned(),
        });
    }
    if text == "C " {
        return Ok(Body::Confirm);
    }
    if let Some(rest) = text.strip_prefix("K ") {
        let (group, key) = rest.split_once(' ').ok_or(InnerError::UnknownForm)?;
        crate::protocol::name::check_group_name(group).map_err(|_| InnerError::UnknownForm)?;
        return Ok(Body::GroupKey {
            group: Name::from(group),
            session_key: key.to_owned(),
        });
    }
    Err(InnerError::UnknownForm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_forms_round_trip_and_plain_text_is_not_taken_for_one() {
        let to = "B".repeat(43);
        for e in [
            Envelope::Olm {
                to: to.clone(),
                message: OlmMessage {
                    pre_key: true,
                    body: vec![1, 2, 3, 250],
                },
            },
            Envelope::Olm {
                to: to.clone(),
                message: OlmMessage {
                    pre_key: false,
                    body: vec![0; 40],
                },
            },
            Envelope::Group {
                session_id: "abcDEF+/09".into(),
                body: b"xyz".to_vec(),
            },
        ] {
            let text = e.render();
            assert!(is_encrypted(&text));
            assert!(!text.contains(' '), "one wire token: {text}");
            assert_eq!(Envelope::parse(&text), Some(Ok(e.clone())));
            if let Envelope::Olm { to, .. } = &e {
                assert_eq!(
                    crate::protocol::keys::encrypted_for(&text),
                    Some(to.as_str()),
                    "the server reads the same recipient"
                );
            }
        }
        assert_eq!(Envelope::parse("hello e2e1:p:AAAA"), None);
        assert_eq!(
            Envelope::parse("e2e1:z:AAAA"),
            Some(Err(EnvelopeError::UnknownKind))
        );
        assert_eq!(
            Envelope::parse(&format!("e2e1:p:{to}:!!!")),
            Some(Err(EnvelopeError::Base64))
        );
        assert_eq!(
            Envelope::parse("e2e1:p:AAAA"),
            Some(Err(EnvelopeError::NoRecipient))
        );
        assert_eq!(
            Envelope::parse("e2e1:g::AAAA"),
            Some(Err(EnvelopeError::NoSession))
        );
    }

    #[test]
    fn inside_forms_round_trip() {
        for inner in [
            Inner {
                proof: None,
                body: Body::Text("hello: e2e1: and\nmore".into()),
            },
            Inner {
                proof: Some(Proof {
                    ed25519: "ED".into(),
                    signature: "SIG".into(),
                }),
                body: Body::Text("I am not a proof".into()),
            },
            Inner {
                proof: None,
                body: Body::GroupKey {
                    group: Name::from("devs"),
                    session_key: "KEY".into(),
                },
            },
            Inner {
                proof: None,
                body: Body::Unreadable {
                    digest: "0123456789abcdef0123456789abcdef".into(),
                },
            },
        ] {
            assert_eq!(Inner::parse(inner.render().as_bytes()), Ok(inner));
        }
        assert_eq!(Inner::parse(b"X what"), Err(InnerError::UnknownForm));
        assert_eq!(Inner::parse(&[0xff, 0xfe]), Err(InnerError::NotText));
        assert_eq!(
            Inner::parse(b"K bad/group key"),
            Err(InnerError::UnknownForm)
        );
        assert_eq!(Inner::parse(b"U nothex"), Err(InnerError::UnknownForm));
    }
}
