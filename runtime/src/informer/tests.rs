//! Informer behaviour on synthetic watch streams; the same behaviour on a
//! real apiserver is tested end to end in `runtime/tests/informer.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::*;

fn cm(name: &str, rv: &str) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.namespace = Some("ns".into());
    c.metadata.name = Some(name.into());
    c.metadata.resource_version = Some(rv.into());
    c
}

/// Records every call as a line, and checks on each call that the store
/// already reflects the event. A failed check is recorded, not asserted:
/// handlers run inside the informer's task, where a panic would only end
/// that task; [`Recorder::lines`] asserts there were none.
#[derive(Clone, Default)]
struct Recorder {
    log: Arc<Mutex<Vec<String>>>,
    store: Arc<Mutex<Option<Store<ConfigMap>>>>,
    stale: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    /// The lines recorded since the last call; fails if any handler ran
    /// before the cache reflected its event.
    fn lines(&self) -> Vec<String> {
        let stale = std::mem::take(&mut *self.stale.lock().unwrap());
        assert!(stale.is_empty(), "handlers ran before the cache: {stale:?}");
        std::mem::take(&mut *self.log.lock().unwrap())
    }
    /// Records a handler call whose store did not yet reflect the event.
    fn check_cache(&self, call: &str, stored: Option<String>, expected: Option<String>) {
        if stored != expected {
            self.stale
                .lock()
                .unwrap()
                .push(format!("{call}: cache has {stored:?}, event {expected:?}"));
        }
    }
    fn push(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
    fn stored_rv(&self, name: &str) -> Option<String> {
        let store = self.store.lock().unwrap();
        let obj = store.as_ref()?.get(&format!("ns/{name}"))?;
        obj.metadata.resource_version.clone()
    }
}

fn name_rv(c: &ConfigMap) -> String {
    format!(
        "{}@{}",
        c.metadata.name.as_deref().unwrap(),
        c.metadata.resource_version.as_deref().unwrap()
    )
}

impl EventHandler<ConfigMap> for Recorder {
    fn on_add(&self, obj: &Arc<ConfigMap>, initial: bool) {
        let name = obj.metadata.name.clone().unwrap();
        self.check_cache(
            &format!("add {name}"),
            self.stored_rv(&name),
            obj.metadata.resource_version.clone(),
        );
        self.push(format!(
            "add {}{}",
            name_rv(obj),
            if initial { " initial" } else { "" }
        ));
    }
    fn on_update(&self, old: &Arc<ConfigMap>, new: &Arc<ConfigMap>) {
        let name = new.metadata.name.clone().unwrap();
        self.check_cache(
            &format!("update {name}"),
            self.stored_rv(&name),
            new.metadata.resource_version.clone(),
        );
        let resync = if Arc::ptr_eq(old, new) { " resync" } else { "" };
        self.push(format!(
            "update {} -> {}{resync}",
            name_rv(old),
            name_rv(new)
        ));
    }
    fn on_delete(&self, deleted: &Deleted<ConfigMap>) {
        let name = deleted.object().metadata.name.clone().unwrap();
        self.check_cache(&format!("delete {name}"), self.stored_rv(&name), None);
        let kind = if deleted.is_final_state_unknown() {
            "tombstone"
        } else {
            "delete"
        };
        self.push(format!("{kind} {}", name_rv(deleted.object())));
    }
}

type Tx = mpsc::UnboundedSender<Result<Event<ConfigMap>, watcher::Error>>;

fn start(resync: Option<Duration>) -> (Informer<ConfigMap>, Recorder, Tx) {
    let informer = Informer::new(Indexers::default(), resync);
    let recorder = Recorder::default();
    *recorder.store.lock().unwrap() = Some(informer.store());
    informer.add_handler(recorder.clone());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(informer.clone().run(UnboundedReceiverStream::new(rx)));
    (informer, recorder, tx)
}

fn list(tx: &Tx, objects: Vec<ConfigMap>) {
    tx.send(Ok(Event::Init)).unwrap();
    for obj in objects {
        tx.send(Ok(Event::InitApply(obj))).unwrap();
    }
    tx.send(Ok(Event::InitDone)).unwrap();
}

/// Lets the informer task drain its channel.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn initial_list_is_delivered_as_adds_then_synced() {
    let (informer, rec, tx) = start(None);
    assert!(!informer.has_synced());
    list(&tx, vec![cm("a", "1"), cm("b", "1")]);
    informer.wait_synced().await;
    let mut lines = rec.lines();
    lines.sort();
    assert_eq!(lines, ["add a@1 initial", "add b@1 initial"]);
    tx.send(Ok(Event::Apply(cm("c", "2")))).unwrap();
    settle().await;
    assert_eq!(rec.lines(), ["add c@2"]);
}

#[tokio::test]
async fn watch_events_update_cache_before_handlers_in_order() {
    let (informer, rec, tx) = start(None);
    list(&tx, vec![]);
    informer.wait_synced().await;
    tx.send(Ok(Event::Apply(cm("a", "1")))).unwrap();
    tx.send(Ok(Event::Apply(cm("a", "2")))).unwrap();
    tx.send(Ok(Event::Delete(cm("a", "3")))).unwrap();
    settle().await;
    assert_eq!(rec.lines(), ["add a@1", "update a@1 -> a@2", "delete a@3"]);
    assert!(informer.store().is_empty());
}

#[tokio::test]
async fn relist_delivers_tombstones_for_objects_deleted_while_disconnected() {
    let (informer, rec, tx) = start(None);
    list(
        &tx,
        vec![cm("kept", "1"), cm("changed", "1"), cm("gone", "1")],
    );
    informer.wait_synced().await;
    rec.lines();
    // The watch breaks; on relisting, "gone" is missing and "new" appeared.
    tx.send(Err(watcher::Error::NoResourceVersion)).unwrap();
    list(
        &tx,
        vec![cm("kept", "1"), cm("changed", "5"), cm("new", "6")],
    );
    settle().await;
    assert_eq!(
        rec.lines(),
        [
            "add new@6",
            "update changed@1 -> changed@5",
            "tombstone gone@1"
        ]
    );
    let mut keys: Vec<String> = informer
        .store()
        .keys()
        .iter()
        .map(|k| k.to_string())
        .collect();
    keys.sort();
    assert_eq!(keys, ["ns/changed", "ns/kept", "ns/new"]);
}

#[tokio::test]
async fn late_handlers_catch_up_with_the_cache() {
    let (informer, _, tx) = start(None);
    list(&tx, vec![cm("a", "1")]);
    informer.wait_synced().await;
    let late = Recorder::default();
    *late.store.lock().unwrap() = Some(informer.store());
    informer.add_handler(late.clone());
    assert_eq!(late.lines(), ["add a@1"]);
    tx.send(Ok(Event::Apply(cm("a", "2")))).unwrap();
    settle().await;
    assert_eq!(late.lines(), ["update a@1 -> a@2"]);
}

#[tokio::test(start_paused = true)]
async fn resync_redelivers_cached_objects_without_the_apiserver() {
    let (informer, rec, tx) = start(Some(Duration::from_secs(30)));
    list(&tx, vec![cm("a", "1")]);
    informer.wait_synced().await;
    rec.lines();
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert!(rec.lines().is_empty());
    tokio::time::sleep(Duration::from_secs(2)).await;
    settle().await;
    assert_eq!(rec.lines(), ["update a@1 -> a@1 resync"]);
}

#[tokio::test]
async fn the_informer_stops_when_its_stream_ends() {
    let informer: Informer<ConfigMap> = Informer::new(Indexers::default(), None);
    let stream = futures::stream::iter(vec![
        Ok(Event::Init),
        Ok(Event::InitApply(cm("a", "1"))),
        Ok(Event::InitDone),
    ]);
    tokio::time::timeout(Duration::from_secs(5), informer.clone().run(stream.boxed()))
        .await
        .expect("run returns when the stream ends");
    assert!(informer.has_synced());
    assert_eq!(informer.store().len(), 1);
}

/// A ConfigMap as the apiserver sends it: with managedFields and, after a
/// `kubectl apply`, the last-applied annotation, beside one of its own.
fn as_served(name: &str, rv: &str) -> ConfigMap {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
    let mut c = cm(name, rv);
    c.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
        manager: Some("kubectl".into()),
        operation: Some("Apply".into()),
        fields_v1: Some(FieldsV1(serde_json::json!({"f:data": {"f:k": {}}}))),
        ..Default::default()
    }]);
    c.metadata.annotations = Some(
        [
            (
                LAST_APPLIED_ANNOTATION.to_string(),
                "{\"big\":true}".to_string(),
            ),
            ("team".to_string(), "a".to_string()),
        ]
        .into(),
    );
    c
}

/// What the transform must have left: no managedFields, only the team
/// annotation.
fn transformed(c: &ConfigMap) -> bool {
    c.metadata.managed_fields.is_none()
        && c.metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.len() == 1 && a["team"] == "a")
}

#[tokio::test]
async fn transforms_apply_to_the_initial_list_watch_events_relists_and_deletes() {
    let informer: Informer<ConfigMap> = Informer::new(Indexers::default(), None);
    informer.add_transform(drop_managed_fields).unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&seen);
    let check = move |what: &str, c: &ConfigMap| {
        let ok = if transformed(c) { "" } else { " UNTRANSFORMED" };
        log.lock()
            .unwrap()
            .push(format!("{what} {}{ok}", name_rv(c)));
    };
    let (c1, c2, c3) = (check.clone(), check.clone(), check);
    informer.add_handler(
        HandlerFns::new()
            .on_add(move |o, _| c1("add", o))
            .on_update(move |_, n| c2("update", n))
            .on_delete(move |d| c3("delete", d.object())),
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(informer.clone().run(UnboundedReceiverStream::new(rx)));
    list(&tx, vec![as_served("a", "1"), as_served("b", "1")]);
    informer.wait_synced().await;
    tx.send(Ok(Event::Apply(as_served("c", "2")))).unwrap();
    tx.send(Ok(Event::Apply(as_served("a", "3")))).unwrap();
    tx.send(Ok(Event::Delete(as_served("b", "4")))).unwrap();
    // A relist after a lost watch.
    list(&tx, vec![as_served("a", "5"), as_served("d", "6")]);
    settle().await;
    let mut lines = seen.lock().unwrap().clone();
    lines[..2].sort();
    assert_eq!(
        lines,
        [
            "add a@1",
            "add b@1",
            "add c@2",
            "update a@3",
            "delete b@4",
            "add d@6",
            "update a@5",
            "delete c@2"
        ]
    );
    let cached = informer.store().list();
    assert_eq!(cached.len(), 2);
    assert!(cached.iter().all(|c| transformed(c)));
}

#[tokio::test]
async fn transforms_run_in_order_and_only_before_the_informer_runs() {
    let informer: Informer<ConfigMap> = Informer::new(Indexers::default(), None);
    informer
        .add_transform(|c: &mut ConfigMap| c.data = Some([("x".into(), "1".into())].into()))
        .unwrap();
    informer
        .add_transform(|c: &mut ConfigMap| {
            c.data
                .get_or_insert_with(Default::default)
                .insert("x".into(), "2".into());
        })
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(informer.clone().run(UnboundedReceiverStream::new(rx)));
    list(&tx, vec![cm("a", "1")]);
    informer.wait_synced().await;
    assert_eq!(
        informer.store().get("ns/a").unwrap().data.as_ref().unwrap()["x"],
        "2"
    );
    let err = informer.add_transform(|_: &mut ConfigMap| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the informer for {} is already running: add transforms before it starts",
            std::any::type_name::<ConfigMap>()
        )
    );
}

#[test]
fn dropping_managed_fields_keeps_other_annotations_and_removes_an_emptied_map() {
    let mut c = as_served("a", "1");
    drop_managed_fields(&mut c);
    assert!(transformed(&c));
    let mut only_last_applied = cm("b", "1");
    only_last_applied.metadata.annotations =
        Some([(LAST_APPLIED_ANNOTATION.to_string(), "{}".to_string())].into());
    drop_managed_fields(&mut only_last_applied);
    assert_eq!(only_last_applied.metadata.annotations, None);
}
