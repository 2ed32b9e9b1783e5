//! What the users' clients do each step: connect to a node and log in (now and then with a wrong
//! password, a few times running at different nodes), send messages, block and unblock, make, join,
//! leave and write to groups, and log out.

use super::users::{Pending, Session};
use super::{GROUPS, Sim, WaitingInput};
use natter_core::server::ConnId;
use natter_core::server::cluster::node::first_conn_id;

impl Sim {
    /// Each user's client may connect, send a message, block or unblock someone, make, join, leave
    /// or write to a group, or log out.
    pub(super) fn users_type(&mut self) {
        for u in 0..self.users.len() {
            match self.users[u].session {
                None => {
                    if self.nodes.is_empty() || !self.chance(20_000) {
                        continue;
                    }
                    // Now and then a user mistypes its password a few times running: at another
                    // node each time, which must count as at one server.
                    if !self.settling && self.users[u].fumbles == 0 && self.chance(40_000) {
                        self.users[u].fumbles = 2 + self.below(2) as u32;
                    }
                    let mut i = self.below(self.nodes.len() as u64) as usize;
                    if self.users[u].fumbles > 0
                        && self.nodes.len() > 1
                        && self.users[u].last_node == Some(self.nodes[i].node().id())
                    {
                        i = (i + 1) % self.nodes.len();
                    }
                    self.connect(u, i);
                }
                Some(s) if s.welcomed => {
                    let r = self.below(1_000_000);
                    let (line, pending) = match r {
                        0..60_000 => {
                            let to = self.other_than(u);
                            self.texts += 1;
                            let text = format!("m{}", self.texts);
                            let line = format!("message {} {text}", self.users[to].name);
                            (line, Pending::Message(to, text))
                        }
                        60_000..75_000 => {
                            let g = self.below(GROUPS);
                            self.texts += 1;
                            (
                                format!("message group g{g} gm{}", self.texts),
                                Pending::Other,
                            )
                        }
                        75_000..79_000 => {
                            let whom = self.other_than(u);
                            let name = self.users[whom].name.clone();
                            let user = &mut self.users[u];
                            // Unblocking counts from when it is typed, blocking from when it is
                            // answered: if the answer is lost with the session, the client cannot
                            // know whether it happened.
                            let verb = match user.perhaps_blocked.contains(&name) {
                                true => {
                                    user.blocked.remove(&name);
                                    user.unblocking.insert(name.clone());
                                    "unblock"
                                }
                                false => {
                                    user.perhaps_blocked.insert(name.clone());
                                    "block"
                                }
                            };
                            (format!("{verb} {name}"), Pending::Other)
                        }
                        79_000..81_000 => {
                            let g = self.below(GROUPS);
                            let mut line = format!("create group g{g}");
                            let mut named = Vec::new();
                            for _ in 0..1 + self.below(3) {
                                let m = self.other_than(u);
                                if !named.contains(&m) {
                                    named.push(m);
                                    line.push(' ');
                                    line.push_str(&self.users[m].name);
                                }
                            }
                            // GROUP-CREATED, then GROUP-INVITED for each member (a new group's
                            // invitations fail only past the limit, which GROUPS stays under).
                            (line, Pending::Answers(1 + named.len()))
                        }
                        81_000..84_000 => {
                            let g = self.below(GROUPS);
                            let whom = self.other_than(u);
                            // Not someone it may have blocked (kept from when adding was direct: an
                            // add was then told only to the members who do not block who was added).
                            if self.users[u]
                                .perhaps_blocked
                                .contains(&self.users[whom].name)
                            {
                                continue;
                            }
                            (
                                format!("group add g{g} {}", self.users[whom].name),
                                Pending::Other,
                            )
                        }
                        84_000..86_000 => (
                            format!("group leave g{}", self.below(GROUPS)),
                            Pending::Other,
                        ),
                        86_000..89_000 => {
                            self.input(s.node, s.conn, WaitingInput::Line("logout".into()));
                            continue;
                        }
                        _ => continue,
                    };
                    self.users[u].pending.push_back(pending);
                    self.input(s.node, s.conn, WaitingInput::Line(line));
                }
                Some(_) => {}
            }
        }
    }

    /// Another user than `u`, at random.
    pub(super) fn other_than(&mut self, u: usize) -> usize {
        let to = self.below(self.users.len() as u64 - 1) as usize;
        if to >= u { to + 1 } else { to }
    }

    /// User `u`'s client connects to the `i`th node and logs in, receipts on.
    pub(super) fn connect(&mut self, u: usize, i: usize) {
        let node = self.nodes[i].node().id();
        self.users[u].last_node = Some(node);
        self.next_conn += 1;
        let conn = ConnId(first_conn_id(node) + self.next_conn);
        self.users[u].session = Some(Session {
            node,
            conn,
            welcomed: false,
        });
        // Now and then a wrong password (not in the final round), and a few in a row when the user
        // fumbles: wrong passwords typed at different nodes count together, and a lockout holds at
        // every node.
        let fumbling = self.users[u].fumbles > 0 && !self.settling;
        if fumbling {
            self.users[u].fumbles -= 1;
        }
        let wrong = fumbling || (!self.settling && self.chance(100_000));
        let name = self.users[u].name.clone();
        let password = match wrong {
            true => "wrong".to_owned(),
            false => self.users[u].password.clone(),
        };
        // Each user from an address of its own: the per-address limits hold as for any users.
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1 + u as u8], 40_000));
        self.input(node, conn, WaitingInput::Open(peer));
        for line in [name, password] {
            self.input(node, conn, WaitingInput::Line(line));
        }
    }
}
