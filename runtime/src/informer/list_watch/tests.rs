//! The list-watch stream against a scripted fake API: every request it makes
//! is recorded, and each is answered by the next reply of the script.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ListMeta;
use kube::core::watch::{Bookmark, BookmarkMeta};
use kube::core::{Status, TypeMeta};

use super::*;

/// What the fake answers a request with, in order.
enum Reply {
    List(kube::Result<ObjectList<ConfigMap>>),
    Watch(kube::Result<WatchStream<ConfigMap>>),
}

#[derive(Clone, Default)]
struct Fake {
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn new(replies: impl IntoIterator<Item = Reply>) -> Self {
        Self {
            script: Arc::new(Mutex::new(replies.into_iter().collect())),
            requests: Arc::default(),
        }
    }
    fn next(&self, request: String) -> Reply {
        self.requests.lock().unwrap().push(request.clone());
        self.script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| panic!("no reply scripted for `{request}`"))
    }
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl ListerWatcher<ConfigMap> for Fake {
    fn list<'a>(
        &'a self,
        params: &'a ListParams,
    ) -> BoxFuture<'a, kube::Result<ObjectList<ConfigMap>>> {
        let request = format!(
            "list limit={:?} continue={:?} rv={:?}",
            params.limit, params.continue_token, params.resource_version
        );
        let reply = self.next(request.clone());
        async move {
            match reply {
                Reply::List(r) => r,
                Reply::Watch(_) => panic!("a watch was scripted, `{request}` came"),
            }
        }
        .boxed()
    }
    fn watch<'a>(
        &'a self,
        params: &'a WatchParams,
        resource_version: &'a str,
    ) -> BoxFuture<'a, kube::Result<WatchStream<ConfigMap>>> {
        assert!(params.bookmarks, "every watch asks for bookmarks");
        let request = format!(
            "watch rv={resource_version:?}{}",
            if params.send_initial_events {
                " sendInitialEvents"
            } else {
                ""
            }
        );
        let reply = self.next(request.clone());
        async move {
            match reply {
                Reply::Watch(r) => r,
                Reply::List(_) => panic!("a list was scripted, `{request}` came"),
            }
        }
        .boxed()
    }
}

fn cm(name: &str, rv: &str) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.namespace = Some("ns".into());
    c.metadata.name = Some(name.into());
    c.metadata.resource_version = Some(rv.into());
    c
}

fn added(name: &str, rv: &str) -> kube::Result<WatchEvent<ConfigMap>> {
    Ok(WatchEvent::Added(cm(name, rv)))
}

fn bookmark(rv: &str, end: bool) -> kube::Result<WatchEvent<ConfigMap>> {
    let mut annotations = BTreeMap::new();
    if end {
        annotations.insert(INITIAL_EVENTS_END.to_string(), "true".to_string());
    }
    Ok(WatchEvent::Bookmark(Bookmark {
        types: TypeMeta::default(),
        metadata: BookmarkMeta {
            resource_version: rv.into(),
            annotations,
        },
    }))
}

fn status(code: u16, reason: &str) -> Box<Status> {
    Box::new(Status::failure(reason, reason).with_code(code))
}

/// A watch that sends `events`, then stays open with nothing more to say.
fn open_watch(events: Vec<kube::Result<WatchEvent<ConfigMap>>>) -> Reply {
    Reply::Watch(Ok(futures::stream::iter(events)
        .chain(futures::stream::pending())
        .boxed()))
}

/// A watch that sends `events`, then ends (the server closed it).
fn closing_watch(events: Vec<kube::Result<WatchEvent<ConfigMap>>>) -> Reply {
    Reply::Watch(Ok(futures::stream::iter(events).boxed()))
}

fn refused(code: u16, reason: &str) -> Reply {
    Reply::Watch(Err(kube::Error::Api(status(code, reason))))
}

fn page(items: Vec<ConfigMap>, rv: &str, next: Option<&str>) -> Reply {
    Reply::List(Ok(ObjectList {
        types: TypeMeta::default(),
        metadata: ListMeta {
            resource_version: Some(rv.into()),
            continue_: next.map(String::from),
            ..ListMeta::default()
        },
        items,
    }))
}

/// The first `n` items of the stream, as one line each.
async fn take(fake: &Fake, config: ListWatchConfig, n: usize) -> Vec<String> {
    let stream = list_watch(fake.clone(), config);
    let items: Vec<Item<ConfigMap>> = stream.take(n).collect().await;
    items.iter().map(line).collect()
}

fn line(item: &Item<ConfigMap>) -> String {
    let obj = |c: &ConfigMap| {
        format!(
            "{}@{}",
            c.metadata.name.as_deref().unwrap(),
            c.metadata.resource_version.as_deref().unwrap()
        )
    };
    match item {
        Ok(Event::Init) => "init".into(),
        Ok(Event::InitApply(c)) => format!("init-apply {}", obj(c)),
        Ok(Event::InitDone) => "init-done".into(),
        Ok(Event::Apply(c)) => format!("apply {}", obj(c)),
        Ok(Event::Delete(c)) => format!("delete {}", obj(c)),
        Err(watcher::Error::WatchError(s)) => format!("error event {}", s.code),
        Err(e) => format!("error {e}"),
    }
}

const STREAM: &str = "watch rv=\"\" sendInitialEvents";

#[tokio::test]
async fn a_streaming_list_is_one_watch_whose_initial_events_end_at_the_bookmark() {
    let fake = Fake::new([open_watch(vec![
        added("a", "3"),
        added("b", "4"),
        // A progress bookmark does not end the initial events.
        bookmark("4", false),
        bookmark("9", true),
        Ok(WatchEvent::Modified(cm("a", "10"))),
        Ok(WatchEvent::Deleted(cm("b", "11"))),
    ])]);
    assert_eq!(
        take(&fake, ListWatchConfig::default(), 6).await,
        [
            "init",
            "init-apply a@3",
            "init-apply b@4",
            "init-done",
            "apply a@10",
            "delete b@11"
        ]
    );
    assert_eq!(fake.requests(), [STREAM]);
}

#[tokio::test]
async fn after_the_bookmark_a_closed_watch_resumes_from_the_last_version_seen() {
    let fake = Fake::new([
        closing_watch(vec![
            added("a", "3"),
            bookmark("9", true),
            bookmark("12", false),
        ]),
        open_watch(vec![Ok(WatchEvent::Modified(cm("a", "13")))]),
    ]);
    assert_eq!(
        take(&fake, ListWatchConfig::default(), 4).await,
        ["init", "init-apply a@3", "init-done", "apply a@13"]
    );
    assert_eq!(fake.requests(), [STREAM, "watch rv=\"12\""]);
}

#[tokio::test]
async fn a_refused_streaming_watch_falls_back_to_a_paged_list_then_a_watch() {
    for (code, reason) in [(422, "Invalid"), (400, "BadRequest")] {
        let fake = Fake::new([
            refused(code, reason),
            page(vec![cm("a", "3")], "7", Some("next")),
            page(vec![cm("b", "5")], "7", None),
            open_watch(vec![added("c", "8")]),
        ]);
        assert_eq!(
            take(&fake, ListWatchConfig::default(), 5).await,
            [
                "init",
                "init-apply a@3",
                "init-apply b@5",
                "init-done",
                "apply c@8"
            ],
            "refused with {code}"
        );
        assert_eq!(
            fake.requests(),
            [
                STREAM,
                "list limit=Some(500) continue=None rv=None",
                "list limit=Some(500) continue=Some(\"next\") rv=None",
                "watch rv=\"7\""
            ]
        );
    }
}

#[tokio::test]
async fn once_fallen_back_a_gone_watch_relists_rather_than_streaming_again() {
    let fake = Fake::new([
        refused(422, "Invalid"),
        page(vec![cm("a", "3")], "7", None),
        open_watch(vec![Ok(WatchEvent::Error(status(410, "Expired")))]),
        page(vec![cm("a", "20")], "21", None),
        open_watch(vec![added("b", "22")]),
    ]);
    assert_eq!(
        take(&fake, ListWatchConfig::default(), 8).await,
        [
            "init",
            "init-apply a@3",
            "init-done",
            "error event 410",
            "init",
            "init-apply a@20",
            "init-done",
            "apply b@22"
        ]
    );
    assert_eq!(
        fake.requests(),
        [
            STREAM,
            "list limit=Some(500) continue=None rv=None",
            "watch rv=\"7\"",
            "list limit=Some(500) continue=None rv=None",
            "watch rv=\"21\""
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn without_the_end_bookmark_it_falls_back_after_the_timeout() {
    // A server that ignores sendInitialEvents: it watches from now and never
    // sends the bookmark. The informer must not wait forever.
    let fake = Fake::new([
        open_watch(vec![added("a", "3")]),
        page(vec![cm("a", "3"), cm("b", "4")], "7", None),
        open_watch(vec![added("c", "8")]),
    ]);
    let started = tokio::time::Instant::now();
    let config = ListWatchConfig {
        initial_events_timeout: Duration::from_secs(10),
        ..ListWatchConfig::default()
    };
    assert_eq!(
        take(&fake, config, 7).await,
        [
            "init",
            "init-apply a@3",
            // The list starts over: the informer drops what it buffered.
            "init",
            "init-apply a@3",
            "init-apply b@4",
            "init-done",
            "apply c@8"
        ]
    );
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(
        fake.requests(),
        [
            STREAM,
            "list limit=Some(500) continue=None rv=None",
            "watch rv=\"7\""
        ]
    );
}

#[tokio::test]
async fn a_watch_that_ends_before_the_bookmark_falls_back() {
    let fake = Fake::new([
        closing_watch(vec![added("a", "3")]),
        page(vec![cm("a", "3")], "7", None),
        open_watch(vec![]),
    ]);
    assert_eq!(
        take(&fake, ListWatchConfig::default(), 5).await,
        [
            "init",
            "init-apply a@3",
            "init",
            "init-apply a@3",
            "init-done"
        ]
    );
}

#[tokio::test]
async fn gone_after_the_bookmark_restarts_with_a_streaming_list() {
    let fake = Fake::new([
        open_watch(vec![
            added("a", "3"),
            bookmark("9", true),
            Ok(WatchEvent::Error(status(410, "Expired"))),
        ]),
        open_watch(vec![added("a", "30"), bookmark("31", true)]),
    ]);
    assert_eq!(
        take(&fake, ListWatchConfig::default(), 7).await,
        [
            "init",
            "init-apply a@3",
            "init-done",
            "error event 410",
            "init",
            "init-apply a@30",
            "init-done"
        ]
    );
    assert_eq!(fake.requests(), [STREAM, STREAM]);
}

#[tokio::test]
async fn passing_failures_and_forbidden_retry_the_streaming_list() {
    // Neither says the server lacks the feature; a list would fail alike.
    let fake = Fake::new([
        refused(503, "ServiceUnavailable"),
        refused(403, "Forbidden"),
        open_watch(vec![bookmark("9", true)]),
    ]);
    let lines = take(&fake, ListWatchConfig::default(), 4).await;
    assert!(
        lines[0].starts_with("error failed to start watching"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("error failed to start watching"),
        "{lines:?}"
    );
    assert_eq!(lines[2..], ["init", "init-done"]);
    assert_eq!(fake.requests(), [STREAM, STREAM, STREAM]);
}

#[tokio::test]
async fn list_then_watch_when_streaming_is_turned_off() {
    let fake = Fake::new([
        page(vec![cm("a", "3")], "7", None),
        open_watch(vec![added("b", "8")]),
    ]);
    let config = ListWatchConfig {
        streaming_list: false,
        ..ListWatchConfig::default()
    };
    assert_eq!(
        take(&fake, config, 4).await,
        ["init", "init-apply a@3", "init-done", "apply b@8"]
    );
    assert_eq!(
        fake.requests(),
        [
            "list limit=Some(500) continue=None rv=None",
            "watch rv=\"7\""
        ]
    );
}

#[tokio::test]
async fn the_informer_syncs_only_at_the_end_bookmark() {
    use crate::cache::Indexers;
    use crate::informer::Informer;

    let (tx, rx) = futures::channel::mpsc::unbounded();
    let fake = Fake::new([Reply::Watch(Ok(rx.boxed()))]);
    let informer: Informer<ConfigMap> = Informer::new(Indexers::default(), None);
    let task = tokio::spawn(
        informer
            .clone()
            .run(list_watch(fake.clone(), ListWatchConfig::default())),
    );
    tx.unbounded_send(added("a", "3")).unwrap();
    tx.unbounded_send(bookmark("4", false)).unwrap();
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert!(!informer.has_synced(), "synced before the end bookmark");
    assert!(
        informer.store().is_empty(),
        "initial events are cached as one replace, at the bookmark"
    );
    tx.unbounded_send(bookmark("5", true)).unwrap();
    tokio::time::timeout(Duration::from_secs(5), informer.wait_synced())
        .await
        .expect("synced at the end bookmark");
    assert_eq!(informer.store().len(), 1);
    task.abort();
}
