//! Dates and instants as users hold them: jiff's `Timestamp` and
//! `civil::Date` (the crate k8s-openapi's `Time` wraps, re-exported as
//! `k8s_openapi::jiff`) and, with the `chrono` feature, chrono's
//! `DateTime<Utc>`, `DateTime<FixedOffset>` and `NaiveDate`.
//!
//! Each is written by serde as an RFC 3339 string (`2026-12-07T14:30:09Z`,
//! fractional seconds and offsets as the value has them) or a full date
//! (`2026-12-07`), which the apiserver checks with `format: date-time` or
//! `format: date` and stores as given, so the value reads back unchanged:
//! `tests/dates.rs` round-trips each through serde against the formats'
//! grammar, and `crdforge-fixtures`' serde-shapes `Dates` kind through
//! the apiserver (`shapes_e2e`).
//! Each is plain data: its deep copy is a copy and it is applied whole.

use crdforge_schema::{Context, Schema};
use k8s_openapi::jiff;

use crate::{ApplyConfiguration, KubeSchema};

macro_rules! date_like {
    ($format:literal: $($t:ty),+ $(,)?) => {$(
        impl KubeSchema for $t {
            fn kube_schema(_: &mut Context) -> Schema {
                Schema::formatted("string", $format)
            }
        }
        impl ApplyConfiguration for $t {
            type Configuration = $t;
        }
        crate::deep_copy_via_clone!($t);
    )+};
}

date_like!("date-time": jiff::Timestamp);
date_like!("date": jiff::civil::Date);

#[cfg(feature = "chrono")]
date_like!("date-time": chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::FixedOffset>);
#[cfg(feature = "chrono")]
date_like!("date": chrono::NaiveDate);
