//! The validated model of one derive input: a type, its fields or variants,
//! and everything its `#[crd]`, `#[kube]`, `#[serde]` and doc attributes
//! say. [`crate::frontend::parse`] builds it (or reports every error);
//! [`crate::emit`] consumes it and cannot fail.

use proc_macro2::Span;
use syn::{Expr, Generics, Ident, Member, Meta, Path, Type, Visibility};

pub(crate) use crdforge_schema::parts::{Column, Scale};
use crdforge_schema::{Constraints, Rule};

/// What is being derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Derive {
    /// `#[derive(CustomResource)]` on a spec struct.
    CustomResource,
    /// `#[derive(KubeSchema)]` on a nested struct or enum.
    Schema,
}

/// One derive input, validated.
pub(crate) struct Input {
    /// The type's name.
    pub ident: Ident,
    /// Its generics; the schema impl adds a `KubeSchema` bound per parameter.
    pub generics: Generics,
    /// Its visibility, given to the generated root struct.
    pub vis: Visibility,
    /// Path to the crdforge crate in generated code (`#[crd(crate = "...")]`).
    pub krate: Path,
    /// Type-level constraints: description from docs, CEL rules (including
    /// those from `exactly_one_of` and immutable optional fields), ...
    pub constraints: Constraints,
    /// How the data is shaped on the wire.
    pub body: Body,
    /// Every Rust field and variant, serde-skipped ones included, for the
    /// impls that handle whole values (`DeepCopy`).
    pub rust: RustBody,
    /// The resource attributes, for `CustomResource` only.
    pub resource: Option<Resource>,
    /// The apply configurations to emit; `None` for `#[crd(apply = false)]`.
    pub apply: Option<ApplyNames>,
}

/// The names of the apply configurations a derive emits
/// (`crdforge::ApplyConfiguration`).
pub(crate) struct ApplyNames {
    /// The struct of optional fields for this type: `<Type>Apply`, or the
    /// name given by `apply = "..."` on a `KubeSchema` struct. `None` for
    /// enums and transparent structs, which have no struct of their own (an
    /// enum is its own configuration, a newtype its inner type's).
    pub own: Option<Ident>,
    /// For a `CustomResource`: the whole object's configuration,
    /// `<Root>Apply`, or the name given by `apply = "..."`.
    pub root: Option<Ident>,
}

/// A struct's or enum's data, after serde's attributes.
pub(crate) enum Body {
    /// Named fields.
    Struct(Vec<Field>),
    /// A newtype struct or a `#[serde(transparent)]` struct: the schema of
    /// the one non-skipped field.
    Transparent(Box<Field>),
    /// An enum.
    Enum {
        /// serde's representation.
        tagging: Tagging,
        /// The variants not skipped.
        variants: Vec<Variant>,
    },
}

/// serde's enum representations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tagging {
    /// Default.
    External,
    /// `#[serde(tag = "...")]`.
    Internal(String),
    /// `#[serde(tag = "...", content = "...")]`.
    Adjacent(String, String),
    /// `#[serde(untagged)]`.
    Untagged,
}

/// One field that appears on the wire.
pub(crate) struct Field {
    /// How Rust names it (`self.name` or `self.0`).
    pub member: Member,
    /// Its type, as written.
    pub ty: Type,
    /// The span of the field, for errors in generated code.
    pub span: Span,
    /// Its name on the wire, after serde's renames.
    pub wire_name: String,
    /// `#[serde(flatten)]`.
    pub flatten: bool,
    /// An `Option<Option<T>>` read and written with
    /// `crdforge::serde_helpers::double_option`: the inner `None` is a null
    /// that is kept, so the schema is the inner option's, made nullable.
    pub double_option: bool,
    /// Whether the field must be present; see `frontend::attr` for the rule.
    pub required: Requirement,
    /// `#[crd(allow_float)]`: schema from `KubeSchemaFloat`.
    pub allow_float: bool,
    /// `#[crd(schema_with = path)]`: a `fn(&mut Context) -> Schema`.
    pub schema_with: Option<Path>,
    /// `#[crd(schemars)]`: schema from `schemars::JsonSchema`, read by
    /// `crdforge::schema::from_json`.
    pub schemars: bool,
    /// What the attributes add to the type's schema.
    pub constraints: Constraints,
    /// `#[crd(default = expr)]`: a typed Rust default, serialized at run time.
    pub default_expr: Option<Expr>,
    /// `#[schemars(...)]` on this field, which crdforge does not read: its
    /// span and what to write instead, for a warning.
    pub ignored_schemars: Option<(Span, String)>,
}

/// A struct's or enum's data as Rust sees it: every field and variant,
/// whatever serde does with them.
pub(crate) enum RustBody {
    /// A struct.
    Struct(RustFields),
    /// An enum.
    Enum(Vec<RustVariant>),
}

/// One enum variant, as Rust sees it.
pub(crate) struct RustVariant {
    /// Its name.
    pub ident: Ident,
    /// Its fields.
    pub fields: RustFields,
}

/// The fields of a struct or variant, in declaration order.
pub(crate) enum RustFields {
    /// `{ a: A, b: B }`.
    Named(Vec<RustField>),
    /// `(A, B)`.
    Unnamed(Vec<RustField>),
    /// No fields.
    Unit,
}

/// One Rust field, serde-skipped or not.
pub(crate) struct RustField {
    /// How Rust names it (`self.name` or `self.0`).
    pub member: Member,
    /// Its type, as written.
    pub ty: Type,
    /// The span of its type, for errors in generated code.
    pub span: Span,
    /// How `DeepCopy` copies it.
    pub deep_copy: DeepCopyMode,
}

/// `#[crd(deep_copy = "...")]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum DeepCopyMode {
    /// Through the field type's own `DeepCopy` impl (default, `"deep"`).
    #[default]
    Deep,
    /// Through `Clone::clone_from`, for foreign types without `DeepCopy`
    /// (`"clone"`).
    Clone,
    /// Through the type's own `DeepCopy`, which the derive knows exists
    /// (the root's metadata and spec): never probed for the schemars
    /// fallback.
    Native,
}

/// How a field's presence is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// Required unless the type is optional (`Option<T>`), decided by the
    /// type's `KubeSchema::OPTIONAL` at compile time of the user's crate.
    ByType,
    /// `#[crd(required)]`.
    Required,
    /// `#[crd(optional)]`, `#[serde(default)]` or `skip_serializing_if`.
    Optional,
}

/// One enum variant that appears on the wire.
pub(crate) struct Variant {
    /// Its Rust name, for errors.
    pub ident: Ident,
    /// Its name on the wire.
    pub wire_name: String,
    /// Its doc comment.
    pub docs: Option<String>,
    /// What it carries.
    pub shape: VariantShape,
}

/// What a variant carries.
pub(crate) enum VariantShape {
    /// Nothing.
    Unit,
    /// One unnamed field.
    Newtype(Box<Field>),
    /// Named fields, with the variant's own constraints.
    Struct(Vec<Field>),
}

/// `#[kube(...)]`/`#[crd(...)]` resource attributes of a `CustomResource`.
pub(crate) struct Resource {
    /// API group.
    pub group: String,
    /// API version of this type.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// The generated root struct's name (`root = "..."`), the kind by default.
    pub root: Ident,
    /// Lowercase plural.
    pub plural: String,
    /// Lowercase singular.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// `shortNames`.
    pub shortnames: Vec<String>,
    /// `categories`.
    pub categories: Vec<String>,
    /// The status type, which also enables the status subresource.
    pub status: Option<Type>,
    /// The scale subresource.
    pub scale: Option<Scale>,
    /// `additionalPrinterColumns`.
    pub printcolumns: Vec<Column>,
    /// `selectableFields` JSON paths.
    pub selectable: Vec<String>,
    /// Extra derives on the root struct.
    pub derives: Vec<Path>,
    /// Extra attributes on the root struct (`attr = "..."`).
    pub attrs: Vec<Meta>,
    /// Description of the root schema.
    pub doc: Option<String>,
    /// CRD metadata annotations.
    pub annotations: Vec<(String, String)>,
    /// CRD metadata labels.
    pub labels: Vec<(String, String)>,
    /// CEL rules on the root object.
    pub rules: Vec<Rule>,
    /// `storage`.
    pub storage: bool,
    /// `served`.
    pub served: bool,
    /// `deprecated`, with the optional warning.
    pub deprecated: Option<Option<String>>,
    /// How the spec's schema is produced.
    pub schema_mode: SchemaMode,
    /// controller-gen's `maxDescLen`.
    pub max_description_length: Option<usize>,
    /// `optional_spec`: objects may leave `spec` out (it defaults), with
    /// the key's span for the `Default` bound this needs.
    pub optional_spec: Option<Span>,
    /// `no_spec`: the spec's fields sit at the root of the object, beside
    /// `apiVersion`, `kind`, `metadata` and `status` (kube-derive's key,
    /// for CRDs in the wild without a `spec`); the root struct still holds
    /// them in `spec`, flattened on the wire.
    pub no_spec: bool,
}

/// kube-derive's `schema = "..."`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SchemaMode {
    /// The derive implements `KubeSchema` for the spec (default).
    Derived,
    /// The user implements `KubeSchema` for the spec.
    Manual,
    /// No schema: the spec preserves unknown fields.
    Disabled,
}

impl Input {
    /// Every field on the wire, in struct and variant order, with the
    /// variant it belongs to (none for a struct's).
    pub(crate) fn wire_fields(&self) -> Vec<(Option<&Variant>, &Field)> {
        let mut fields = Vec::new();
        match &self.body {
            Body::Struct(all) => fields.extend(all.iter().map(|f| (None, f))),
            Body::Transparent(field) => fields.push((None, field)),
            Body::Enum { variants, .. } => {
                for v in variants {
                    match &v.shape {
                        VariantShape::Unit => {}
                        VariantShape::Newtype(field) => fields.push((Some(v), &**field)),
                        VariantShape::Struct(all) => {
                            fields.extend(all.iter().map(|f| (Some(v), f)))
                        }
                    }
                }
            }
        }
        fields
    }
}

impl Field {
    /// How Rust names the field in messages: `name` (without `r#`), or the
    /// index of a tuple field.
    pub(crate) fn rust_name(&self) -> String {
        match &self.member {
            Member::Named(ident) => ident.to_string().trim_start_matches("r#").to_owned(),
            Member::Unnamed(index) => index.index.to_string(),
        }
    }

    /// Whether the field's schema is asked of its type, rather than given
    /// by `schema_with`, schemars or `schemaless`, or by the float trait.
    pub(crate) fn schema_from_type(&self) -> bool {
        self.schema_with.is_none()
            && !self.schemars
            && !self.constraints.schemaless
            && !self.allow_float
    }
}
