//! The statistics of a benchmark report: medians, spreads and ratios over
//! interleaved runs.

/// The summary of one contender's samples in one comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) runs: usize,
}

impl Summary {
    /// Summarizes samples; `None` when there are none.
    pub(crate) fn of(samples: &[f64]) -> Option<Self> {
        Some(Self {
            median: median(samples)?,
            min: samples.iter().copied().fold(f64::INFINITY, f64::min),
            max: samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            runs: samples.len(),
        })
    }
}

/// The median; the mean of the two middle values for an even count. `None`
/// for no samples. NaNs sort last and so count as large values.
pub(crate) fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// The `q`-quantile by nearest rank (`q` in (0, 1]).
pub(crate) fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The median of the ratios `ours[i] / theirs[i]` of runs made in the same
/// round. Pairing runs that sat side by side cancels most of the drift of a
/// shared machine, which the ratio of two medians would not. Pairs whose
/// denominator is zero are skipped; `None` if no pair is left.
pub(crate) fn paired_ratio(ours: &[f64], theirs: &[f64]) -> Option<f64> {
    median(&paired_ratios(ours, theirs))
}

/// The ratios `ours[i] / theirs[i]` of runs made in the same round, pairs
/// with a zero denominator skipped.
pub(crate) fn paired_ratios(ours: &[f64], theirs: &[f64]) -> Vec<f64> {
    ours.iter()
        .zip(theirs)
        .filter(|(_, t)| **t != 0.0)
        .map(|(o, t)| o / t)
        .collect()
}

/// Whether per-round ratios meet a target (lower is better): met only when
/// every round met it, missed only when none did; otherwise the rounds
/// disagree and the report calls no winner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Met,
    Missed,
    Undecided,
}

impl Verdict {
    pub(crate) fn of(ratios: &[f64], target: f64) -> Option<Self> {
        let s = Summary::of(ratios)?;
        Some(if s.max <= target {
            Self::Met
        } else if s.min > target {
            Self::Missed
        } else {
            Self::Undecided
        })
    }

    /// The mark the reports print.
    pub(crate) fn mark(self) -> &'static str {
        match self {
            Self::Met => "✅",
            Self::Missed => "❌",
            Self::Undecided => "≟",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_by_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&samples, 0.99), Some(99.0));
        assert_eq!(quantile(&samples, 0.5), Some(50.0));
        assert_eq!(quantile(&[3.0], 0.99), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn median_of_odd_count_is_the_middle_value() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
    }

    #[test]
    fn median_of_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 10.0]), Some(3.5));
    }

    #[test]
    fn median_of_nothing_is_none() {
        assert_eq!(median(&[]), None);
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn summary_has_median_extremes_and_count() {
        let s = Summary::of(&[8.0, 10.0, 12.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (10.0, 8.0, 12.0, 3));
    }

    #[test]
    fn paired_ratio_takes_the_median_of_per_round_ratios() {
        // Round 2 ran while the machine was busy and slowed both sides alike;
        // round 3 slowed one side only, and is outvoted.
        let ours = [300.0, 30.0, 310.0];
        let theirs = [100.0, 10.0, 200.0];
        assert_eq!(paired_ratio(&ours, &theirs), Some(3.0));
    }

    #[test]
    fn a_verdict_needs_every_round_on_one_side_of_the_target() {
        assert_eq!(Verdict::of(&[0.8, 0.9, 0.95], 1.0), Some(Verdict::Met));
        assert_eq!(Verdict::of(&[1.1, 1.3], 1.0), Some(Verdict::Missed));
        assert_eq!(Verdict::of(&[0.8, 1.1, 0.9], 1.0), Some(Verdict::Undecided));
        assert_eq!(Verdict::of(&[], 1.0), None);
    }

    #[test]
    fn paired_ratio_skips_zero_denominators_and_unpaired_runs() {
        assert_eq!(paired_ratio(&[1.0, 2.0, 9.0], &[0.0, 1.0]), Some(2.0));
        assert_eq!(paired_ratio(&[1.0], &[0.0]), None);
    }
}

/// A ratio with two significant digits at least, so that a small one does
/// not print as 0.00: 1.50, 0.12, 0.0042.
pub(crate) fn ratio_digits(r: f64) -> String {
    let decimals = if r > 0.0 && r.is_finite() {
        (1 - r.log10().floor() as i32).max(2) as usize
    } else {
        2
    };
    format!("{r:.decimals$}")
}

#[cfg(test)]
mod ratio_digits_tests {
    use super::ratio_digits;

    #[test]
    fn small_ratios_keep_two_significant_digits() {
        assert_eq!(ratio_digits(1.5), "1.50");
        assert_eq!(ratio_digits(0.123), "0.12");
        assert_eq!(ratio_digits(0.00424), "0.0042");
        assert_eq!(ratio_digits(12.0), "12.00");
        assert_eq!(ratio_digits(0.0), "0.00");
    }
}
