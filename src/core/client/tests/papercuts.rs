//! The small faults a person notices in a client left open for days (issue 31's papercuts), each
//! pinned where the core decides it.

use super::*;
use crate::client::display::render;

fn rendered(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| render(i, false)).collect()
}

#[test]
fn a_span_past_any_history_is_said_as_at_any_time_not_as_a_huge_number() {
    let mut c = Client::online("alice");
    c.typed("whoelsesince 99999999999999999999");
    // The number typed is taken as the longest span, as the server takes it.
    assert_eq!(
        c.take_sent(),
        vec![format!("whoelsesince {}", crate::protocol::MAX_SPAN_SECS)]
    );
    for (users, said) in [
        (vec![name("bob")], "* Online at any time: bob"),
        (vec![], "* Nobody else was ever online."),
    ] {
        c.server(ServerMsg::WhoElseSince {
            secs: crate::protocol::MAX_SPAN_SECS,
            users,
        });
        assert_eq!(rendered(&c.take_shown()), vec![said.to_owned()]);
    }
    c.server(ServerMsg::WhoElseSince {
        secs: 60,
        users: vec![name("bob")],
    });
    assert_eq!(
        rendered(&c.take_shown()),
        vec!["* Online in the last 60 s: bob".to_owned()]
    );
}
