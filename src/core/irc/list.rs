//! `LIST` as natter's `groups`: the core decides which groups the user may see (theirs, and others'
//! that are open and not secret: `server::groups::directory`); the front only filters what came
//! back by what `LIST` asked (`ELIST=MNU`): channel masks (`LIST #c*`), negated masks (`LIST !#c*`)
//! and member counts (`LIST >2`, `LIST <10`), and says it as `321`, `322`s and `323`.

use super::list_filter::ListFilter;
use super::message::Message;
use super::session::{IrcSession, Step};
use crate::protocol::ServerMsg;

impl IrcSession {
    /// `LIST [filters]`: `groups`, whose lines `listed` answers.
    pub(super) fn list(&mut self, msg: &Message<'_>, out: &mut Vec<Step>) {
        self.channels.list_asked = Some(ListFilter::parse(msg.param(0)));
        out.push(Step::Say(self.numeric("321", &["Channel"], "Users  Name")));
        out.push(Step::Feed(b"groups".to_vec()));
    }

    /// A `GROUP-LISTED` (`322` if it passes the filters) or `GROUPS-END` (`323`): `true` if it
    /// answered a `LIST`.
    pub(super) fn listed(&mut self, msg: &ServerMsg, out: &mut Vec<Step>) -> bool {
        match msg {
            ServerMsg::GroupListed {
                group,
                members,
                topic,
            } => {
                let Some(filter) = &self.channels.list_asked else {
                    return false;
                };
                let channel = format!("#{group}");
                if filter.passes(&channel, *members) {
                    let count = members.to_string();
                    out.push(Step::Say(self.numeric("322", &[&channel, &count], topic)));
                }
                true
            }
            ServerMsg::GroupsEnd if self.channels.list_asked.is_some() => {
                self.channels.list_asked = None;
                out.push(Step::Say(self.numeric("323", &[], "End of /LIST")));
                true
            }
            _ => false,
        }
    }
}
