//! The table of server lines against the wire it must keep: a byte-for-byte sample of every row, and
//! the round trip `decode(render(m)) == m` over arbitrary values of every variant.

mod samples;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::wire::ArbPart;
use super::{ServerMsg, decode_line, render_line};

/// The lines as the renderer wrote them before the table existed (`golden_lines.txt`, one per sample):
/// any change to the wire shows here first.
#[test]
fn every_sample_renders_byte_for_byte_as_before() {
    let golden = include_str!("golden_lines.txt");
    let samples = samples::samples();
    assert_eq!(golden.lines().count(), samples.len());
    for (msg, want) in samples.iter().zip(golden.split_inclusive('\n')) {
        let line = render_line(msg);
        assert_eq!(std::str::from_utf8(&line).unwrap(), want, "{msg:?}");
        assert_eq!(format!("{msg}\n"), want, "Display agrees with the renderer");
        assert_eq!(decode_line(want.trim_end_matches('\n')).as_ref(), Ok(msg));
    }
}

fn round_trips(msg: &ServerMsg) -> Result<(), TestCaseError> {
    let line = render_line(msg);
    let text = std::str::from_utf8(&line).expect("UTF-8");
    let body = text.strip_suffix('\n').expect("a line ends with a newline");
    prop_assert!(!body.contains('\n'), "one line: {text:?}");
    prop_assert_eq!(decode_line(body), Ok(msg.clone()), "{:?}", body);
    Ok(())
}

/// Each variant of the table (every line, error code and goodbye) gets cases of its own, so a rare one
/// is never left to chance.
#[test]
fn every_variant_round_trips() {
    let variants = ServerMsg::arb_each();
    assert!(variants.len() >= 37, "one strategy per row");
    for (i, strategy) in variants.into_iter().enumerate() {
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy, |msg| round_trips(&msg))
            .unwrap_or_else(|e| panic!("row {i}: {e}"));
    }
}

proptest! {
    #![proptest_config(Config { cases: 512, failure_persistence: None, ..Config::default() })]

    /// The same over every line at once, nested parts (errors, goodbyes) drawn from all their rows.
    #[test]
    fn any_line_round_trips(msg in proptest::strategy::Union::new(ServerMsg::arb_each())) {
        round_trips(&msg)?;
    }
}
