//! The macros that read the wire's table (`lines.rs` holds the table and its grammar): [`rows`], the one
//! place that reads a row's grammar, and the pieces the reply enum, its writer and its reader are
//! generated with from the columns it hands on. Apart from the codecs in `wire.rs`, which name the
//! reply's types, so that the reply can be generated with these.

/// Reads the table's row grammar (see `lines.rs`), once, and hands each enum of the table to `$cb` with
/// every row in one fixed form, a braced group of columns in this order:
///
/// ```text
/// { [attributes] Variant [declared] [binding] tag [field (codec) ...] human show about }
/// ```
///
/// `declared` is what follows the variant's name in its declaration (`{ fields }`, `(Type)`, or
/// nothing) and `binding` the name a `(Type)` variant's value is bound to, both for [`variant_pat`]
/// and [`variant_new`]; `codec` is `()` for a plain field. A callback matches the
/// columns it reads and may end with `$($rest:tt)*` for the ones after, so a new column, added at the
/// end, changes this macro and the callbacks that read it, and no other.
macro_rules! rows {
    (
        $cb:ident;
        $(#[$em:meta])*
        $vis:vis enum $E:ident {
            $(
                $(#[$vm:meta])*
                $V:ident $({ $($bf:tt)* })? $(( $bt:ty ) as $bind:ident)?
                    => $tag:tt [ $( $wf:ident $(: $codec:ty)? ),* ]
                    human $human:tt
                    show $show:tt
                    about $about:tt
            ),* $(,)?
        }
    ) => {
        $cb! {
            [$(#[$em])*] $vis enum $E {
                $( {
                    [$(#[$vm])*] $V [$({ $($bf)* })? $(( $bt ))?] [$($bind)?] $tag
                    [ $( $wf ($($codec)?) )* ] $human $show $about
                } )*
            }
        }
    };
}

/// The codec a field names, or [`Plain`].
macro_rules! codec {
    () => {
        $crate::protocol::wire::Plain
    };
    ($c:ty) => {
        $c
    };
}

/// A variant as a pattern, binding each of its fields by name: from the columns [`rows`] hands on
/// (`[declared] [binding]`), or from a row as the table writes it.
macro_rules! variant_pat {
    ($E:ident $V:ident [] []) => { $E::$V };
    ($E:ident $V:ident [{ $( $(#[$m:meta])* $f:ident : $t:ty ),* $(,)? }] []) => { $E::$V { $($f),* } };
    ($E:ident $V:ident [( $t:ty )] [$b:ident]) => { $E::$V($b) };
    ($E:ident $V:ident) => { $E::$V };
    ($E:ident $V:ident { $( $(#[$m:meta])* $f:ident : $t:ty ),* $(,)? }) => { $E::$V { $($f),* } };
    ($E:ident $V:ident ( $t:ty ) as $b:ident) => { $E::$V($b) };
}

/// A variant built from locals named after its fields (the columns [`rows`] hands on).
macro_rules! variant_new {
    ($E:ident $V:ident [] []) => { $E::$V };
    ($E:ident $V:ident [{ $( $(#[$m:meta])* $f:ident : $t:ty ),* $(,)? }] []) => { $E::$V { $($f),* } };
    ($E:ident $V:ident [( $t:ty )] [$b:ident]) => { $E::$V($b) };
}

/// The tag a value is written with: the tag, or the second of two when the condition holds.
macro_rules! tag_of {
    ($tag:literal) => {
        $tag
    };
    (($a:literal | $b:literal if $c:expr)) => {
        if $c { $b } else { $a }
    };
}

/// The tag, or both tags, as a pattern.
macro_rules! tag_pat {
    ($tag:literal) => {
        $tag
    };
    (($a:literal | $b:literal if $c:expr)) => {
        $a | $b
    };
}

/// The tag, or both tags (`A|B`), as text for a doc comment.
macro_rules! tag_doc {
    ($tag:literal) => {
        $tag
    };
    (($a:literal | $b:literal if $c:expr)) => {
        concat!($a, "|", $b)
    };
}

/// Whether `t` is the second of two tags.
macro_rules! tag_alt {
    ($t:ident, $tag:literal) => {
        false
    };
    ($t:ident, ($a:literal | $b:literal if $c:expr)) => {
        $t == $b
    };
}

/// The human text after the fields, with its leading space: none; a format string; a block writing
/// to a writer; or a part's own text.
macro_rules! human {
    ($w:ident; ()) => { Ok(()) };
    ($w:ident; (of $x:ident)) => { $crate::protocol::wire::Part::put_tail($x, $w) };
    ($w:ident; (|$v:ident| $e:expr)) => {{
        $w.write_str(" ")?;
        let $v = &mut *$w;
        $e
    }};
    ($w:ident; ($fmt:literal $(, $a:expr)* $(,)?)) => {{
        $w.write_str(" ")?;
        write!($w, $fmt $(, $a)*)
    }};
}

/// A column that is an optional expression.
macro_rules! opt_expr {
    (()) => {
        None
    };
    (($e:expr)) => {
        $e
    };
}

pub(crate) use {
    codec, human, opt_expr, rows, tag_alt, tag_doc, tag_of, tag_pat, variant_new, variant_pat,
};
