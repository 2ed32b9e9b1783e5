//! The IRC listener over real sockets on 127.0.0.1: an IRC client registers with a natter account,
//! exchanges PRIVMSG with a natter-protocol client both ways, gets a message kept while it was
//! offline at login, and three wrong passwords lock the account for both protocols; with guests on,
//! a client with no password registers under a free nick that is no account's.
//! Typing crosses both ways as TAGMSG and natter signals; the service nick answers, actions cross
//! both ways, and SILENCE blocks.

mod kit;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};

use kit::*;
use natter::shell::server::ShellOptions;
use natter_core::protocol::{ErrorReply, Prompt, ServerMsg};
use natter_core::server::Config;

/// An IRC client: lines out with `\r\n`, lines in without.
struct Irc {
    out: TcpStream,
    lines: BufReader<TcpStream>,
}

impl Irc {
    fn connect(addr: SocketAddr) -> Irc {
        let out = TcpStream::connect(addr).unwrap();
        out.set_read_timeout(Some(PATIENCE)).unwrap();
        let lines = BufReader::new(out.try_clone().unwrap());
        Irc { out, lines }
    }

    fn send(&mut self, line: &str) {
        self.out
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    /// The next line, or `None` once the server closed the connection.
    fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.lines.read_line(&mut l) {
            Ok(0) | Err(_) => None,
            Ok(_) => {
                assert!(l.ends_with("\r\n"), "IRC lines end with CRLF: {l:?}");
                Some(l.trim_end().to_owned())
            }
        }
    }

    /// Reads until a line contains `what`, returning it; panics with what came otherwise.
    fn expect(&mut self, what: &str) -> String {
        let mut seen = Vec::new();
        while let Some(l) = self.line() {
            if l.contains(what) {
                return l;
            }
            seen.push(l);
        }
        panic!("closed before {what:?}; saw {seen:#?}");
    }

    /// Reads until the server closes, returning what came.
    fn until_closed(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.line()).collect()
    }

    /// Registers as `nick` with `pass`, asking for `server-time`.
    fn register(&mut self, nick: &str, pass: &str) {
        self.send("CAP LS 302");
        self.send(&format!("PASS {pass}"));
        self.send(&format!("NICK {nick}"));
        self.send(&format!("USER {nick} 0 * :{nick}"));
        self.send("CAP REQ :server-time");
        self.send("CAP END");
    }
}

fn server() -> TestServer {
    TestServer::with_irc(config(), ShellOptions::default())
}

#[test]
fn an_irc_user_and_a_natter_user_talk_both_ways() {
    let server = server();
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    irc.register("alice", "apw");
    irc.expect(" 001 alice :Welcome to natter");
    irc.expect(" 422 alice ");
    let mut bob = server.login("bob");
    irc.send("PRIVMSG bob :hello from IRC");
    bob.expect("alice's message", |m| {
        matches!(m, ServerMsg::Message { from, text, .. } if &**from == "alice" && text == "hello from IRC")
    });
    bob.say("message alice hello from natter");
    let got = irc.expect("PRIVMSG alice");
    assert!(
        got.starts_with("@time=")
            && got.ends_with(" :bob!bob@natter PRIVMSG alice :hello from natter"),
        "{got}"
    );
    irc.send("PING :are you there");
    irc.expect(":natter PONG natter :are you there");
    irc.send("QUIT :done");
    let rest = irc.until_closed();
    assert!(
        rest.iter()
            .any(|l| l.starts_with("ERROR :Closing link: alice (Quit: done)")),
        "{rest:?}"
    );
}

#[test]
fn a_message_kept_while_offline_is_delivered_at_registration() {
    let server = server();
    let mut bob = server.login("bob");
    bob.say("message alice while you were away");
    bob.expect("stored", |m| matches!(m, ServerMsg::Stored { .. }));
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    irc.register("alice", "apw");
    irc.expect(" 001 alice ");
    let got = irc.expect("PRIVMSG alice");
    assert!(got.starts_with("@time="), "{got}");
    assert!(
        got.ends_with(":bob!bob@natter PRIVMSG alice :while you were away"),
        "{got}"
    );
}

#[test]
fn three_wrong_passwords_lock_the_account_on_both_listeners() {
    let server = server();
    for code in ["464", "464", "465"] {
        let mut irc = Irc::connect(server.irc_addr.unwrap());
        irc.register("carol", "wrong");
        let rest = irc.until_closed();
        assert!(
            rest.iter()
                .any(|l| l.starts_with(&format!(":natter {code} * :"))),
            "{code}: {rest:?}"
        );
        assert!(
            rest.last()
                .is_some_and(|l| l.starts_with("ERROR :Closing link: carol")),
            "{rest:?}"
        );
    }
    let mut natter = server.connect();
    natter.expect("username prompt", |m| {
        matches!(m, ServerMsg::Prompt(Prompt::Username))
    });
    natter.say("carol");
    natter.expect("locked", |m| {
        matches!(m, ServerMsg::Error(ErrorReply::Locked { .. }))
    });
}

#[test]
fn a_user_online_on_natter_is_refused_on_irc_with_433() {
    let server = server();
    let _dave = server.login("dave");
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    irc.register("dave", "dpw");
    irc.expect(":natter 433 * dave :");
}

/// A server that admits guests (`--irc-guests`).
fn guest_server() -> TestServer {
    TestServer::with_irc(
        Config {
            guests: true,
            ..config()
        },
        ShellOptions::default(),
    )
}

/// Registers as a guest: a nick and no password.
fn register_guest(irc: &mut Irc, nick: &str) {
    irc.send(&format!("NICK {nick}"));
    irc.send(&format!("USER {nick} 0 * :{nick}"));
}

#[test]
fn a_guest_registers_without_a_password_and_chats_with_a_natter_user() {
    let server = guest_server();
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    register_guest(&mut irc, "zed");
    irc.expect(" 001 zed :Welcome to natter");
    let mut bob = server.login("bob");
    irc.send("PRIVMSG bob :hi from a guest");
    bob.expect("zed's message", |m| {
        matches!(m, ServerMsg::Message { from, text, .. } if &**from == "zed" && text == "hi from a guest")
    });
    bob.say("message zed hi guest");
    irc.expect(":bob!bob@natter PRIVMSG zed :hi guest");
    irc.send("QUIT");
    irc.until_closed();
    // Gone, the guest is no user: a message to it is refused, not kept.
    bob.say("message zed still there?");
    bob.expect("no such user", |m| {
        matches!(m, ServerMsg::Error(ErrorReply::NoSuchUser { .. }))
    });
}

#[test]
fn a_guest_cannot_take_an_accounts_name() {
    let server = guest_server();
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    register_guest(&mut irc, "alice");
    irc.expect(":natter 433 * alice :");
    irc.send("NICK alice_");
    irc.expect(" 001 alice_ ");
}

#[test]
fn without_guests_a_nick_without_password_is_464() {
    let server = server();
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    register_guest(&mut irc, "zed");
    irc.expect(":natter 464 * :");
    let rest = irc.until_closed();
    assert!(
        rest.iter()
            .any(|l| l.starts_with("ERROR :Closing link: zed")),
        "{rest:?}"
    );
}

#[test]
fn an_irc_user_and_a_natter_user_talk_in_a_channel() {
    let server = guest_server();
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    irc.register("alice", "apw");
    irc.expect(" 001 alice ");
    irc.send("JOIN #team");
    irc.expect(":alice!alice@natter JOIN #team");
    irc.expect(":natter 366 alice #team ");
    let mut bob = server.login("bob");
    bob.say("group join team");
    irc.expect(":bob!bob@natter JOIN #team");
    irc.send("PRIVMSG #team :hello team");
    bob.expect("alice's group message", |m| {
        matches!(m, ServerMsg::GroupMessage { group, from, text, .. }
            if &**group == "team" && &**from == "alice" && text == "hello team")
    });
    bob.say("message group team hello alice");
    let got = irc.expect("PRIVMSG #team");
    assert!(
        got.ends_with(":bob!bob@natter PRIVMSG #team :hello alice"),
        "{got}"
    );
    // A guest joins the open channel too, and hears both.
    let mut zed = Irc::connect(server.irc_addr.unwrap());
    register_guest(&mut zed, "zed");
    zed.expect(" 001 zed ");
    zed.send("JOIN #team");
    let names = zed.expect(" 353 zed = #team ");
    // The front asks the group's rules first, so even a newcomer sees its operator.
    assert!(names.ends_with(":@alice bob zed"), "{names}");
    bob.say("message group team all three");
    zed.expect(":bob!bob@natter PRIVMSG #team :all three");
}

/// The operator's server name and message of the day reach an IRC client over a real socket, and
/// `WHO` and `WHOIS` answer with the core's data.
#[test]
fn the_server_name_motd_and_who_over_a_socket() {
    let settings = natter_core::irc::IrcSettings {
        server_name: "irc.test".into(),
        ..Default::default()
    }
    .with_motd_text("Be kind.\n");
    let server = TestServer::with_irc(
        Config {
            guests: true,
            ..config()
        },
        ShellOptions {
            irc: settings,
            ..ShellOptions::default()
        },
    );
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    irc.send("NICK zed");
    irc.send("USER zedu 0 * :Zed Zedson");
    irc.expect(":irc.test 001 zed ");
    irc.expect(":irc.test 251 zed :There are 1 users");
    irc.expect(":irc.test 372 zed :- Be kind.");
    irc.expect(":irc.test 376 zed ");
    irc.send("WHO zed");
    irc.expect(":irc.test 352 zed * zedu natter irc.test zed H :0 Zed Zedson");
    irc.expect(":irc.test 315 zed zed ");
    irc.send("WHOIS zed");
    irc.expect(":irc.test 311 zed zed zedu natter * :Zed Zedson");
    irc.expect(":irc.test 318 zed zed ");
}

#[test]
fn typing_crosses_between_an_irc_client_and_a_natter_client() {
    let server = server();
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    irc.send("CAP LS 302");
    irc.send("PASS apw");
    irc.send("NICK alice");
    irc.send("USER alice 0 * :alice");
    irc.send("CAP REQ :message-tags account-tag");
    irc.send("CAP END");
    irc.expect(" 001 alice ");
    let mut bob = server.login("bob");
    irc.send("@+typing=active TAGMSG bob");
    bob.expect("alice's typing", |m| {
        matches!(m, ServerMsg::Signal { from, tags, .. } if &**from == "alice" && tags == "typing=active")
    });
    bob.say("signal alice typing=paused");
    let got = irc.expect("TAGMSG alice");
    assert!(
        got.starts_with('@')
            && got.contains("+typing=paused")
            && got.contains("account=bob")
            && got.ends_with(" :bob!bob@natter TAGMSG alice"),
        "{got}"
    );
}

#[test]
fn the_service_nick_answers_and_actions_cross_between_irc_and_natter() {
    let server = server();
    let mut irc = Irc::connect(server.irc_addr.unwrap());
    irc.register("alice", "apw");
    irc.expect(" 001 alice ");
    let mut bob = server.login("bob");
    irc.send("PRIVMSG natter :whoelse");
    let got = irc.expect("NOTICE alice :");
    assert_eq!(got, ":natter!natter@natter NOTICE alice :* Online now: bob");
    irc.send("PRIVMSG bob :\x01ACTION waves\x01");
    bob.expect("alice's action", |m| {
        matches!(m, ServerMsg::Message { from, text, .. } if &**from == "alice" && text == "/me waves")
    });
    bob.say("message alice /me waves back");
    let got = irc.expect("PRIVMSG alice");
    assert!(
        got.ends_with(":bob!bob@natter PRIVMSG alice :\x01ACTION waves back\x01"),
        "{got:?}"
    );
    irc.send("SILENCE +bob");
    irc.expect(":alice!alice@natter SILENCE +bob!*@*");
}
