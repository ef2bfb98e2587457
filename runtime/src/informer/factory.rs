//! The shared informer factory: one informer, and so one watch, per kind and
//! set of options, however many consumers ask for it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Informer, ListWatchConfig, list_watch};
use crate::cache::Indexers;

/// What an informer watches and how: client-go's factory tweaks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct InformerOptions {
    /// Only this namespace (ignored for cluster-scoped kinds). A namespaced
    /// watch needs only a Role in that namespace, not a ClusterRole.
    pub namespace: Option<String>,
    /// Only objects matching this label selector.
    pub label_selector: Option<String>,
    /// Only objects matching this field selector.
    pub field_selector: Option<String>,
    /// Re-deliver every cached object as an update this often.
    pub resync: Option<Duration>,
    /// Start with a plain list then a watch (two requests per sync), never
    /// the streaming list. By default the informer streams its initial list
    /// where the server supports it, and falls back by itself where not.
    pub list_then_watch: bool,
    /// Cache objects without `managedFields` and the last-applied
    /// annotation ([`super::drop_managed_fields`]).
    pub drop_managed_fields: bool,
}

impl InformerOptions {
    fn list_watch_config(&self) -> ListWatchConfig {
        ListWatchConfig {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            streaming_list: !self.list_then_watch,
            ..ListWatchConfig::default()
        }
    }
}

/// Builds the right `Api` for a kind's scope: namespaced kinds honour the
/// namespace option, cluster-scoped kinds ignore it. Implemented for both
/// scope markers so the factory needs no run-time discovery.
pub trait ScopedApi: Sized {
    /// An `Api` for `K` limited to `namespace` where that means something.
    fn api<K>(client: Client, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<Scope = Self, DynamicType = ()>;
}

impl ScopedApi for k8s_openapi::NamespaceResourceScope {
    fn api<K>(client: Client, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<Scope = Self, DynamicType = ()>,
    {
        match namespace {
            Some(ns) => Api::namespaced(client, ns),
            None => Api::all(client),
        }
    }
}

impl ScopedApi for k8s_openapi::ClusterResourceScope {
    fn api<K>(client: Client, _namespace: Option<&str>) -> Api<K>
    where
        K: Resource<Scope = Self, DynamicType = ()>,
    {
        Api::all(client)
    }
}

struct Entry {
    informer: Box<dyn Any + Send + Sync>,
    /// Starts the watch; taken when started.
    start: Option<Box<dyn FnOnce() -> JoinHandle<()> + Send>>,
    synced: watch::Receiver<bool>,
    name: String,
}

/// Hands out shared informers and runs their watches.
///
/// Ask for informers with [`informer`](Self::informer) (full objects) or
/// [`metadata_informer`](Self::metadata_informer) (metadata only, a fraction
/// of the memory for kinds whose bodies a controller never reads), then
/// [`start`](Self::start) and [`wait_for_cache_sync`](Self::wait_for_cache_sync).
/// An informer asked for after `start` starts at once.
#[derive(Clone)]
pub struct SharedInformerFactory {
    inner: Arc<FactoryInner>,
}

struct FactoryInner {
    client: Client,
    defaults: InformerOptions,
    entries: Mutex<HashMap<(TypeId, InformerOptions), Entry>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    started: Mutex<bool>,
}

impl SharedInformerFactory {
    /// A factory whose informers watch with `defaults` unless asked otherwise.
    pub fn new(client: Client, defaults: InformerOptions) -> Self {
        Self {
            inner: Arc::new(FactoryInner {
                client,
                defaults,
                entries: Mutex::new(HashMap::new()),
                tasks: Mutex::new(Vec::new()),
                started: Mutex::new(false),
            }),
        }
    }

    /// The shared informer for `K` with the factory's options.
    pub fn informer<K>(&self) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::Scope: ScopedApi,
    {
        self.informer_with(self.inner.defaults.clone())
    }

    /// The shared informer for `K` with these options.
    pub fn informer_with<K>(&self, options: InformerOptions) -> Informer<K>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::Scope: ScopedApi,
    {
        let client = self.inner.client.clone();
        self.get_or_create::<K>(options, move |informer, options| {
            let api = <K::Scope as ScopedApi>::api::<K>(client, options.namespace.as_deref());
            let stream = list_watch(api, options.list_watch_config()).default_backoff();
            tokio::spawn(informer.run(stream))
        })
    }

    /// The shared metadata-only informer for `K` with the factory's options:
    /// kube's `Api<PartialObjectMeta<K>>` asks the apiserver for metadata
    /// only, so bodies are neither sent nor cached.
    pub fn metadata_informer<K>(&self) -> Informer<PartialObjectMeta<K>>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::Scope: ScopedApi,
    {
        self.informer::<PartialObjectMeta<K>>()
    }

    /// The shared metadata-only informer for `K` with these options.
    pub fn metadata_informer_with<K>(
        &self,
        options: InformerOptions,
    ) -> Informer<PartialObjectMeta<K>>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::Scope: ScopedApi,
    {
        self.informer_with::<PartialObjectMeta<K>>(options)
    }

    fn get_or_create<K>(
        &self,
        options: InformerOptions,
        start: impl FnOnce(Informer<K>, InformerOptions) -> JoinHandle<()> + Send + 'static,
    ) -> Informer<K>
    where
        K: Resource + Send + Sync + 'static,
    {
        let key = (TypeId::of::<K>(), options.clone());
        let mut entries = self.inner.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(&key) {
            return entry
                .informer
                .downcast_ref::<Informer<K>>()
                .expect("entries are keyed by the informer's type")
                .clone();
        }
        let informer = Informer::<K>::new(Indexers::default(), options.resync);
        if options.drop_managed_fields {
            informer
                .add_transform(super::drop_managed_fields::<K>)
                .expect("a new informer is not running");
        }
        let runner = informer.clone();
        let mut entry = Entry {
            informer: Box::new(informer.clone()),
            start: Some(Box::new(move || start(runner, options))),
            synced: informer.synced_receiver(),
            name: std::any::type_name::<K>().to_string(),
        };
        if *self.inner.started.lock().unwrap_or_else(|e| e.into_inner()) {
            self.spawn(&mut entry);
        }
        entries.insert(key, entry);
        informer
    }

    fn spawn(&self, entry: &mut Entry) {
        if let Some(start) = entry.start.take() {
            let task = start();
            self.inner
                .tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(task);
        }
    }

    /// Starts the watch of every informer asked for so far; later ones start
    /// when asked for. Needs a tokio runtime.
    pub fn start(&self) {
        *self.inner.started.lock().unwrap_or_else(|e| e.into_inner()) = true;
        let mut entries = self.inner.entries.lock().unwrap_or_else(|e| e.into_inner());
        for entry in entries.values_mut() {
            self.spawn(entry);
        }
    }

    /// Waits until every started informer has cached its first list, or
    /// `timeout` passes; then names the informers still unsynced.
    pub async fn wait_for_cache_sync(&self, timeout: Duration) -> Result<(), NotSynced> {
        let receivers: Vec<(String, watch::Receiver<bool>)> = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|e| e.start.is_none())
            .map(|e| (e.name.clone(), e.synced.clone()))
            .collect();
        let wait_all = async {
            for (_, mut rx) in receivers.clone() {
                let _ = rx.wait_for(|s| *s).await;
            }
        };
        if tokio::time::timeout(timeout, wait_all).await.is_ok() {
            return Ok(());
        }
        Err(NotSynced(
            receivers
                .into_iter()
                .filter(|(_, rx)| !*rx.borrow())
                .map(|(name, _)| name)
                .collect(),
        ))
    }

    /// Stops every watch. Informers keep their last contents.
    pub fn shutdown(&self) {
        for task in self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

/// Informers whose caches had not synced when the wait ended.
#[derive(Debug, thiserror::Error)]
#[error("caches not synced: {}", .0.join(", "))]
pub struct NotSynced(pub Vec<String>);
