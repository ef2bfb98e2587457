//! The error accumulator of the front end: every problem is recorded with
//! its span and parsing goes on, so one build reports all of them (serde's
//! `Ctxt`, darling's accumulator).

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;

/// Collected errors, each spanned.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// An empty accumulator.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records `message` at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.errors.push(syn::Error::new(span, message));
    }

    /// Records `message` spanning all of `tokens` (an attribute, a field).
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error that parsing already produced.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// True when no error was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many errors were recorded.
    pub(crate) fn len(&self) -> usize {
        self.errors.len()
    }

    /// The errors, in the order they were found (for the parse tests).
    #[cfg(test)]
    pub(crate) fn into_vec(self) -> Vec<syn::Error> {
        self.errors
    }

    /// All errors combined into one `syn::Error` (which renders as one
    /// `compile_error!` per error), or `Ok` when there are none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let mut errors = self.errors.into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            first.combine(error);
        }
        Err(first)
    }
}

/// "did you mean `x`?" for the known key closest to `unknown`, if any is
/// close enough to be a plausible typo.
pub(crate) fn did_you_mean(unknown: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| (distance(unknown, k), *k))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2.max(unknown.len() / 3) => format!("; did you mean `{k}`?"),
        _ => String::new(),
    }
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != *cb));
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_offered_for_typos_only() {
        let known = ["shortname", "singular", "max_length"];
        assert_eq!(
            did_you_mean("shortnmae", &known),
            "; did you mean `shortname`?"
        );
        assert_eq!(
            did_you_mean("maxlength", &known),
            "; did you mean `max_length`?"
        );
        assert_eq!(did_you_mean("zzz", &known), "");
    }
}
