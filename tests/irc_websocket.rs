//! IRC over WebSocket (IRCv3's transport, `--irc-ws-port`) over real sockets on 127.0.0.1, with
//! tungstenite's client: a web client registers with a natter account and exchanges PRIVMSG with a
//! natter-protocol user both ways, one line per message in text or binary as the subprotocol says;
//! a message past the line limit is answered as a too-long IRC line is; a request that is no
//! WebSocket upgrade gets an HTTP 400 and the connection closes; a handshake that never finishes is
//! closed when a login that never finishes would be; with TLS the port speaks wss.

mod kit;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use kit::*;
use natter::shell::server::ShellOptions;
use natter_core::protocol::ServerMsg;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

type Ws = WebSocket<TcpStream>;

/// Connects offering `subprotocol`, and checks that the server chose it.
fn connect(addr: SocketAddr, subprotocol: &str) -> Ws {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!("ws://{addr}/").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", subprotocol.parse().unwrap());
    let (ws, response) = tungstenite::client(request, stream).unwrap();
    assert_eq!(
        response.headers()["Sec-WebSocket-Protocol"],
        subprotocol,
        "the server takes the subprotocol offered"
    );
    ws
}

fn send(ws: &mut Ws, line: &str, binary: bool) {
    let message = if binary {
        Message::binary(line.as_bytes().to_vec())
    } else {
        Message::text(line)
    };
    ws.send(message).unwrap();
}

/// Reads messages until one contains `what`; each must be one line, of the subprotocol's kind.
fn expect(ws: &mut Ws, what: &str, binary: bool) -> String {
    let mut seen = Vec::new();
    loop {
        let line = match ws.read() {
            Ok(Message::Text(t)) if !binary => t.as_str().to_owned(),
            Ok(Message::Binary(b)) if binary => String::from_utf8(b.to_vec()).unwrap(),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("{other:?} before {what:?}; saw {seen:#?}"),
        };
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "one line per message, without its CRLF: {line:?}"
        );
        if line.contains(what) {
            return line;
        }
        seen.push(line);
    }
}

fn server() -> TestServer {
    TestServer::with_irc_ws(config(), ShellOptions::default())
}

#[test]
fn a_web_client_and_a_natter_user_talk_both_ways_in_text_and_binary() {
    let server = server();
    for (user, subprotocol, binary) in [
        ("alice", "text.ircv3.net", false),
        ("carol", "binary.ircv3.net", true),
    ] {
        let mut ws = connect(server.irc_ws_addr.unwrap(), subprotocol);
        send(&mut ws, &format!("PASS {}", password_of(user)), binary);
        // A trailing CRLF is accepted and dropped.
        send(&mut ws, &format!("NICK {user}\r\n"), binary);
        send(&mut ws, &format!("USER {user} 0 * :{user}"), binary);
        expect(&mut ws, &format!(" 001 {user} "), binary);
        let mut bob = server.login("bob");
        send(&mut ws, "PRIVMSG bob :hello from the web", binary);
        bob.expect("the web user's message", |m| {
            matches!(m, ServerMsg::Message { from, text, .. } if &**from == user && text == "hello from the web")
        });
        bob.say(&format!("message {user} hello from natter"));
        let got = expect(&mut ws, &format!("PRIVMSG {user}"), binary);
        assert!(
            got.ends_with(&format!(
                ":bob!bob@natter PRIVMSG {user} :hello from natter"
            )),
            "{got}"
        );
        send(&mut ws, "QUIT :done", binary);
        expect(&mut ws, "ERROR :Closing link", binary);
        // The goodbye is followed by a close frame.
        assert!(
            matches!(ws.read(), Ok(Message::Close(_))),
            "a close frame after the goodbye"
        );
    }
}

#[test]
fn a_message_past_the_line_limit_is_answered_as_a_too_long_line() {
    let server = server();
    let mut ws = connect(server.irc_ws_addr.unwrap(), "text.ircv3.net");
    send(&mut ws, &format!("PASS {}", password_of("alice")), false);
    send(&mut ws, "NICK alice", false);
    send(&mut ws, "USER alice 0 * :alice", false);
    expect(&mut ws, " 001 alice ", false);
    // Past IRC's 512 bytes, and past natter's line limit (the line decoder's): both 417, as on the
    // IRC port, and the connection goes on.
    for length in [600, natter_core::protocol::MAX_LINE + 100] {
        send(
            &mut ws,
            &format!("PRIVMSG bob :{}", "x".repeat(length)),
            false,
        );
        expect(&mut ws, " 417 alice :Input line was too long", false);
    }
    send(&mut ws, "PING :still here", false);
    expect(&mut ws, "PONG", false);
    // WebSocket's own ping is answered by the transport.
    ws.send(Message::Ping(b"web".to_vec().into())).unwrap();
    assert!(matches!(ws.read(), Ok(Message::Pong(p)) if &p[..] == b"web"));
    // Past what the WebSocket layer assembles at all (four times the line limit): closed with
    // WebSocket's 1009 (message too big); a client still sending when the server closes may see a
    // reset instead of the close frame.
    let _ = ws.send(Message::text(format!(
        "PRIVMSG bob :{}",
        "x".repeat(natter_core::protocol::MAX_LINE * 4)
    )));
    loop {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => {
                assert_eq!(
                    frame.code,
                    tungstenite::protocol::frame::coding::CloseCode::Size
                );
                break;
            }
            Ok(Message::Text(t)) => assert!(!t.contains(" 001 "), "{t}"),
            Ok(other) => panic!("{other:?}"),
            Err(_) => break,
        }
    }
    assert!(ws.read().is_err(), "the connection is over");
}

#[test]
fn a_request_that_is_no_websocket_upgrade_gets_a_400_and_is_closed() {
    let server = server();
    let mut stream = TcpStream::connect(server.irc_ws_addr.unwrap()).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    // An IRC client at the WebSocket port: not HTTP at all.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("not a WebSocket upgrade"), "{answer}");
}

#[test]
fn a_handshake_that_never_finishes_is_bounded_like_a_login() {
    let server = TestServer::with_irc_ws(
        natter_core::server::Config {
            login_timeout_secs: 1,
            ..config()
        },
        ShellOptions::default(),
    );
    let mut stream = TcpStream::connect(server.irc_ws_addr.unwrap()).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    // Half a request, and then nothing: the connection is closed when a login would be.
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(
        started.elapsed() < PATIENCE,
        "closed by the login timeout, not by the test's patience"
    );
}

#[test]
fn with_tls_the_websocket_port_speaks_wss() {
    use rustls::pki_types::pem::PemObject;
    let port = {
        // A free port for the server to take (released just before it starts).
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let server = Server::cmd()
        .tls()
        .args(&["--irc-ws-port", &port.to_string()])
        .start();
    let pem = std::fs::read(server.path("natter-data/tls-cert.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut request = format!("wss://localhost:{port}/")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "text.ircv3.net".parse().unwrap());
    let (mut ws, _) =
        tungstenite::client(request, rustls::StreamOwned::new(tls, tcp)).expect("a wss handshake");
    let line = |ws: &mut WebSocket<_>| match ws.read().unwrap() {
        Message::Text(t) => t.as_str().to_owned(),
        other => panic!("{other:?}"),
    };
    ws.send(Message::text(format!("PASS {}", password_of("alice"))))
        .unwrap();
    ws.send(Message::text("NICK alice")).unwrap();
    ws.send(Message::text("USER alice 0 * :alice")).unwrap();
    while !line(&mut ws).contains(" 001 alice ") {}
    ws.send(Message::text("PING :over wss")).unwrap();
    while !line(&mut ws).contains("PONG") {}
}
