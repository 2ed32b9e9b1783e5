//! Arbitrary values of every row of the table in [`super::lines`], for the property test that renders
//! and decodes them (`decode(render(m)) == m`). Each field comes from its codec's own strategy, so the
//! values are those the wire can carry (a name is one token, a group's member list is not empty).
//!
//! The impls exist in every build so the codecs can require them; their one method exists only in
//! tests.

use super::columns::rows;
#[cfg(test)]
use super::columns::{codec, variant_new};
use super::lines::wire_tables;
use super::reply::{ByeReason, ErrorReply, PingState, Prompt, ServerMsg};
use super::wire::ArbPart;
#[cfg(test)]
use super::wire::{
    Access, Adding, Agent, AltGroup, Changes, Codec, Coverage, GroupEntries, Here, Kind, Names,
    Nested, OnOff, OneKey, Rank, Role, Seen, StoredFull, Text, TopicBy, Usage, Whose,
};

macro_rules! define_arb {
    (
        [$($em:tt)*] $vis:vis enum $E:ident {
            $( { [$($vm:tt)*] $V:ident $decl:tt $bind:tt $tag:tt [$( $wf:ident $codec:tt )*] $($rest:tt)* } )*
        }
    ) => {
        impl ArbPart for $E {
            #[cfg(test)]
            fn arb_each() -> Vec<proptest::strategy::BoxedStrategy<Self>> {
                use proptest::prelude::*;
                vec![ $(
                    (Just(()), $( <codec! $codec as Codec<_>>::arb(), )*)
                        .prop_map(|((), $($wf,)*)| variant_new!($E $V $decl $bind))
                        .boxed()
                ),* ]
            }
        }
    };
}

wire_tables!(rows for define_arb);
