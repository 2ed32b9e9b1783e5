//! What a `LIST` asked for (`ELIST=MNU`'s filters): masks, negated masks and member counts, and
//! whether a channel passes them; `list.rs` answers `LIST`.

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
    pub(super) fn parse(param: Option<&str>) -> Self {
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
    pub(super) fn passes(&self, channel: &str, members: u64) -> bool {
        (self.masks.is_empty() || self.masks.iter().any(|m| mask_matches(m, channel)))
            && !self.not_masks.iter().any(|m| mask_matches(m, channel))
            && self.more_than.is_none_or(|n| members > n)
            && self.fewer_than.is_none_or(|n| members < n)
    }
}
