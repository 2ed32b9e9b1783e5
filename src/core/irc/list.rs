//! `LIST` as natter's `groups`: the core decides which groups the user may see (theirs, and others'
//! that are open and not secret: `server::groups::directory`); the front only filters what came
//! back by what `LIST` asked (`ELIST=MNU`): channel masks (`LIST #c*`), negated masks (`LIST !#c*`)
//! and member counts (`LIST >2`, `LIST <10`), and says it as `321`, `322`s and `323`.

use super::message::Message;
use super::session::{IrcSession, Step};
use crate::protocol::ServerMsg;
use crate::protocol::group_change::mask_matches;

/// What a `LIST` asked for, as `ELIST`'s filters; comma-separated in its first parameter.
#[derive(Debug, Default, Clone)]
pub(super) struct ListFilter {
    /// Masks (or names) of which a channel must match one, if any are given.
    masks: Vec<String>,
    /// Masks a channel must match none of.
    not_masks: Vec<String>,
    /// More members than this.
    more_than: Option<u64>,
    /// Fewer members than this.
    fewer_than: Option<u64>,
}

impl ListFilter {
    /// The filters of `LIST`'s first parameter (`#a*,!#b*,>2`). Conditions natter does not offer
    /// (`C>`, `T<`: creation and topic times) are left out rather than refused.
    fn parse(param: Option<&str>) -> Self {
        let mut f = ListFilter::default();
        for cond in param.unwrap_or("").split(',').filter(|c| !c.is_empty()) {
            if let Some(n) = cond.strip_prefix('>') {
                f.more_than = n.parse().ok().or(f.more_than);
            } else if let Some(n) = cond.strip_prefix('<') {
                f.fewer_than = n.parse().ok().or(f.fewer_than);
            } else if let Some(m) = cond.strip_prefix('!') {
                f.not_masks.push(m.to_owned());
            } else if !cond.contains(['<', '>']) {
                f.masks.push(cond.to_owned());
            }
        }
        f
    }

    /// Whether `channel` with `members` members passes.
    fn passes(&self, channel: &str, members: u64) -> bool {
        (self.masks.is_empty() || self.masks.iter().any(|m| mask_matches(m, channel)))
            && !self.not_masks.iter().any(|m| mask_matches(m, channel))
            && self.more_than.is_none_or(|n| members > n)
            && self.fewer_than.is_none_or(|n| members < n)
    }
}

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
