//! Strings from a schema's `pattern`. proptest generates strings from
//! regex-syntax's HIR but refuses anchors and word boundaries; the apiserver
//! matches a pattern unanchored (RE2, like Go's `regexp.MatchString`), so a
//! string generated from the pattern with its look-arounds removed matches
//! it, and [`Matcher`] re-checks every one to be sure.

use proptest::prelude::*;
use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};

/// How to bend the repetitions of a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Repeats {
    /// As written, unbounded ones up to proptest's default.
    AsWritten,
    /// Every unbounded repetition at least this many times: strings longer
    /// than a `maxLength`.
    AtLeast(u32),
    /// Every repetition its minimum number of times: the shortest strings.
    Fewest,
    /// Every unbounded repetition at most this many more times than its
    /// minimum: strings within a `maxLength`.
    AtMost(u32),
}

/// A compiled pattern, to check generated strings with.
pub(super) struct Matcher(regex_automata::meta::Regex);

impl Matcher {
    /// `None` when the pattern does not compile (the offline check refuses
    /// such a CRD long before a value is generated).
    pub(super) fn new(pattern: &str) -> Option<Self> {
        regex_automata::meta::Regex::new(pattern).ok().map(Matcher)
    }

    pub(super) fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

fn parse(pattern: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()
}

/// Strings that match `pattern`, or `None` when it cannot be parsed.
pub(super) fn matching(pattern: &str, repeats: Repeats) -> Option<BoxedStrategy<String>> {
    let hir = bend(&parse(pattern)?, repeats);
    let matcher = Matcher::new(pattern)?;
    let strategy = proptest::string::string_regex_parsed(&hir).ok()?;
    Some(
        strategy
            .prop_filter("matches the pattern", move |s| matcher.is_match(s))
            .boxed(),
    )
}

/// Strings that match `pattern` and, where the pattern allows it, have at
/// most `max_len` characters: its unbounded repetitions are cut short
/// rather than the long strings filtered away (a `(…)+` nested in a `+`
/// under a `maxLength: 32` would be refused almost every time).
pub(super) fn matching_within(
    pattern: &str,
    max_len: Option<usize>,
) -> Option<BoxedStrategy<String>> {
    let Some(max_len) = max_len else {
        return matching(pattern, Repeats::AsWritten);
    };
    let hir = parse(pattern)?;
    let fits = |repeats| {
        bend(&hir, repeats)
            .properties()
            .maximum_len()
            .is_some_and(|len| len <= max_len)
    };
    let repeats = (0..=32)
        .rev()
        .map(Repeats::AtMost)
        .find(|r| fits(*r))
        .unwrap_or(Repeats::AsWritten);
    matching(pattern, repeats)
}

/// The fewest characters a string matching `pattern` has, and the most
/// (`None`: unbounded), counted in UTF-8 bytes (an upper bound on
/// characters, exact for the ASCII patterns CRDs use).
pub(super) fn length_bounds(pattern: &str) -> Option<(usize, Option<usize>)> {
    let hir = bend(&parse(pattern)?, Repeats::AsWritten);
    let properties = hir.properties();
    Some((properties.minimum_len()?, properties.maximum_len()))
}

/// The HIR without look-arounds, its repetitions bent as asked.
fn bend(hir: &Hir, repeats: Repeats) -> Hir {
    match hir.kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => hir.clone(),
        HirKind::Capture(c) => Hir::capture(Capture {
            index: c.index,
            name: c.name.clone(),
            sub: Box::new(bend(&c.sub, repeats)),
        }),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(|h| bend(h, repeats)).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(|h| bend(h, repeats)).collect())
        }
        HirKind::Repetition(r) => {
            let (min, max) = match (repeats, r.max) {
                (Repeats::AtLeast(n), None) => (r.min.max(n), Some(r.min.max(n) + 2)),
                (Repeats::Fewest, _) => (r.min, Some(r.min)),
                (Repeats::AtMost(n), None) => (r.min, Some(r.min + n)),
                _ => (r.min, r.max),
            };
            Hir::repetition(Repetition {
                min,
                max,
                greedy: r.greedy,
                sub: Box::new(bend(&r.sub, repeats)),
            })
        }
    }
}
