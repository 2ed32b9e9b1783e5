//! A logged-in user's line: parsed, its effect on the session (activity, the client's acknowledging),
//! then the rule of its command, each in the file of its family.

use super::{MAcks, MPasswd, MPhase, Model, Out};
use natter_core::protocol::{
    ByeReason, Command, CommandName, ErrorReply, ParseError, Prompt, ServerMsg, parse_command,
};
use natter_core::server::ConnId;

impl Model {
    /// A logged-in user's line: the parse, what every command does to the session (activity, the
    /// client's acknowledging), then the command's rule.
    pub(super) fn command(&mut self, conn: ConnId, text: &str, out: &mut Out) {
        let cmd = match parse_command(text) {
            Ok(cmd) => cmd,
            Err(e) => {
                out.send(
                    conn,
                    match e {
                        ParseError::Empty => ErrorReply::EmptyLine,
                        ParseError::Unknown => ErrorReply::UnknownCommand,
                        ParseError::Usage(command) => ErrorReply::Usage { command },
                        ParseError::BadNumber(command) => ErrorReply::BadNumber { command },
                        ParseError::BadKey(why) => ErrorReply::BadKey(why),
                        ParseError::TooManyKeys => ErrorReply::KeysPerLine { max: 20 },
                    },
                );
                return;
            }
        };
        let now = self.now;
        let me = match &mut self.conns.get_mut(&conn).expect("open conn").phase {
            MPhase::Online {
                user,
                last_cmd,
                warned,
                ..
            } => {
                if is_activity(&cmd) {
                    *last_cmd = now;
                    *warned = false;
                }
                user.clone()
            }
            _ => unreachable!("commands come after login"),
        };
        // The first command other than `acks` says the client does not acknowledge.
        if !matches!(cmd, Command::Acks { .. })
            && matches!(
                self.conns[&conn].phase,
                MPhase::Online {
                    acks: MAcks::Undecided,
                    ..
                }
            )
        {
            self.set_acks(conn, &me, false, out);
        }
        match cmd {
            Command::Passwd => {
                self.set_passwd(conn, MPasswd::Current);
                out.send(conn, ServerMsg::Prompt(Prompt::CurrentPassword));
            }
            // The simulated servers configure no operator: `oper` asks the password and refuses
            // it, and nobody may `kill` or `wallops`.
            Command::Oper { .. } => {
                self.set_passwd(conn, MPasswd::Oper);
                out.send(conn, ServerMsg::Prompt(Prompt::OperatorPassword));
            }
            Command::Kill { .. } | Command::Wallops { .. } => {
                out.send(conn, ErrorReply::NotOperator)
            }
            Command::Message { to, text } | Command::Note { to, text } => {
                self.message(conn, &me, to, text, out)
            }
            Command::Broadcast { text } => self.broadcast(conn, &me, text, out),
            Command::Offline => self.offline(conn, &me, out),
            Command::Ack { id } => self.ack(conn, &me, id, out),
            Command::Acks { on } => self.set_acks(conn, &me, on, out),
            Command::Receipts { on } => self.set_receipts(conn, on),
            Command::MessageGroup { group, text } => {
                self.message_group(conn, &me, group, text, out)
            }
            Command::CreateGroup { group, members } => {
                self.create_group(conn, &me, group, &members, out)
            }
            Command::GroupAdd { group, user } => self.group_add(conn, &me, group, user, out),
            Command::GroupJoin { group, .. } => self.group_join(conn, &me, group, out),
            Command::GroupDecline { group } => self.group_decline(conn, &me, group, out),
            Command::GroupRemove {
                group,
                user,
                reason,
            } => self.group_remove(conn, &me, group, user, reason, out),
            Command::GroupTopic { group, text } => self.group_topic(conn, &me, group, text, out),
            Command::GroupOwner { group, user } => self.group_owner(conn, &me, group, user, out),
            Command::GroupMode { group, setting } | Command::GroupSet { group, setting } => {
                self.group_set(conn, &me, group, setting, out)
            }
            // Not modelled: the simulator's clients never send it (the core's tests cover it).
            Command::GroupRules { .. } => {}
            Command::Away { reason } => self.away(conn, &me, reason, out),
            // The model logs in accounts only, whose names never change.
            Command::Nick { .. } => out.send(conn, ErrorReply::NickIsAccount),
            Command::RealName { text } => self.real_name(conn, &me, text, out),
            Command::Whois { user } => self.whois(conn, &me, user, out),
            Command::GroupLeave { group, .. } => self.group_leave(conn, &me, group, out),
            Command::GroupMembers { group } => self.group_members(conn, &me, group, out),
            Command::GroupList => self.group_list(conn, &me, out),
            Command::Groups => self.group_directory(conn, &me, out),
            Command::WhoElse => self.answer_whoelse(conn, &me, out),
            Command::WhoElseSince { secs } => self.answer_whoelsesince(conn, &me, secs, out),
            Command::WhoLastHr => self.answer_whoelsesince(conn, &me, 3600, out),
            Command::Ping { user } => self.ping(conn, &me, user, out),
            Command::Block { user } => self.block(conn, &me, user, out),
            Command::Unblock { user } => self.unblock(conn, &me, user, out),
            Command::Blocks => {
                let users = self.user_mut(&me).blocks.iter().cloned().collect();
                out.send(conn, ServerMsg::Blocks { users });
            }
            Command::P2pPort { port } => self.set_p2p_port(conn, port, out),
            Command::StartPrivate { user } => self.start_private(conn, &me, user, out),
            Command::Accept { user } => self.accept(conn, &me, user, out),
            Command::Decline { user } => self.decline(conn, &me, user, out),
            Command::StopPrivate { user } => self.stop_private(conn, &me, user, out),
            Command::KeysIdentity {
                curve25519,
                ed25519,
            } => self.keys_identity(conn, &me, curve25519, ed25519, out),
            Command::KeysAdd { keys } => self.keys_add(conn, &me, keys, out),
            Command::KeysFallback { key } => self.keys_fallback(conn, &me, key, out),
            Command::KeysClaim { user } => self.keys_claim(conn, &me, user, out),
            Command::KeysShow { user } => self.keys_show(conn, user, out),
            Command::Logout => self.close(conn, ByeReason::Logout, out),
            Command::Help => {
                for command in CommandName::listed() {
                    out.send(conn, ServerMsg::Help { command });
                }
            }
            Command::Active => {}
            // The IRC front's queries read and change nothing the model checks (`userinfo` is
            // shown only by them); the simulator does not type them yet, so the model does not
            // answer them (docs/IRC.md: the core's tests and irctest cover them).
            Command::Who { .. }
            | Command::Whowas { .. }
            | Command::Lusers
            | Command::UserInfo { .. }
            | Command::Bot { .. } => {}
            Command::Signal { to, tags } => self.signal(conn, &me, to, tags, out),
            Command::SignalGroup { group, tags } => self.signal_group(conn, &me, group, tags, out),
        }
    }
}

/// Whether a command resets the idle clock: everything the user does, but not what the client sends on its
/// own (acknowledgements, port registration).
fn is_activity(cmd: &Command<'_>) -> bool {
    !matches!(
        cmd,
        Command::Ack { .. }
            | Command::P2pPort { .. }
            | Command::Receipts { .. }
            | Command::Acks { .. }
            | Command::KeysIdentity { .. }
            | Command::KeysAdd { .. }
            | Command::KeysFallback { .. }
            | Command::UserInfo { .. }
            | Command::Note { .. }
    )
}
