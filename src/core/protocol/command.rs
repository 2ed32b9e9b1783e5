//! What a logged-in client can ask of the server, and the one table that describes each command.
//!
//! Like ngircd's and InspIRCd's command tables, everything said about a command lives in one row: its
//! name and arguments, its words, its usage line, whether it counts as activity for the idle timeout,
//! whether `help` lists it, and which rule of the server carries it out. The command enum, its wire
//! form, the help text, the usage errors, the idle rule, flood control's classes and the server's
//! command table all come from this table, so they cannot drift apart; only the grammar of each
//! command's arguments is the parser's (`parse.rs`).

use std::fmt;

use super::group_change::GroupChange;
use super::keys::SignedKeyRef;

/// One of a group's settings, which only its owner may change: `group mode` (who may join) and
/// `group set` (who may add, who may set the topic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupSetting {
    /// Anyone may join by name (`true`), or only the invited (`false`, the default).
    Open(bool),
    /// Members add others directly (`true`), or invite them (`false`, the default).
    AddDirect(bool),
    /// Any member may set the topic (`true`), or only the owner (`false`, the default).
    TopicByMembers(bool),
}

/// The command table: every command a logged-in client may send, in the order `help` lists it, with
/// everything said about it anywhere but its grammar (`parse.rs`) and its rule's code:
///
/// ```text
/// Variant {                      the `Command` variant: its arguments, in wire order, each with a
///     /// what it holds          doc comment saying what it holds
///     field: Type, ...
/// }
///     => "word" ["second word"]   its words on the wire (a family's members share the first)
///     usage("...")                the usage line, shown by `help` and on wrong arguments
///     summary("...")              its line in `help`
///     activity | bookkeeping      whether it resets the idle timeout (bookkeeping: what a client
///                                 sends on its own, charged to the bookkeeping bucket of flood control)
///     listed | unlisted           whether `help` and the unknown-command error offer it
///     rule(s, c => ...)           what the server does with it: `s` the state, `c` the call (the
///                                 connection, its user `me`, `now`, and `out` for the effects)
/// ```
///
/// Like the wire's table (`lines.rs`), it is a macro that hands every row to a callback: this module
/// makes the names, the rows of [`COMMANDS`], [`Command`] and its wire form from it, and the server's
/// core expands the `rule` column into its command table (`server::state::input`), so the protocol
/// depends on no rule. A new command is a row here, its grammar in `parse.rs`, and its rule.
macro_rules! command_table {
    ($cb:ident) => {
        $crate::protocol::command::command_rows! { $cb;
            /// `text` is kept exactly as typed after the single space that follows the username.
            Message {
                /// The recipient's name, as typed.
                to: &'a str,
                /// The message, exactly as typed after the single space that follows the username.
                text: &'a str,
            } => "message"
                usage("message <user> <text>")
                summary("send <text> to <user>; kept for them if they are offline")
                activity listed
                rule(s, c => s.messaging().message(c.conn, c.me, c.receipts, to, text, c.now, c.out)),
            /// `note <user> <text>`: a message the client makes on its own, not the user (the
            /// end-to-end confirmation that a session is set up): delivered, kept and answered
            /// exactly as `message`, but the user did nothing, so it leaves the idle timeout where it
            /// was. Flood control still charges it as a message (`connections::flow`), so a client
            /// cannot send twice as many messages by calling half of them notes.
            Note {
                /// The recipient's name, as typed.
                to: &'a str,
                /// The message, exactly as typed after the single space that follows the username.
                text: &'a str,
            } => "note"
                usage("note <user> <text>")
                summary("(sent by the client) a message the client makes on its own: sent as message is, without resetting the idle timeout")
                bookkeeping unlisted
                rule(s, c => s.messaging().message(c.conn, c.me, c.receipts, to, text, c.now, c.out)),
            /// `message group <group> <text>`.
            MessageGroup {
                /// The group's name, as typed.
                group: &'a str,
                /// The message, exactly as typed after the group's name and one space.
                text: &'a str,
            } => "message" "group"
                usage("message group <name> <text>")
                summary("send <text> to every member of group <name>; kept for members who are offline")
                activity listed
                rule(s, c => s.group_rules().message(c.conn, c.me, group, text, c.now, c.out)),
            /// `signal <user> <tags>`: something that is no message (`typing=active`), to `user` if
            /// online; never kept (`protocol::signal`).
            Signal {
                /// The username, as typed.
                to: &'a str,
                /// The signal's tags, `key[=value][;…]`, checked by the rule.
                tags: &'a str,
            } => "signal"
                usage("signal <user> <key>[=<value>][;...]")
                summary("(sent by the client) tell <user>, if online, something that is no message, such as typing=active; never kept")
                activity unlisted
                rule(s, c => s.signals().user(c.conn, c.me, to, tags, c.now, c.out)),
            /// `signal group <group> <tags>`: a signal to every member of a group online.
            SignalGroup {
                /// The group's name, as typed.
                group: &'a str,
                /// The signal's tags, `key[=value][;…]`, checked by the rule.
                tags: &'a str,
            } => "signal" "group"
                usage("signal group <name> <key>[=<value>][;...]")
                summary("(sent by the client) tell the members of group <name> online something that is no message; never kept")
                activity unlisted
                rule(s, c => s.signals().group(c.conn, c.me, group, tags, c.now, c.out)),
            Broadcast {
                /// The broadcast: the rest of the line, as typed.
                text: &'a str,
            } => "broadcast"
                usage("broadcast <text>")
                summary("send <text> to everyone online")
                activity listed
                rule(s, c => s.messaging().broadcast(c.conn, c.me, text, c.out)),
            WhoElse => "whoelse"
                usage("whoelse")
                summary("list the other users online now")
                activity listed
                rule(s, c => s.presence().whoelse(c.conn, c.me, c.out)),
            WhoElseSince {
                /// How far back to look, in seconds.
                secs: u64,
            } => "whoelsesince"
                usage("whoelsesince <seconds>")
                summary("list the users online at any time in the past <seconds>")
                activity listed
                rule(s, c => s.presence().whoelsesince(c.conn, c.me, secs, c.now, c.out)),
            Block {
                /// The user to block, as typed.
                user: &'a str,
            } => "block"
                usage("block <user>")
                summary("stop <user>'s messages and presence reaching you (they are told so if they message you; /ignore is the silent form)")
                activity listed
                rule(s, c => s.block(c.conn, c.me, user, c.out)),
            Unblock {
                /// The user to unblock, as typed.
                user: &'a str,
            } => "unblock"
                usage("unblock <user>")
                summary("undo a block")
                activity listed
                rule(s, c => s.block_list().unblock(c.conn, c.me, user, c.out)),
            Blocks => "blocks"
                usage("blocks")
                summary("list the users you block")
                activity listed
                rule(s, c => s.block_list().list(c.conn, c.me, c.out)),
            StartPrivate {
                /// The user asked for a private chat, as typed.
                user: &'a str,
            } => "startprivate"
                usage("startprivate <user>")
                summary("ask <user> for a direct, peer-to-peer private chat")
                activity listed
                rule(s, c => s.brokering().startprivate(c.conn, c.me, user, c.now, c.out)),
            Accept {
                /// The user whose request to accept.
                user: &'a str,
            } => "accept"
                usage("accept <user>")
                summary("accept <user>'s request for a private chat")
                activity listed
                rule(s, c => s.brokering().accept(c.conn, c.me, user, c.out)),
            Decline {
                /// The user whose request to decline.
                user: &'a str,
            } => "decline"
                usage("decline <user>")
                summary("decline <user>'s request for a private chat")
                activity listed
                rule(s, c => s.brokering().decline(c.conn, c.me, user, c.out)),
            StopPrivate {
                /// The other side of the private chat to end.
                user: &'a str,
            } => "stopprivate"
                usage("stopprivate <user>")
                summary("end the private chat with <user>")
                activity listed
                rule(s, c => s.brokering().stopprivate(c.conn, c.me, user, c.out)),
            /// `create group <group> [<member>...]`: the creator owns the group and is its only
            /// member; each member named is invited (a name given twice counts once).
            CreateGroup {
                /// The new group's name, as typed (the rule checks it).
                group: &'a str,
                /// The users to invite besides the creator, as typed, in the order typed.
                members: Vec<&'a str>,
            } => "create" "group"
                usage("create group <name> [<member>...]")
                summary("create group <name>, owned by you, and invite the users named")
                activity listed
                rule(s, c => s.group_rules().create(c.conn, c.me, group, &members, c.now, c.out)),
            /// `group add <group> <user>`: an invitation, or a direct add if the owner allows it.
            GroupAdd {
                /// The group, which the sender must belong to.
                group: &'a str,
                /// The user to invite (or add), as typed.
                user: &'a str,
            } => "group" "add"
                usage("group add <name> <user>")
                summary("invite <user> to a group you belong to (or add them, if its owner lets members add directly)")
                activity listed
                rule(s, c => s.group_rules().add(c.conn, c.me, group, user, c.now, c.out)),
            /// `group join <group> [<key>]`: accept an invitation, or join an open group.
            GroupJoin {
                /// The group to join.
                group: &'a str,
                /// The group's key, for a group that has one (an invitation needs none).
                key: Option<&'a str>,
            } => "group" "join"
                usage("group join <name> [<key>]")
                summary("accept an invitation to a group, or join an open group (with its key, if it has one)")
                activity listed
                rule(s, c => s.group_rules().join(c.conn, c.me, group, key, c.now, c.out)),
            /// `group decline <group>`: refuse an invitation.
            GroupDecline {
                /// The group whose invitation to decline.
                group: &'a str,
            } => "group" "decline"
                usage("group decline <name>")
                summary("decline an invitation to a group")
                activity listed
                rule(s, c => s.group_rules().decline(c.conn, c.me, group, c.now, c.out)),
            /// `group leave <group> [<reason>]`.
            GroupLeave {
                /// The group to leave.
                group: &'a str,
                /// Why, told to the members (the rest of the line, as typed).
                reason: Option<&'a str>,
            } => "group" "leave"
                usage("group leave <name> [<reason>]")
                summary("leave a group, saying why if you like (its owner's place goes to the longest-standing member; the last to leave ends it)")
                activity listed
                rule(s, c => s.group_rules().leave(c.conn, c.me, group, reason, c.out)),
            GroupMembers {
                /// The group whose members to list.
                group: &'a str,
            } => "group" "members"
                usage("group members <name>")
                summary("list the members of a group you belong to")
                activity listed
                rule(s, c => s.group_rules().members(c.conn, c.me, group, c.out)),
            /// `group remove <group> <user> [<reason>]`: the reason is kept exactly as typed.
            GroupRemove {
                /// The group, which the sender must own.
                group: &'a str,
                /// The member to remove, as typed.
                user: &'a str,
                /// Why, told to the member removed (the rest of the line, as typed).
                reason: Option<&'a str>,
            } => "group" "remove"
                usage("group remove <name> <user> [<reason>]")
                summary("(owner) remove <user> from your group; they are told the reason")
                activity listed
                rule(s, c => s.group_rules().remove(c.conn, c.me, group, user, reason, c.out)),
            /// `group topic <group> [<text>]`: without text, shows the topic.
            GroupTopic {
                /// The group, which the sender must belong to.
                group: &'a str,
                /// The new topic (`-` clears it); none shows the topic.
                text: Option<&'a str>,
            } => "group" "topic"
                usage("group topic <name> [<text>]")
                summary("show a group's topic, or set it (its owner, or any member if the owner allows)")
                activity listed
                rule(s, c => s.group_rules().topic(c.conn, c.me, group, text, c.out)),
            /// `group owner <group> <user>`: hand ownership on to a member.
            GroupOwner {
                /// The group, which the sender must own.
                group: &'a str,
                /// The member to hand the group on to, as typed.
                user: &'a str,
            } => "group" "owner"
                usage("group owner <name> <user>")
                summary("(owner) hand the ownership of your group on to another member")
                activity listed
                rule(s, c => s.group_rules().hand_on(c.conn, c.me, group, user, c.out)),
            /// `group mode <group> invite|open`: always a [`GroupSetting::Open`].
            GroupMode {
                /// The group, which the sender must own.
                group: &'a str,
                /// The setting chosen.
                setting: GroupSetting,
            } => "group" "mode"
                usage("group mode <name> invite|open")
                summary("(owner) whether joining your group needs an invitation, or anyone may join")
                activity listed
                rule(s, c => s.group_rules().set(c.conn, c.me, group, setting, c.out)),
            /// `group set <group> add direct|invite` or `group set <group> topic members|owner`.
            GroupSet {
                /// The group, which the sender must own.
                group: &'a str,
                /// The setting chosen.
                setting: GroupSetting,
            } => "group" "set"
                usage("group set <name> add direct|invite, or group set <name> topic members|owner")
                summary("(owner) whether members add directly or invite, and who may set the topic")
                activity listed
                rule(s, c => s.group_rules().set(c.conn, c.me, group, setting, c.out)),
            /// `group rules <group> [<change>…]`: without changes, shows the group's rules.
            GroupRules {
                /// The group, which the sender must belong to (and, to change it, be an operator of).
                group: &'a str,
                /// The changes, in order (`group_change.rs` says the words); none shows the rules.
                changes: Vec<GroupChange>,
            } => "group" "rules"
                usage("group rules <name> [<change>...]")
                summary("show a group's rules, or (operator) change them: key <k>|no-key, limit <n>|no-limit, op|deop|voice|devoice <user>, ban|unban <mask>, allow|disallow <mask> (join uninvited), except|unexcept <mask> (not banned), no-ctcp|ctcp, secret|listed, moderated|unmoderated, external|members-only, open|invite, topic-members|topic-ops")
                activity listed
                rule(s, c => s.group_rules().rules(c.conn, c.me, group, &changes, c.out)),
            /// `groups`: the groups the sender may see, theirs and others' (`groups` in
            /// `server::groups::directory`).
            Groups => "groups"
                usage("groups")
                summary("list the groups you may see: yours, and others' that anyone may join (unless secret)")
                activity listed
                rule(s, c => s.group_rules().directory(c.conn, c.me, c.out)),
            GroupList => "grouplist"
                usage("grouplist")
                summary("list the groups you belong to, with their members")
                activity listed
                rule(s, c => s.group_rules().list(c.conn, c.me, c.out)),
            /// `away [<reason>]`: with a reason, away; without, back.
            Away {
                /// Why the sender is away; none marks them back.
                reason: Option<&'a str>,
            } => "away"
                usage("away [<reason>]")
                summary("mark yourself away with <reason> (others see it); 'away' alone marks you back")
                activity listed
                rule(s, c => s.away(c.conn, c.me, reason, c.out)),
            /// `realname <text>`: the real name shown beside the sender's name (told, not kept).
            RealName {
                /// The real name, as the rest of the line.
                text: &'a str,
            } => "realname"
                usage("realname <text>")
                summary("tell those who see you your real name (what IRC shows beside your name)")
                activity unlisted
                rule(s, c => s.set_real_name(c.conn, c.me, text, c.out)),
            /// `nick <name>`: a guest takes another free name (an account's name is the account).
            Nick {
                /// The name asked for, as typed.
                name: &'a str,
            } => "nick"
                usage("nick <name>")
                summary("(guests) take another free name; an account's name is the account's")
                activity unlisted
                rule(s, c => s.rename_guest(c.conn, c.me, name, c.now, c.out)),
            /// `whois <user>`: presence, idle time, since when, shared groups and away reason.
            Whois {
                /// The user asked about, as typed.
                user: &'a str,
            } => "whois"
                usage("whois <user>")
                summary("whether <user> is online, idle how long, since when, your shared groups, and why away")
                activity listed
                rule(s, c => s.presence().whois(c.conn, c.me, user, c.now, c.out)),
            /// `who <mask>`: the users online whose name matches, or a group's members.
            Who {
                /// A name, a pattern (`*` any run of characters, `?` one), or `#group`, as typed.
                mask: &'a str,
            } => "who"
                usage("who <name>|<pattern>|#<group>")
                summary("list the users online whose name matches (* and ? as wildcards), or a group's members, with their state (IRC's WHO; the natter client's 'who' is whoelse)")
                activity unlisted
                rule(s, c => s.presence().who(c.conn, c.me, mask, c.now, c.out)),
            /// `whowas <user> [<count>]`: the last sessions of that name that ended.
            Whowas {
                /// The name asked about, as typed.
                user: &'a str,
                /// At most this many (none: every one the server keeps).
                count: Option<u64>,
            } => "whowas"
                usage("whowas <user> [<count>]")
                summary("the last sessions of <user> that ended, newest first (at most <count>)")
                activity listed
                rule(s, c => s.presence().whowas(c.conn, c.me, user, count, c.out)),
            Lusers => "lusers"
                usage("lusers")
                summary("how many users are online, logging in and online at most, and how many groups there are")
                activity listed
                rule(s, c => s.presence().lusers(c.conn, c.out)),
            /// `userinfo <username> <real name>`: what `who` and `whowas` show of this session.
            UserInfo {
                /// One word: the user name an IRC client gave with `USER`.
                username: &'a str,
                /// The rest of the line: the real name.
                realname: &'a str,
            } => "userinfo"
                usage("userinfo <username> <real name>")
                summary("(sent by the client) the user name and real name who and whowas show of this session (what an IRC client gives with USER)")
                bookkeeping unlisted
                rule(s, c => s.sessions.set_about(c.conn, username, realname)),
            Ping {
                /// The user asked about, as typed.
                user: &'a str,
            } => "ping"
                usage("ping <user>")
                summary("whether <user> is online (and idle how long) and whether your messages reach them")
                activity listed
                rule(s, c => s.presence().ping(c.conn, c.me, user, c.now, c.out)),
            WhoLastHr => "wholasthr"
                usage("wholasthr")
                summary("list the users online at any time in the last hour (whoelsesince 3600)")
                activity listed
                rule(s, c => s.presence().whoelsesince(c.conn, c.me, 3600, c.now, c.out)),
            Offline => "offline"
                usage("offline")
                summary("show again the messages that were waiting for you at this login")
                activity listed
                rule(s, c => s.messaging().offline(c.conn, c.me, c.out)),
            Logout => "logout"
                usage("logout")
                summary("log out and disconnect")
                activity listed
                rule(s, c => s.close_with(c.conn, ByeReason::Logout, c.now, c.out)),
            /// `passwd`: the next lines are the current password, then the new one.
            Passwd => "passwd"
                usage("passwd")
                summary("change your password (the server asks for the current one, then the new one)")
                activity listed
                rule(s, c => s.login().passwd(c.conn, c.out)),
            /// `oper <name>`: the next line is that operator's password (from the server's
            /// configuration); right, this session is the operator's until it ends.
            Oper {
                /// The operator's name, as typed.
                name: &'a str,
            } => "oper"
                usage("oper <name>")
                summary("become the server's operator (the server asks for the operator's password)")
                activity listed
                rule(s, c => s.login().oper(c.conn, name, c.out)),
            /// `kill <user> [<reason>]`: (operators) ends `user`'s session, as `natter-server admin
            /// kick` does.
            Kill {
                /// The user whose session ends, as typed.
                user: &'a str,
                /// Told to them before it ends.
                reason: Option<&'a str>,
            } => "kill"
                usage("kill <user> [<reason>]")
                summary("(operator) end a user's session, telling them <reason>")
                activity listed
                rule(s, c => s.kill(c.conn, c.me, user, reason, c.now, c.out)),
            /// `wallops <text>`: (operators) a message to every operator online.
            Wallops {
                /// What to say, as the rest of the line.
                text: &'a str,
            } => "wallops"
                usage("wallops <text>")
                summary("(operator) say <text> to every operator online")
                activity listed
                rule(s, c => s.wallops(c.conn, c.me, text, c.out)),
            Help => "help"
                usage("help")
                summary("show this list")
                activity listed
                rule(s, c => for command in CommandName::listed() {
                    send(c.out, c.conn, ServerMsg::Help { command })
                }),
            P2pPort {
                /// The TCP port the client's private-chat listener is bound to (1 to 65535).
                port: u16,
            } => "p2pport"
                usage("p2pport <port>")
                summary("(sent by the client) register the TCP port of your private-chat listener")
                bookkeeping unlisted
                rule(s, c => s.brokering().p2pport(c.conn, port, c.out)),
            Active => "active"
                usage("active")
                summary("(sent by the client) report private-chat activity, which resets the idle timeout")
                activity unlisted
                // Resetting the idle clock (as every `activity` command does) is the whole effect.
                rule(s, c => ()),
            Ack {
                /// The id of the last message shown: every message sent on this connection up to it is
                /// acknowledged.
                id: u64,
            } => "ack"
                usage("ack <id>")
                summary("(sent by the client) confirm that the messages sent up to <id> were shown")
                bookkeeping unlisted
                rule(s, c => s.messaging().ack(c.conn, c.me, id, c.out)),
            /// `bot on|off`: whether this session's client is a bot (IRCv3's bot mode), which
            /// `who` shows to everyone.
            Bot {
                /// Whether it is one from now on.
                on: bool,
            } => "bot"
                usage("bot on|off")
                summary("(sent by the client) say whether this client is a bot (who shows it)")
                bookkeeping unlisted
                rule(s, c => s.sessions.set_bot(c.conn, on)),
            Receipts {
                /// Whether to be told `SENT` and `DELIVERED` from now on.
                on: bool,
            } => "receipts"
                usage("receipts on|off")
                summary("(sent by the client) be told SENT and DELIVERED for each message to an online user")
                bookkeeping unlisted
                rule(s, c => s.sessions.set_receipts(c.conn, on)),
            /// `acks on|off`: whether this client acknowledges every message it shows (see
            /// docs/PROTOCOL.md).
            Acks {
                /// Whether this client acknowledges every message it shows from now on.
                on: bool,
            } => "acks"
                usage("acks on|off")
                summary("(sent by the client) on: this client acknowledges the messages it shows, so keep each until it does")
                bookkeeping unlisted
                rule(s, c => s.delivery().set_acks(c.conn, on, c.out)),
            // The key directory of end-to-end encryption: publishing is the client's own bookkeeping;
            // claiming and looking up someone's keys is the user starting a conversation.
            /// `keys identity <curve25519> <ed25519>`, both checked for shape.
            KeysIdentity {
                /// The account's Curve25519 identity key, checked for shape.
                curve25519: &'a str,
                /// The account's Ed25519 identity key, which signs its other keys; checked for shape.
                ed25519: &'a str,
            } => "keys" "identity"
                usage("keys identity <curve25519> <ed25519>")
                summary("(sent by the client) publish this account's identity keys; new ones replace the old and drop their keys")
                bookkeeping unlisted
                rule(s, c => s.key_rules().identity(c.conn, c.me, curve25519, ed25519, c.out)),
            /// `keys add <key>...`: 1 to [`MAX_KEYS_PER_LINE`](super::keys::MAX_KEYS_PER_LINE) one-time
            /// keys.
            KeysAdd {
                /// The one-time keys, each checked for shape.
                keys: Vec<SignedKeyRef<'a>>,
            } => "keys" "add"
                usage("keys add <keyid>:<curve25519>:<signature> [...]")
                summary("(sent by the client) publish up to 20 one-time keys (an account holds at most 100)")
                bookkeeping unlisted
                rule(s, c => s.key_rules().add(c.conn, c.me, &keys, c.out)),
            KeysFallback {
                /// The fallback key, checked for shape.
                key: SignedKeyRef<'a>,
            } => "keys" "fallback"
                usage("keys fallback <keyid>:<curve25519>:<signature>")
                summary("(sent by the client) publish the fallback key, handed out when no one-time key is left")
                bookkeeping unlisted
                rule(s, c => s.key_rules().fallback(c.conn, c.me, key, c.out)),
            KeysClaim {
                /// Whose keys to take, as typed.
                user: &'a str,
            } => "keys" "claim"
                usage("keys claim <user>")
                summary("(sent by the client) take <user>'s identity keys and one of their one-time keys, to start an encrypted session")
                activity unlisted
                rule(s, c => s.key_rules().claim(c.conn, c.me, user, c.out)),
            KeysShow {
                /// Whose keys to look up, as typed.
                user: &'a str,
            } => "keys" "show"
                usage("keys show <user>")
                summary("(sent by the client) look up <user>'s identity keys (nothing is taken)")
                activity unlisted
                rule(s, c => s.key_rules().show(c.conn, user, c.out)),
        }
    };
}

/// Reads the command table's row grammar, once, and hands `$cb` every row in one fixed form, a braced
/// group of columns in this order:
///
/// ```text
/// { [attributes] Variant [declared] [field ...] "word" ["second"] "usage" "summary" activity listed
///   (s, c => rule) }
/// ```
///
/// `declared` is what follows the variant's name in its declaration (`{ field: Type, ... }` or
/// nothing). A callback matches the columns it reads, and may end with `$($rest:tt)*`.
macro_rules! command_rows {
    ($cb:ident; $(
        $(#[$m:meta])*
        $V:ident $({ $( $(#[$fm:meta])* $f:ident : $T:ty ),* $(,)? })? => $word:literal $($sub:literal)?
            usage($usage:literal)
            summary($summary:literal)
            $activity:ident $listed:ident
            rule($s:ident, $c:ident => $rule:expr)
    ),* $(,)?) => {
        $cb! { $( {
            [$(#[$m])*] $V [$({ $( $(#[$fm])* $f: $T ),* })?] [$($($f)*)?] $word [$($sub)?] $usage $summary
            $activity $listed ($s, $c => $rule)
        } )* }
    };
}

pub(crate) use {command_rows, command_table};

/// One row of the command table, as far as the protocol reads it.
#[derive(Debug)]
pub struct CommandSpec {
    /// The command this row describes.
    pub name: CommandName,
    /// The word typed on the wire (matched case-insensitively).
    pub word: &'static str,
    /// The second word, for the commands that share their first (`message group`, `group add`, ...).
    pub sub: Option<&'static str>,
    /// The usage line shown on a wrong number of arguments and in `help`.
    pub usage: &'static str,
    /// One line for `help`.
    pub summary: &'static str,
    /// Whether issuing it resets the idle timeout. Commands a client sends on its own (acknowledgements,
    /// port registration) are not the user being active; `active` is the client reporting private-chat use,
    /// which is.
    pub activity: bool,
    /// Whether `help` and the unknown-command error list it. Client-internal commands are documented in
    /// docs/PROTOCOL.md but not offered to people typing at a prompt.
    pub listed: bool,
}

/// The protocol's columns of the table: [`CommandName`], [`COMMANDS`], [`Command`], [`Command::name`]
/// and the wire form of a command.
macro_rules! define_commands {
    ($( {
        [$($m:tt)*] $V:ident [$($decl:tt)*] [$($f:ident)*] $word:literal [$($sub:literal)?]
        $usage:literal $summary:literal $activity:ident $listed:ident $($rest:tt)*
    } )*) => {
        /// A command's name: the first word of a line (and the second, for a family's member).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CommandName {
            $(
                #[doc = concat!("`", $usage, "`; in `help`: `", $summary, "`.")]
                $V
            ),*
        }

        /// The command table, in the order `help` lists it.
        pub const COMMANDS: &[CommandSpec] = &[
            $( CommandSpec {
                name: CommandName::$V,
                word: $word,
                sub: second_word!($($sub)?),
                usage: $usage,
                summary: $summary,
                activity: flag!($activity),
                listed: flag!($listed),
            } ),*
        ];

        /// A parsed command line. Borrowed from the line it was parsed from: the server copies only
        /// what it keeps.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Command<'a> {
            $(
                $($m)*
                #[doc = ""]
                #[doc = concat!("`", $usage, "`; in `help`: `", $summary, "`.")]
                $V $($decl)*
            ),*
        }

        impl Command<'_> {
            /// The command's name: which row of the table it comes from.
            pub fn name(&self) -> CommandName {
                match self {
                    $( Command::$V { .. } => CommandName::$V ),*
                }
            }
        }

        impl fmt::Display for Command<'_> {
            /// The command's words, then each argument after a space, in table order.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.name().words())?;
                match self {
                    $( Command::$V { $($f),* } => { $( Arg::put($f, f)?; )* } ),*
                }
                Ok(())
            }
        }
    };
}

/// A row's second word, if it has one.
macro_rules! second_word {
    () => {
        None
    };
    ($sub:literal) => {
        Some($sub)
    };
}

/// A row's flag.
macro_rules! flag {
    (activity) => {
        true
    };
    (bookkeeping) => {
        false
    };
    (listed) => {
        true
    };
    (unlisted) => {
        false
    };
}

command_table!(define_commands);

/// An argument as the wire writes it: after a space; a list, each of its items so.
trait Arg {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl Arg for &str {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " {self}")
    }
}

impl Arg for u64 {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " {self}")
    }
}

impl<T: Arg> Arg for Option<T> {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_ref().map_or(Ok(()), |a| a.put(f))
    }
}

impl Arg for GroupSetting {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupSetting::Open(true) => " open",
            GroupSetting::Open(false) => " invite",
            GroupSetting::AddDirect(true) => " add direct",
            GroupSetting::AddDirect(false) => " add invite",
            GroupSetting::TopicByMembers(true) => " topic members",
            GroupSetting::TopicByMembers(false) => " topic owner",
        })
    }
}

impl Arg for GroupChange {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " {self}")
    }
}

impl Arg for u16 {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " {self}")
    }
}

/// `on` or `off`.
impl Arg for bool {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if *self { " on" } else { " off" })
    }
}

impl Arg for SignedKeyRef<'_> {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " {self}")
    }
}

impl<T: Arg> Arg for Vec<T> {
    fn put(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.iter().try_for_each(|a| a.put(f))
    }
}

impl CommandName {
    /// This command's row of the table.
    pub fn spec(self) -> &'static CommandSpec {
        // The names and the rows are made from the table in the same order, so a name's number is
        // its row's place (a test holds it): read for every line, this costs no search.
        &COMMANDS[self as usize]
    }

    /// The command's first word on the wire (a family's members share it).
    pub fn word(self) -> &'static str {
        self.spec().word
    }

    /// The command as typed: its word, and its second word if it has one (`group add`).
    pub fn words(self) -> String {
        let spec = self.spec();
        match spec.sub {
            Some(sub) => format!("{} {sub}", spec.word),
            None => spec.word.to_owned(),
        }
    }

    /// Looks a command word up, ignoring ASCII case (people type `Whoelse`). For a word several commands
    /// share (`group`), the first of them.
    pub fn from_word(word: &str) -> Option<CommandName> {
        rows_starting_like(word)
            .find(|s| s.word.eq_ignore_ascii_case(word))
            .map(|s| s.name)
    }

    /// Looks up the command a first and second word name, ignoring ASCII case: the command with that
    /// second word if there is one, else the command of the first word alone.
    ///
    /// One pass over the table (every command line not read by the fast reader comes here, `logout`
    /// and `acks off` among a login's): the first word is compared first, and only its family's
    /// second words after it.
    pub fn from_words(word: &str, sub: Option<&str>) -> Option<CommandName> {
        let mut alone = None;
        for s in rows_starting_like(word) {
            if !s.word.eq_ignore_ascii_case(word) {
                continue;
            }
            match s.sub {
                Some(x) if sub.is_some_and(|sub| x.eq_ignore_ascii_case(sub)) => {
                    return Some(s.name);
                }
                Some(_) => {}
                None => {
                    alone = alone.or(Some(s.name));
                }
            }
        }
        alone
    }

    /// The commands typed with the same first word (`message` and `message group`; the `group` family).
    pub fn family(self) -> impl Iterator<Item = CommandName> {
        let word = self.word();
        COMMANDS
            .iter()
            .filter(move |s| s.word == word)
            .map(|s| s.name)
    }

    /// Every command name, in table order.
    pub fn all() -> impl Iterator<Item = CommandName> {
        COMMANDS.iter().map(|s| s.name)
    }

    /// The commands offered to people (`help`, unknown-command errors).
    pub fn listed() -> impl Iterator<Item = CommandName> {
        COMMANDS.iter().filter(|s| s.listed).map(|s| s.name)
    }
}

/// The rows whose word begins with a letter, one bit per row in table order (bucket 26: any other
/// first byte). A command word is looked up for nearly every line the grammar reads (a login's
/// `acks off` and `logout` three times each, with the flood class's look), and comparing it with
/// every row of the table was about 1,300 instructions a look; compared only with the rows of its
/// first letter, in the same order, it finds the same row.
const ROWS_BY_LETTER: [u128; 27] = rows_by_letter();

/// A first byte's bucket in [`ROWS_BY_LETTER`]: ASCII case ignored, as the lookups ignore it.
const fn letter_bucket(first: u8) -> usize {
    let lower = first.to_ascii_lowercase();
    if lower.is_ascii_lowercase() {
        (lower - b'a') as usize
    } else {
        26
    }
}

const fn rows_by_letter() -> [u128; 27] {
    assert!(COMMANDS.len() <= 128, "one bit per row: widen the buckets");
    let mut buckets = [0u128; 27];
    let mut i = 0;
    while i < COMMANDS.len() {
        let word = COMMANDS[i].word.as_bytes();
        assert!(!word.is_empty(), "every command has a word");
        buckets[letter_bucket(word[0])] |= 1 << i;
        i += 1;
    }
    buckets
}

/// The rows, in table order, whose word may equal `word` ignoring ASCII case: those beginning with
/// its first letter (none for an empty word, which names no command).
fn rows_starting_like(word: &str) -> impl Iterator<Item = &'static CommandSpec> {
    let mut rows = word
        .as_bytes()
        .first()
        .map_or(0, |&first| ROWS_BY_LETTER[letter_bucket(first)]);
    std::iter::from_fn(move || {
        if rows == 0 {
            return None;
        }
        let row = rows.trailing_zeros() as usize;
        rows &= rows - 1;
        Some(&COMMANDS[row])
    })
}

impl fmt::Display for CommandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// A command name as one wire token: its words joined by `-` (`group-add`), for the fields of error
/// lines, which are single tokens.
pub fn token_of(name: CommandName) -> String {
    name.words().replace(' ', "-")
}

/// The command a token written by [`token_of`] names.
pub fn from_token(token: &str) -> Option<CommandName> {
    let (word, sub) = match token.split_once('-') {
        Some((w, s)) => (w, Some(s)),
        None => (token, None),
    };
    CommandName::all().find(|n| {
        let spec = n.spec();
        spec.word == word && spec.sub == sub
    })
}

impl Command<'_> {
    /// Whether this command resets the idle timeout (see [`CommandSpec::activity`]).
    pub fn is_activity(&self) -> bool {
        self.name().spec().activity
    }

    /// The wire form of this command, without a line ending. Parsing the result gives the command back.
    pub fn to_line(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_exactly_one_row() {
        for (i, row) in COMMANDS.iter().enumerate() {
            assert_eq!(row.name as usize, i, "{:?} is not at its place", row.name);
        }
        for name in CommandName::all() {
            assert_eq!(COMMANDS.iter().filter(|s| s.name == name).count(), 1);
            let spec = name.spec();
            assert_eq!(CommandName::from_words(spec.word, spec.sub), Some(name));
            assert_eq!(from_token(&token_of(name)), Some(name));
        }
    }

    #[test]
    fn second_words_pick_the_command() {
        assert_eq!(
            CommandName::from_words("MESSAGE", Some("Group")),
            Some(CommandName::MessageGroup)
        );
        assert_eq!(
            CommandName::from_words("message", Some("bob")),
            Some(CommandName::Message)
        );
        assert_eq!(
            CommandName::from_words("group", Some("add")),
            Some(CommandName::GroupAdd)
        );
        assert_eq!(CommandName::from_words("group", Some("x")), None);
        assert_eq!(CommandName::GroupAdd.family().count(), 11);
        assert_eq!(token_of(CommandName::GroupAdd), "group-add");
    }

    #[test]
    fn the_letter_index_finds_what_a_search_of_every_row_finds() {
        let first = |word: &str| {
            COMMANDS
                .iter()
                .find(|s| s.word.eq_ignore_ascii_case(word))
                .map(|s| s.name)
        };
        let mut words: Vec<String> = COMMANDS.iter().map(|s| s.word.to_owned()).collect();
        words.extend(COMMANDS.iter().map(|s| s.word.to_ascii_uppercase()));
        words.extend(["", "x", "?", "1help", "\u{e9}", "m", "messages", "mess"].map(String::from));
        for word in &words {
            assert_eq!(CommandName::from_word(word), first(word), "{word:?}");
            let by_search = |sub: Option<&str>| {
                let rows = || {
                    COMMANDS
                        .iter()
                        .filter(|s| s.word.eq_ignore_ascii_case(word))
                };
                rows()
                    .find(|s| {
                        s.sub
                            .zip(sub)
                            .is_some_and(|(x, sub)| x.eq_ignore_ascii_case(sub))
                    })
                    .or_else(|| rows().find(|s| s.sub.is_none()))
                    .map(|s| s.name)
            };
            for sub in [None, Some("group"), Some("ADD"), Some("x")] {
                assert_eq!(
                    CommandName::from_words(word, sub),
                    by_search(sub),
                    "{word:?} {sub:?}"
                );
            }
        }
    }

    #[test]
    fn words_match_case_insensitively() {
        assert_eq!(
            CommandName::from_word("WhoElse"),
            Some(CommandName::WhoElse)
        );
        assert_eq!(CommandName::from_word("nope"), None);
    }

    #[test]
    fn client_internal_commands_are_not_listed() {
        let listed: Vec<_> = CommandName::listed().collect();
        assert!(!listed.contains(&CommandName::Ack));
        assert!(!listed.contains(&CommandName::P2pPort));
        assert!(listed.contains(&CommandName::Message));
    }

    #[test]
    fn acknowledgements_and_port_registration_are_not_activity() {
        assert!(!Command::Ack { id: 3 }.is_activity());
        assert!(!Command::P2pPort { port: 9 }.is_activity());
        assert!(!Command::Acks { on: true }.is_activity());
        assert!(Command::Active.is_activity());
        assert!(Command::WhoElse.is_activity());
    }

    /// Publishing keys is what the client does by itself; asking for someone's keys is the user
    /// starting a conversation.
    #[test]
    fn publishing_keys_is_bookkeeping_and_claiming_is_not() {
        for name in [
            CommandName::KeysIdentity,
            CommandName::KeysAdd,
            CommandName::KeysFallback,
        ] {
            assert!(!name.spec().activity, "{name:?}");
        }
        assert!(Command::KeysClaim { user: "a" }.is_activity());
        assert!(Command::KeysShow { user: "a" }.is_activity());
        assert_eq!(CommandName::KeysAdd.family().count(), 5);
        assert_eq!(token_of(CommandName::KeysClaim), "keys-claim");
    }
}
