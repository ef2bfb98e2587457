//! Prometheus durations as rule files write them (`30s`, `1h30m`, `0`).
//!
//! Hand-rolled rather than taken from promql-parser: its `parse_duration`
//! also accepts float seconds (`1.5`) and refuses `0`, where Prometheus'
//! `model.ParseDuration`, which reads rule files, does the opposite. The
//! format is one regular expression's worth: units from years down to
//! milliseconds, each at most once, in that order.

use std::time::Duration;

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a duration as Prometheus' `model.ParseDuration` does.
pub fn parse(text: &str) -> Result<Duration, String> {
    let invalid = || format!("not a valid duration string: {text:?}");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("empty duration string".into());
    }
    let mut rest = text;
    let mut next_unit = 0;
    let mut millis: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        // "ms" before "m", so a millisecond is not read as a minute.
        let found = UNITS[next_unit..]
            .iter()
            .enumerate()
            .filter(|(_, (unit, _))| rest.starts_with(unit))
            .max_by_key(|(_, (unit, _))| unit.len())
            .map(|(i, unit)| (i + next_unit, *unit));
        let Some((index, (unit, scale))) = found else {
            return Err(invalid());
        };
        rest = &rest[unit.len()..];
        next_unit = index + 1;
        millis = number
            .checked_mul(scale)
            .and_then(|m| millis.checked_add(m))
            .filter(|m| i64::try_from(*m).is_ok_and(|m| m.checked_mul(1_000_000).is_some()))
            .ok_or_else(|| format!("duration out of range: {text:?}"))?;
    }
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_prometheus_accepts() {
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("1m500ms").unwrap(), Duration::from_millis(60_500));
        assert_eq!(parse("2w1d").unwrap(), Duration::from_secs(15 * 86_400));
        assert_eq!(parse("1y").unwrap(), Duration::from_secs(365 * 86_400));
    }

    #[test]
    fn refuses_what_prometheus_refuses() {
        for bad in [
            "",
            "1.5",
            "5",
            "1m1h",
            "1h1h",
            "m",
            "5 m",
            "-1m",
            "1M",
            "100000000y",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse("1.5m").unwrap_err().contains("\"1.5m\""));
    }
}
