//! [`DeepCopy`] for the k8s-openapi types that API types embed.
//!
//! Structs are copied field by field through an exhaustive destructuring of
//! both sides, so a field added by a new k8s-openapi release is a compile
//! error here rather than a field silently left uncopied.

use k8s_openapi::api::core::v1::{LocalObjectReference, ObjectReference};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    Condition, FieldsV1, LabelSelector, LabelSelectorRequirement, ListMeta, ManagedFieldsEntry,
    MicroTime, ObjectMeta, OwnerReference, ShardInfo, Time,
};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::DeepCopy;

/// `DeepCopy` for a struct with named fields, every field listed.
macro_rules! field_wise {
    ($($ty:ident { $($field:ident),+ $(,)? })*) => {
        $(
            impl DeepCopy for $ty {
                fn deep_copy_into(&self, out: &mut Self) {
                    let $ty { $($field),+ } = self;
                    $(DeepCopy::deep_copy_into($field, &mut out.$field);)+
                }
                fn deep_copy(&self) -> Self {
                    let $ty { $($field),+ } = self;
                    $ty { $($field: DeepCopy::deep_copy($field)),+ }
                }
            }
        )*
    };
}

/// `DeepCopy` for a newtype struct.
macro_rules! newtype {
    ($($ty:ident),* $(,)?) => {
        $(
            impl DeepCopy for $ty {
                #[inline]
                fn deep_copy_into(&self, out: &mut Self) {
                    DeepCopy::deep_copy_into(&self.0, &mut out.0);
                }
                #[inline]
                fn deep_copy(&self) -> Self {
                    $ty(DeepCopy::deep_copy(&self.0))
                }
            }
        )*
    };
}

field_wise! {
    ObjectMeta {
        annotations,
        creation_timestamp,
        deletion_grace_period_seconds,
        deletion_timestamp,
        finalizers,
        generate_name,
        generation,
        labels,
        managed_fields,
        name,
        namespace,
        owner_references,
        resource_version,
        self_link,
        uid,
    }
    OwnerReference { api_version, block_owner_deletion, controller, kind, name, uid }
    ManagedFieldsEntry { api_version, fields_type, fields_v1, manager, operation, subresource, time }
    Condition { last_transition_time, message, observed_generation, reason, status, type_ }
    LabelSelector { match_expressions, match_labels }
    LabelSelectorRequirement { key, operator, values }
    ListMeta { continue_, remaining_item_count, resource_version, self_link, shard_info }
    ShardInfo { selector }
    ObjectReference { api_version, field_path, kind, name, namespace, resource_version, uid }
    LocalObjectReference { name }
}

newtype!(Quantity, FieldsV1, RawExtension);

impl DeepCopy for Time {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        // A `jiff::Timestamp`: plain data.
        out.0 = self.0;
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        Time(self.0)
    }
}

impl DeepCopy for MicroTime {
    #[inline]
    fn deep_copy_into(&self, out: &mut Self) {
        out.0 = self.0;
    }
    #[inline]
    fn deep_copy(&self) -> Self {
        MicroTime(self.0)
    }
}

impl DeepCopy for IntOrString {
    fn deep_copy_into(&self, out: &mut Self) {
        match (self, out) {
            (IntOrString::String(from), IntOrString::String(to)) => from.deep_copy_into(to),
            (from, to) => *to = from.deep_copy(),
        }
    }
    fn deep_copy(&self) -> Self {
        match self {
            IntOrString::Int(i) => IntOrString::Int(*i),
            IntOrString::String(s) => IntOrString::String(s.clone()),
        }
    }
}
