//! What the server's operator asks for, carried out across the parts: a reload of the accounts or the
//! rules' numbers, a kick, a ban, an unlock, accounts added, removed, renamed or given a new password,
//! groups and members removed, a notice to everyone (see `server::admin`). Each answers with text for
//! the operator; each change that must survive a restart is a record like any other.

use super::ServerState;
use crate::protocol::name::{check_group_name, check_password, check_username};
use crate::protocol::{ByeReason, Name, ServerMsg};
use crate::server::admin::{Admin, AdminAnswer};
use crate::server::admin::{Ban, BanTarget};
use crate::server::config::Config;
use crate::server::credentials::Account;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::login::policy::weak;
use crate::server::record::Record;
use crate::time::Timestamp;

impl ServerState {
    /// Carries out `action` (see `server::admin`).
    pub(super) fn admin(
        &mut self,
        action: &Admin,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> AdminAnswer {
        match action {
            Admin::Accounts { set, remove } => Ok(self.reload_accounts(set, remove, now, out)),
            Admin::Configure(config) => Ok(self.configure(config, now)),
            Admin::Kick { user, reason } => {
                let id = self.existing(user)?;
                let conn = self
                    .sessions
                    .session_of(id)
                    .ok_or_else(|| format!("{user} is not online"))?;
                self.end_with(conn, reason, ByeReason::Kicked, now, out);
                Ok(format!("kicked {user}"))
            }
            Admin::Ban {
                target,
                until,
                reason,
            } => self.ban(target, *until, reason, now, out),
            Admin::Unban { target } => {
                if !self.bans.remove(target) {
                    return Err(format!("{target} is not banned"));
                }
                out.push(Effect::Persist(Record::Unbanned {
                    target: target.clone(),
                }));
                Ok(format!("lifted the ban on {target}"))
            }
            Admin::Unlock { user } => {
                let id = self.existing(user)?;
                let was = self.accounts.unlock(id, now);
                out.push(Effect::Persist(Record::Unlocked {
                    user: self.name(id).clone(),
                }));
                Ok(if was {
                    format!("unlocked {user}")
                } else {
                    format!("{user} was not locked (its count of wrong passwords starts again)")
                })
            }
            Admin::AddAccount { user, password } => {
                self.make_way_for_account(user, now, out);
                self.new_name(user, None)?;
                self.add_user(Name::from(user.as_str()), password.clone());
                out.push(Effect::Persist(Record::AccountCreated {
                    user: Name::from(user.as_str()),
                    password: password.clone(),
                }));
                Ok(format!("added account {user}"))
            }
            Admin::RemoveAccount { user } => {
                let id = self.existing(user)?;
                self.remove_user(id, now, out);
                Ok(format!("removed account {user}"))
            }
            Admin::RenameAccount { from, to } => {
                let id = self.existing(from)?;
                self.make_way_for_account(to, now, out);
                self.new_name(to, Some(id))?;
                if let Some(conn) = self.sessions.session_of(id) {
                    let why =
                        format!("your account is renamed to {to}: log in again with that name");
                    self.end_with(conn, &why, ByeReason::Kicked, now, out);
                }
                let to_name = Name::from(to.as_str());
                self.accounts.rename(id, to_name.clone());
                self.departed.forget(from);
                self.bans.renamed(from, to);
                out.push(Effect::Persist(Record::AccountRenamed {
                    from: Name::from(from.as_str()),
                    to: to_name,
                }));
                Ok(format!("renamed account {from} to {to}"))
            }
            Admin::SetPassword { user, password } => {
                let id = self.existing(user)?;
                self.accounts.set_password(id, password.clone());
                out.push(Effect::Persist(Record::PasswordSet {
                    user: self.name(id).clone(),
                    password: password.clone(),
                }));
                Ok(format!("set the password of {user}"))
            }
            Admin::RemoveGroup { group } => {
                let name = self.group_name(group)?;
                let members: Vec<UserId> = self
                    .groups
                    .members(&name)
                    .map(|m| m.iter().copied().collect())
                    .unwrap_or_default();
                for &m in &members {
                    self.group_rules().remove_member(&name, m, out);
                }
                Ok(format!(
                    "removed group {name} ({} member(s))",
                    members.len()
                ))
            }
            Admin::RemoveMember { group, user } => {
                let name = self.group_name(group)?;
                let id = self.existing(user)?;
                if !self.group_rules().remove_member(&name, id, out) {
                    return Err(format!("{user} is not a member of {name}"));
                }
                Ok(format!("removed {user} from group {name}"))
            }
            Admin::Notice { text } => {
                let to: Vec<ConnId> = self.sessions.online().map(|(_, c)| c).collect();
                let count = to.len();
                if !to.is_empty() {
                    out.push(Effect::SendMany {
                        to,
                        msg: ServerMsg::Notice { text: text.clone() },
                    });
                }
                Ok(format!("told {count} user(s)"))
            }
        }
    }

    /// Whether the password policy refuses `password` as the new password awaited on `conn` (a new
    /// account's, or a `passwd`'s): for a node that judges the text it keeps out of the log.
    pub fn weak_password(&self, conn: ConnId, password: &str) -> bool {
        use crate::server::connections::sessions::{Passwd, Phase};
        let min = self.config.min_password_length;
        match self.sessions.phase(conn) {
            Some(Phase::AwaitNewPassword { name }) => weak(name, password, min),
            Some(Phase::Online(s)) if s.passwd() == Passwd::AwaitNew => {
                weak(self.name(s.user()), password, min)
            }
            _ => false,
        }
    }

    /// Whether the policy refuses `password` for account `user` (for the operator's tools, which
    /// check before they hash).
    pub fn password_refused(&self, user: &str, password: &str) -> Option<String> {
        let min = self.config.min_password_length;
        if let Err(e) = check_password(password) {
            return Some(format!("cannot use that password: {e}"));
        }
        weak(user, password, min).then(|| {
            format!("a password must have at least {min} characters and not be the username")
        })
    }

    fn existing(&self, user: &str) -> Result<UserId, String> {
        self.find_user(user)
            .ok_or_else(|| format!("there is no account named '{user}'"))
    }

    fn group_name(&self, group: &str) -> Result<Name, String> {
        check_group_name(group).map_err(|e| format!("'{group}' is not a group name: {e}"))?;
        self.groups
            .name(group)
            .cloned()
            .ok_or_else(|| format!("there is no group named '{group}'"))
    }

    /// Whether `name` may be given to a new account (or to account `renaming`): a valid username, and
    /// no other account has it or one that looks like it.
    fn new_name(&self, name: &str, renaming: Option<UserId>) -> Result<(), String> {
        check_username(name).map_err(|e| format!("'{name}' is not a valid username: {e}"))?;
        if let Some(id) = self.find_user(name).filter(|id| Some(*id) != renaming) {
            return Err(format!(
                "there is already an account named '{}'",
                self.name(id)
            ));
        }
        if let Some(id) = self
            .accounts
            .find_look_alike(name)
            .filter(|id| Some(*id) != renaming)
        {
            return Err(format!(
                "'{name}' looks like the account '{}' (letter case, or letters such as I, l and 1)",
                self.name(id)
            ));
        }
        Ok(())
    }

    /// The operator gives `name` to an account: a guest online under it, or under a name that looks
    /// like it, gives way (its session ends, saying why, and the guest is forgotten), since accounts'
    /// names are kept from guests.
    fn make_way_for_account(&mut self, name: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let holders = [self.find_user(name), self.accounts.find_look_alike(name)];
        for id in holders.into_iter().flatten() {
            if !self.accounts.is_guest(id) {
                continue;
            }
            if let Some(conn) = self.sessions.session_of(id) {
                let why = format!(
                    "An account now has the name '{name}' (or one like it): guests may not use accounts' names."
                );
                self.end_with(conn, &why, ByeReason::Kicked, now, out);
            }
        }
    }

    /// Ends the connection's session with `reason`, told first as a notice (if any) so the user
    /// knows why.
    fn end_with(
        &mut self,
        conn: ConnId,
        notice: &str,
        reason: ByeReason,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if !notice.is_empty() {
            send(
                out,
                conn,
                ServerMsg::Notice {
                    text: notice.to_owned(),
                },
            );
        }
        self.close_with(conn, reason, now, out);
    }

    fn ban(
        &mut self,
        target: &BanTarget,
        until: Option<Timestamp>,
        reason: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> AdminAnswer {
        if let BanTarget::User(user) = target {
            self.existing(user)?;
        }
        if until.is_some_and(|u| u <= now) {
            return Err("a ban must end in the future".into());
        }
        self.bans.tidy(now);
        self.bans.add(
            target.clone(),
            Ban {
                until,
                reason: reason.to_owned(),
            },
        );
        out.push(Effect::Persist(Record::Banned {
            target: target.clone(),
            until,
            reason: reason.to_owned(),
        }));
        // Everything the ban covers that is open now ends, told why.
        let hit: Vec<ConnId> = match target {
            BanTarget::User(user) => self
                .find_user(user)
                .and_then(|id| self.sessions.session_of(id))
                .into_iter()
                .collect(),
            BanTarget::Address(_) => self
                .sessions
                .all_conns()
                .into_iter()
                .filter(|&c| {
                    self.sessions
                        .conn(c)
                        .is_some_and(|c| self.bans.address(c.peer().ip(), now).is_some())
                })
                .collect(),
        };
        let notice = if reason.is_empty() {
            "you are banned from this server".to_owned()
        } else {
            format!("you are banned from this server: {reason}")
        };
        for &conn in &hit {
            self.end_with(conn, &notice, ByeReason::Banned, now, out);
        }
        let how_long = match until {
            Some(until) => format!("until {}", crate::time::utc(until)),
            None => "for good".to_owned(),
        };
        Ok(format!(
            "banned {target} {how_long}; {} connection(s) ended",
            hit.len()
        ))
    }

    /// Removes an account: its session ends (`BYE removed`), then everything it had goes.
    fn remove_user(&mut self, id: UserId, now: Timestamp, out: &mut Vec<Effect>) {
        if let Some(conn) = self.sessions.session_of(id) {
            self.close_with(conn, ByeReason::Removed, now, out);
        }
        let groups: Vec<Name> = self.groups.groups_of(id).cloned().collect();
        for g in &groups {
            self.group_rules().remove_member(g, id, out);
        }
        let name = self.name(id).clone();
        self.forget_user(id);
        // Its past sessions go too, so whoever takes the name later is not shown as having been it.
        self.departed.forget(&name);
        out.push(Effect::Persist(Record::AccountRemoved { user: name }));
    }

    /// Empties every part's slot of account `id` and removes it (no records: the caller's, or a
    /// restore's).
    pub(super) fn forget_user(&mut self, id: UserId) {
        for g in self.groups.groups_of(id).cloned().collect::<Vec<_>>() {
            self.groups.leave(&g, id);
        }
        self.groups.forget_invitations(id);
        self.mailboxes.clear(id);
        self.blocks.forget(id);
        self.history.forget(id);
        self.keys.forget(id);
        self.accounts.remove(id);
    }

    /// The credentials file, read again: new accounts are added, changed passwords set, accounts no
    /// longer in it removed (their sessions end with `BYE removed`). Nobody else is disconnected.
    fn reload_accounts(
        &mut self,
        set: &[Account],
        remove: &[String],
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) -> String {
        let (mut added, mut changed, mut removed) = (0, 0, 0);
        for user in remove {
            if let Some(id) = self.find_user(user) {
                self.remove_user(id, now, out);
                removed += 1;
            }
        }
        for a in set {
            self.make_way_for_account(&a.username, now, out);
            match self.find_user(&a.username) {
                Some(id) => {
                    if self.accounts.password(id) != a.password {
                        self.accounts.set_password(id, a.password.clone());
                        out.push(Effect::Persist(Record::PasswordSet {
                            user: self.name(id).clone(),
                            password: a.password.clone(),
                        }));
                        changed += 1;
                    }
                }
                None => {
                    let name = Name::from(a.username.as_str());
                    self.add_user(name.clone(), a.password.clone());
                    out.push(Effect::Persist(Record::AccountCreated {
                        user: name,
                        password: a.password.clone(),
                    }));
                    added += 1;
                }
            }
        }
        format!("accounts: {added} added, {changed} with a new password, {removed} removed")
    }

    /// New limits and timeouts. Every connection's deadline is looked at again now, so a shorter
    /// idle or login timeout takes effect at once, a longer one from the next check.
    fn configure(&mut self, config: &Config, now: Timestamp) -> String {
        self.config = config.clone();
        self.follow_config();
        for conn in self.sessions.all_conns() {
            self.sessions.set_deadline(conn, now);
        }
        "limits and timeouts reloaded".into()
    }
}
