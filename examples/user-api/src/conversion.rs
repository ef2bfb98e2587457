//! v1 ⇄ v2 of User, through the hub v1: `role` and `groups` move under
//! `access`, and v2's `team`, which v1 cannot hold, rides on v1 objects in
//! the annotation [`CONVERSION_DATA`] so that a v2 client reading back what
//! it wrote (through v1 storage) loses nothing. v1 → v2 → v1 and
//! v2 → v1 → v2 are the identity (`tests/conversion.rs` checks it on
//! generated values); no conversion can fail but on a stashed annotation
//! that does not parse, which is an error naming the annotation.
//!
//! Such an annotation can only come from a client that edits it by hand,
//! and it fails every v2 read that includes the object — a v2 list too,
//! and discovery prefers v2 — until it is fixed or removed through v1.
//! Refusing it at admission would need the validating webhook on every
//! update, which the match condition avoids on purpose (see
//! [`crate::webhooks`]); that trade is left as it is.

use crdforge::conversion::{ConversionError, Converter, stash, unstash};
use serde::{Deserialize, Serialize};

use crate::{User, v2};

/// The annotation of a v1 User holding what only v2 can express.
pub const CONVERSION_DATA: &str = "example.com/conversion-data";

/// v2's fields that v1 lacks, kept on a v1 object.
#[derive(Serialize, Deserialize, Default)]
struct OnlyInV2 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    team: Option<String>,
}

impl TryFrom<User> for v2::User {
    type Error = ConversionError;

    fn try_from(hub: User) -> Result<Self, ConversionError> {
        let mut metadata = hub.metadata;
        let kept: OnlyInV2 = unstash(&mut metadata, CONVERSION_DATA)?.unwrap_or_default();
        Ok(v2::User {
            metadata,
            spec: v2::UserSpec {
                display_name: hub.spec.display_name,
                email: hub.spec.email,
                access: v2::Access {
                    role: hub.spec.role,
                    groups: hub.spec.groups,
                },
                quota: hub.spec.quota,
                team: kept.team,
            },
            status: hub.status,
        })
    }
}

impl TryFrom<v2::User> for User {
    type Error = ConversionError;

    fn try_from(spoke: v2::User) -> Result<Self, ConversionError> {
        let mut metadata = spoke.metadata;
        // A v2 object has `team` itself; an annotation a client copied
        // over from a v1 read is stale and must not come back as the team
        // when the object is read as v2 again.
        if let Some(annotations) = metadata.annotations.as_mut() {
            annotations.remove(CONVERSION_DATA);
            if annotations.is_empty() {
                metadata.annotations = None;
            }
        }
        stash(
            &mut metadata,
            CONVERSION_DATA,
            &OnlyInV2 {
                team: spoke.spec.team,
            },
        )?;
        Ok(User {
            metadata,
            spec: crate::UserSpec {
                display_name: spoke.spec.display_name,
                email: spoke.spec.email,
                role: spoke.spec.access.role,
                groups: spoke.spec.access.groups,
                quota: spoke.spec.quota,
            },
            status: spoke.status,
        })
    }
}

/// Every served version of User, through the hub v1.
pub fn converter() -> Converter<User> {
    Converter::new().spoke::<v2::User>()
}
