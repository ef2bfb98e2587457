//! Typed clients: every verb for one kind, with its scope right by
//! construction.
//!
//! A [`TypedClient`] for a cluster-scoped kind offers the verbs through
//! [`TypedClient::cluster`]; one for a namespaced kind offers them through
//! [`TypedClient::namespace`], and only `list` and `watch` across all
//! namespaces. So `client.namespace("x")` on a cluster-scoped kind is a
//! compile error, not a 404 at run time. One generic type serves every kind:
//! the derive gives each kind its shape, and nothing per kind is left to
//! generate.
//!
//! ```no_run
//! # use crdforge_runtime::client::TypedClient;
//! # use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
//! # async fn f(client: kube::Client) -> kube::Result<()> {
//! let namespaces = TypedClient::<Namespace>::new(client.clone(), "my-controller");
//! namespaces.cluster().get("default").await?;
//! let config_maps = TypedClient::<ConfigMap>::new(client, "my-controller");
//! config_maps.namespace("default").get("settings").await?;
//! # Ok(()) }
//! ```
//!
//! A namespaced call on a cluster-scoped kind does not compile (the method
//! exists, but its scope bound does not hold: E0277, with a note that says
//! what to call instead). rustdoc checks a
//! `compile_fail` block's error code only on nightly, so on stable these
//! blocks would pass on any error, a typo included; `tests/ui/scope/` holds
//! the same cases with their full expected errors, checked by trybuild.
//!
//! ```compile_fail,E0277
//! # use crdforge_runtime::client::TypedClient;
//! # use k8s_openapi::api::core::v1::Namespace;
//! # fn f(client: kube::Client) {
//! TypedClient::<Namespace>::new(client, "my-controller").namespace("default");
//! # }
//! ```
//!
//! nor does listing a cluster-scoped kind across namespaces:
//!
//! ```compile_fail,E0277
//! # use crdforge_runtime::client::TypedClient;
//! # use k8s_openapi::api::core::v1::Namespace;
//! # fn f(client: kube::Client) {
//! TypedClient::<Namespace>::new(client, "my-controller").all_namespaces();
//! # }
//! ```
//!
//! nor a cluster-wide `get` of a namespaced kind:
//!
//! ```compile_fail,E0277
//! # use crdforge_runtime::client::TypedClient;
//! # use k8s_openapi::api::core::v1::ConfigMap;
//! # async fn f(client: kube::Client) {
//! let _ = TypedClient::<ConfigMap>::new(client, "my-controller")
//!     .cluster()
//!     .get("settings")
//!     .await;
//! # }
//! ```
//!
//! Server-side apply is typed for kinds with an apply configuration (every
//! `#[derive(CustomResource)]` kind, see [`crdforge::apply`]):
//! [`Verbs::apply_configuration`] and [`Verbs::apply_status_configuration`]
//! take `<Kind>Apply`, which names the object; [`Verbs::apply`] and
//! [`Verbs::apply_status`] take any serializable body, for k8s-openapi kinds.

use std::fmt::Debug;

use futures::Stream;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::api::{Api, ObjectList, Patch, PatchParams, WatchEvent};
use kube::core::Status;
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crdforge::apply::{ApplyConfiguration, ObjectConfiguration};

/// The parameters the verbs take, re-exported under kube's own names so
/// that the signatures and the imports read the same.
pub use kube::api::{DeleteParams, ListParams, PostParams, WatchParams};

/// Bounds every typed kind meets.
pub trait Kind:
    Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + Debug + Send + Sync + 'static
{
}
impl<K> Kind for K where
    K: Resource<DynamicType = ()>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

/// A client for one kind, carrying the field manager its writes use.
#[derive(Clone)]
pub struct TypedClient<K> {
    client: Client,
    field_manager: String,
    _kind: std::marker::PhantomData<fn() -> K>,
}

impl<K: Kind> TypedClient<K> {
    /// A client whose server-side applies and patches are made as
    /// `field_manager` (controllers use their name).
    pub fn new(client: Client, field_manager: impl Into<String>) -> Self {
        Self {
            client,
            field_manager: field_manager.into(),
            _kind: std::marker::PhantomData,
        }
    }

    /// The field manager.
    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    fn verbs(&self, api: Api<K>) -> Verbs<K> {
        Verbs {
            api,
            field_manager: self.field_manager.clone(),
        }
    }
}

impl<K: Kind> TypedClient<K> {
    /// Every verb, for a cluster-scoped kind. On a namespaced kind this
    /// does not compile, and the error says to call
    /// [`namespace`](TypedClient::namespace) or
    /// [`all_namespaces`](TypedClient::all_namespaces) instead.
    pub fn cluster(&self) -> Verbs<K>
    where
        K::Scope: ClusterScoped,
    {
        self.verbs(Api::all(self.client.clone()))
    }

    /// Every verb within one namespace, for a namespaced kind. On a
    /// cluster-scoped kind this does not compile, and the error says to
    /// call [`cluster`](TypedClient::cluster) instead.
    pub fn namespace(&self, namespace: &str) -> Verbs<K>
    where
        K::Scope: NamespaceScoped<K>,
    {
        self.verbs(<K::Scope as NamespaceScoped<K>>::api(
            self.client.clone(),
            namespace,
        ))
    }

    /// List and watch across all namespaces (the only verbs the apiserver
    /// serves there), for a namespaced kind.
    pub fn all_namespaces(&self) -> AllNamespaces<K>
    where
        K::Scope: NamespaceScoped<K>,
    {
        AllNamespaces {
            api: Api::all(self.client.clone()),
        }
    }
}

/// The scope of kinds whose verbs need no namespace: cluster-scoped ones.
/// A bound on the scope rather than `Scope = ClusterResourceScope`, so that
/// a namespaced kind meets this message instead of a wall of unsatisfied
/// bounds.
#[diagnostic::on_unimplemented(
    message = "this kind is namespaced: its client has no cluster-wide verbs",
    label = "needs a namespace",
    note = "call it in a namespace, `client.namespace(ns).get(name)`, or list and watch \
            everywhere with `client.all_namespaces()`"
)]
pub trait ClusterScoped {}

impl ClusterScoped for ClusterResourceScope {}

/// The scope of namespaced kinds; it makes the kind's `Api` in one
/// namespace. Like [`ClusterScoped`], a bound that fails with a message.
#[diagnostic::on_unimplemented(
    message = "this kind is cluster-scoped: its client has no namespaced verbs",
    label = "takes no namespace",
    note = "call it cluster-wide: `client.cluster().get(name)`"
)]
pub trait NamespaceScoped<K> {
    /// The kind's `Api` in `namespace`.
    fn api(client: Client, namespace: &str) -> Api<K>;
}

impl<K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>> NamespaceScoped<K>
    for NamespaceResourceScope
{
    fn api(client: Client, namespace: &str) -> Api<K> {
        Api::namespaced(client, namespace)
    }
}

/// List and watch of a namespaced kind in every namespace.
pub struct AllNamespaces<K> {
    api: Api<K>,
}

impl<K: Kind> AllNamespaces<K> {
    /// Lists objects in every namespace.
    pub async fn list(&self, options: &ListParams) -> kube::Result<ObjectList<K>> {
        self.api.list(options).await
    }

    /// Watches objects in every namespace from `resource_version`.
    pub async fn watch(
        &self,
        options: &WatchParams,
        resource_version: &str,
    ) -> kube::Result<impl Stream<Item = kube::Result<WatchEvent<K>>> + use<K>> {
        self.api.watch(options, resource_version).await
    }
}

/// The verbs on one kind in one scope.
pub struct Verbs<K> {
    api: Api<K>,
    field_manager: String,
}

impl<K: Kind> Verbs<K> {
    /// Creates `obj`.
    pub async fn create(&self, obj: &K) -> kube::Result<K> {
        self.api.create(&self.post_params(), obj).await
    }

    /// Creates `obj` with explicit options (dry run, say).
    pub async fn create_with(&self, obj: &K, options: &PostParams) -> kube::Result<K> {
        self.api.create(options, obj).await
    }

    /// Reads an object.
    pub async fn get(&self, name: &str) -> kube::Result<K> {
        self.api.get(name).await
    }

    /// Reads an object, `None` when it does not exist.
    pub async fn get_opt(&self, name: &str) -> kube::Result<Option<K>> {
        self.api.get_opt(name).await
    }

    /// Lists objects.
    pub async fn list(&self, options: &ListParams) -> kube::Result<ObjectList<K>> {
        self.api.list(options).await
    }

    /// Watches objects from `resource_version`.
    pub async fn watch(
        &self,
        options: &WatchParams,
        resource_version: &str,
    ) -> kube::Result<impl Stream<Item = kube::Result<WatchEvent<K>>> + use<K>> {
        self.api.watch(options, resource_version).await
    }

    /// Replaces the object (optimistic concurrency: `obj`'s resourceVersion
    /// must be current, else a 409 Conflict).
    pub async fn update(&self, obj: &K) -> kube::Result<K> {
        let name = name_of(obj)?;
        self.api.replace(name, &self.post_params(), obj).await
    }

    /// Replaces the object's status subresource.
    pub async fn update_status(&self, obj: &K) -> kube::Result<K> {
        let name = name_of(obj)?;
        self.api
            .replace_status(name, &self.post_params(), obj)
            .await
    }

    /// Patches the object.
    pub async fn patch<P: Serialize + Debug>(
        &self,
        name: &str,
        patch: &Patch<P>,
    ) -> kube::Result<K> {
        self.api.patch(name, &self.patch_params(false), patch).await
    }

    /// Patches the status subresource.
    pub async fn patch_status<P: Serialize + Debug>(
        &self,
        name: &str,
        patch: &Patch<P>,
    ) -> kube::Result<K> {
        self.api
            .patch_status(name, &self.patch_params(false), patch)
            .await
    }

    /// Server-side applies `obj` as this client's field manager. `force`
    /// takes over fields another manager owns instead of failing with a
    /// conflict. `obj` is the apply configuration: only the fields set in
    /// it are claimed.
    pub async fn apply(&self, obj: &impl Serialize, name: &str, force: bool) -> kube::Result<K> {
        let body = apply_body::<K>(obj)?;
        self.api
            .patch(name, &self.patch_params(force), &Patch::Apply(body))
            .await
    }

    /// Server-side applies the status subresource.
    pub async fn apply_status(
        &self,
        obj: &impl Serialize,
        name: &str,
        force: bool,
    ) -> kube::Result<K> {
        let body = apply_body::<K>(obj)?;
        self.api
            .patch_status(name, &self.patch_params(force), &Patch::Apply(body))
            .await
    }

    /// Server-side applies a typed configuration (`<Kind>Apply`, see
    /// [`crdforge::apply`]) as this client's field manager: the object named in
    /// the configuration gets exactly the fields set in it, owned by this
    /// manager; fields it applied before and leaves out now are given up.
    pub async fn apply_configuration(
        &self,
        configuration: &K::Configuration,
        options: &ApplyOptions,
    ) -> kube::Result<K>
    where
        K: ApplyConfiguration,
        K::Configuration: ObjectConfiguration,
    {
        let name = configuration_name(configuration)?;
        let body = apply_body::<K>(configuration)?;
        self.api
            .patch(
                name,
                &options.params(&self.field_manager),
                &Patch::Apply(body),
            )
            .await
    }

    /// Server-side applies a typed configuration through the status
    /// subresource: only its `status` is applied (the apiserver ignores the
    /// spec there), as this client's field manager.
    pub async fn apply_status_configuration(
        &self,
        configuration: &K::Configuration,
        options: &ApplyOptions,
    ) -> kube::Result<K>
    where
        K: ApplyConfiguration,
        K::Configuration: ObjectConfiguration,
    {
        let name = configuration_name(configuration)?;
        let body = apply_body::<K>(configuration)?;
        self.api
            .patch_status(
                name,
                &options.params(&self.field_manager),
                &Patch::Apply(body),
            )
            .await
    }

    /// Deletes an object. `Left` is the object while finalizers hold it,
    /// `Right` the server's status once it is gone.
    pub async fn delete(
        &self,
        name: &str,
        options: &DeleteParams,
    ) -> kube::Result<either::Either<K, Status>> {
        self.api.delete(name, options).await
    }

    /// Deletes every object the list options select.
    pub async fn delete_collection(
        &self,
        options: &DeleteParams,
        selector: &ListParams,
    ) -> kube::Result<either::Either<ObjectList<K>, Status>> {
        self.api.delete_collection(options, selector).await
    }

    /// The underlying kube `Api`, for what this type does not wrap.
    pub fn api(&self) -> &Api<K> {
        &self.api
    }

    fn post_params(&self) -> PostParams {
        PostParams {
            field_manager: Some(self.field_manager.clone()),
            ..PostParams::default()
        }
    }

    fn patch_params(&self, force: bool) -> PatchParams {
        let params = PatchParams::apply(&self.field_manager);
        if force { params.force() } else { params }
    }
}

/// How a typed server-side apply is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Take over fields another manager owns instead of failing with a 409
    /// Conflict that names them.
    pub force: bool,
    /// Have the apiserver validate and answer without persisting.
    pub dry_run: bool,
}

impl ApplyOptions {
    /// Options that force the apply.
    pub fn force() -> Self {
        Self {
            force: true,
            ..Self::default()
        }
    }

    fn params(self, field_manager: &str) -> PatchParams {
        let mut params = PatchParams::apply(field_manager);
        params.force = self.force;
        params.dry_run = self.dry_run;
        params
    }
}

fn configuration_name(configuration: &impl ObjectConfiguration) -> kube::Result<&str> {
    let name = configuration.name();
    if name.is_empty() {
        return Err(kube::Error::Service(Box::new(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the apply configuration has no metadata.name",
        ))));
    }
    Ok(name)
}

fn name_of<K: Resource>(obj: &K) -> kube::Result<&str> {
    obj.meta().name.as_deref().ok_or_else(|| {
        kube::Error::Service(Box::new(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the object has no metadata.name",
        )))
    })
}

/// The body of a server-side apply: the configuration as JSON, with
/// apiVersion and kind filled in when the configuration left them out (the
/// apiserver refuses an apply without them).
fn apply_body<K: Resource<DynamicType = ()>>(
    obj: &impl Serialize,
) -> kube::Result<serde_json::Value> {
    let mut body = serde_json::to_value(obj).map_err(kube::Error::SerdeError)?;
    if let Some(map) = body.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| K::api_version(&()).into_owned().into());
        map.entry("kind")
            .or_insert_with(|| K::kind(&()).into_owned().into());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::json;

    #[test]
    fn apply_bodies_name_their_kind() {
        let body = apply_body::<ConfigMap>(&json!({"metadata": {"name": "a"}})).unwrap();
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["kind"], "ConfigMap");
        let body =
            apply_body::<Namespace>(&json!({"kind": "Namespace", "apiVersion": "v1"})).unwrap();
        assert_eq!(body["kind"], "Namespace");
    }

    #[test]
    fn apply_options_set_force_and_dry_run() {
        let params = ApplyOptions::force().params("me");
        assert!(params.force && !params.dry_run);
        assert_eq!(params.field_manager.as_deref(), Some("me"));
        let params = ApplyOptions {
            dry_run: true,
            ..ApplyOptions::default()
        }
        .params("me");
        assert!(!params.force && params.dry_run);
    }

    #[test]
    fn a_configuration_without_a_name_cannot_be_applied() {
        let err = configuration_name(&Unnamed(ObjectMeta::default())).unwrap_err();
        assert!(err.to_string().contains("no metadata.name"), "{err}");
    }

    #[derive(Clone, Debug, Serialize)]
    struct Unnamed(ObjectMeta);
    impl ObjectConfiguration for Unnamed {
        fn metadata(&self) -> &ObjectMeta {
            &self.0
        }
    }

    #[test]
    fn an_object_without_a_name_cannot_be_updated() {
        let err = name_of(&ConfigMap::default()).unwrap_err();
        assert!(err.to_string().contains("no metadata.name"), "{err}");
    }
}
