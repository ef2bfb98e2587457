//! Warning Events about IPPools, so `kubectl describe ippool` (and
//! `kubectl get events`) says what the speaker refused to do. Each speaker
//! reports a refusal once per process and pool field; the Event goes to the
//! `default` namespace, where kubectl looks for the Events of cluster-scoped
//! objects.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, Resource, ResourceExt};
use leifur_api::IPPool;

use crate::speaker::FIELD_MANAGER;

/// The namespace of Events about cluster-scoped objects.
pub const NAMESPACE: &str = "default";

/// The Warning Event's reason for a refused BGP peer.
pub const PEER_REFUSED: &str = "BGPPeerRefused";

/// Publishes a Warning Event about `pool` from `node`'s speaker. A failure
/// is logged, never returned: the refusal is logged and counted anyway.
pub async fn warn(client: &Client, node: &str, pool: &IPPool, reason: &str, message: &str) {
    let now = k8s_openapi::jiff::Timestamp::now();
    let event = Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{:x}", pool.name_any(), now.as_nanosecond())),
            namespace: Some(NAMESPACE.into()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(IPPool::api_version(&()).into_owned()),
            kind: Some(IPPool::kind(&()).into_owned()),
            name: Some(pool.name_any()),
            uid: pool.uid(),
            resource_version: pool.resource_version(),
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some("Warning".into()),
        source: Some(EventSource {
            component: Some(FIELD_MANAGER.into()),
            host: Some(node.into()),
        }),
        reporting_component: Some(FIELD_MANAGER.into()),
        reporting_instance: Some(node.into()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        event_time: Some(MicroTime(now)),
        action: Some("Announce".into()),
        count: Some(1),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(client.clone(), NAMESPACE);
    if let Err(err) = api.create(&PostParams::default(), &event).await {
        tracing::warn!(pool = %pool.name_any(), "publishing an Event: {err}");
    }
}
