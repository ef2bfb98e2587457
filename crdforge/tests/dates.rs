//! Dates as serde writes them are what the apiserver's `format: date-time`
//! and `format: date` accept, and read back as the same value: for every
//! instant of years 0000–9999 (the years RFC 3339 can write; the apiserver
//! refuses the others, see docs/serde-shapes.md), any nanosecond, and, for
//! chrono, any offset.

use crdforge::KubeSchema;
use crdforge::schema::Context;
use k8s_openapi::jiff::{Timestamp, civil::Date};
use proptest::prelude::*;

/// RFC 3339's `date-time` (the grammar go-openapi's strfmt checks).
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return false;
    }
    if b[10] != b'T'
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return false;
        }
    }
    match &s[i..] {
        "Z" => true,
        offset => {
            let o = offset.as_bytes();
            o.len() == 6
                && matches!(o[0], b'+' | b'-')
                && o[1..3].iter().all(u8::is_ascii_digit)
                && o[3] == b':'
                && o[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && is_date_time(&format!("{s}T00:00:00Z"))
}

/// Seconds of 0000-01-01T00:00:00Z and of 9999-12-31T23:59:59Z.
const YEAR_0: i64 = -62_167_219_200;
const YEAR_9999_END: i64 = 253_402_300_799;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn jiff_timestamps_are_rfc3339_and_read_back(secs in YEAR_0..=YEAR_9999_END, nanos in 0i32..1_000_000_000) {
        let at = Timestamp::new(secs, nanos).unwrap();
        let json = serde_json::to_value(at).unwrap();
        let text = json.as_str().unwrap();
        prop_assert!(is_date_time(text), "{text}");
        prop_assert_eq!(serde_json::from_value::<Timestamp>(json.clone()).unwrap(), at);
    }

    #[test]
    fn jiff_dates_are_full_dates_and_read_back(days in 0i32..=3_652_058) {
        let day = Date::constant(0, 1, 1).checked_add(k8s_openapi::jiff::Span::new().days(days)).unwrap();
        let json = serde_json::to_value(day).unwrap();
        prop_assert!(is_date(json.as_str().unwrap()), "{json}");
        prop_assert_eq!(serde_json::from_value::<Date>(json).unwrap(), day);
    }
}

#[cfg(feature = "chrono")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn chrono_instants_are_rfc3339_and_read_back(
        secs in YEAR_0 + 86_400..=YEAR_9999_END - 86_400,
        nanos in 0u32..1_000_000_000,
        offset in -86_340i32..=86_340,
    ) {
        use chrono::{DateTime, FixedOffset, Utc};
        let utc = DateTime::<Utc>::from_timestamp(secs, nanos).unwrap();
        let json = serde_json::to_value(utc).unwrap();
        prop_assert!(is_date_time(json.as_str().unwrap()), "{json}");
        prop_assert_eq!(serde_json::from_value::<DateTime<Utc>>(json).unwrap(), utc);
        // Whole minutes: RFC 3339 offsets have no seconds.
        let fixed = utc.with_timezone(&FixedOffset::east_opt(offset / 60 * 60).unwrap());
        let json = serde_json::to_value(fixed).unwrap();
        prop_assert!(is_date_time(json.as_str().unwrap()), "{json}");
        let back = serde_json::from_value::<DateTime<FixedOffset>>(json).unwrap();
        prop_assert_eq!(back, fixed);
        prop_assert_eq!(back.offset(), fixed.offset());
    }
}

#[test]
fn schemas_name_the_formats() {
    let mut ctx = Context::new();
    assert_eq!(
        Timestamp::kube_schema(&mut ctx).format.as_deref(),
        Some("date-time")
    );
    assert_eq!(Date::kube_schema(&mut ctx).format.as_deref(), Some("date"));
    #[cfg(feature = "chrono")]
    {
        assert_eq!(
            chrono::DateTime::<chrono::Utc>::kube_schema(&mut ctx)
                .format
                .as_deref(),
            Some("date-time")
        );
        assert_eq!(
            chrono::NaiveDate::kube_schema(&mut ctx).format.as_deref(),
            Some("date")
        );
    }
}

#[test]
fn the_grammar_check_refuses_what_the_apiserver_refuses() {
    // Observed on kube-apiserver 1.36: negative years and six-digit years
    // are not date-times.
    assert!(!is_date_time("-000001-06-01T00:00:00Z"));
    assert!(!is_date_time("+010000-01-01T00:00:00Z"));
    assert!(is_date_time("0000-01-01T00:00:00Z"));
    assert!(is_date_time("9999-12-30T22:00:00.999999999Z"));
    assert!(is_date_time("2026-12-07T14:30:09.123+02:00"));
    assert!(!is_date("-009999-01-01"));
}
