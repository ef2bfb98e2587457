//! Kubernetes Events about Users, written with the typed client, so
//! `kubectl describe user NAME` shows what the controller did.

use crdforge_runtime::client::TypedClient;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::ObjectMeta;
use kube::{Resource, ResourceExt};

use crate::api::User;

/// Normal or Warning.
#[derive(Debug, Clone, Copy)]
pub enum EventType {
    /// Something worked.
    Normal,
    /// Something needs a person's attention.
    Warning,
}

/// Publishes Events for Users. Users are cluster-scoped, so their Events
/// live in the `default` namespace, where kubectl looks for them.
#[derive(Clone)]
pub struct Recorder {
    events: TypedClient<Event>,
    instance: String,
}

impl Recorder {
    /// A recorder reporting as this controller instance.
    pub fn new(events: TypedClient<Event>, instance: impl Into<String>) -> Self {
        Self {
            events,
            instance: instance.into(),
        }
    }

    /// Publishes an event. Failures are logged, never returned: an event is
    /// a courtesy, and a reconcile must not fail or retry because of one.
    pub async fn publish(&self, user: &User, kind: EventType, reason: &str, message: &str) {
        let now = k8s_openapi::jiff::Timestamp::now();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{:x}", user.name_any(), now.as_nanosecond())),
                namespace: Some("default".into()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(User::api_version(&()).into_owned()),
                kind: Some(User::kind(&()).into_owned()),
                name: Some(user.name_any()),
                uid: user.uid(),
                resource_version: user.resource_version(),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(
                match kind {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .into(),
            ),
            source: Some(EventSource {
                component: Some(crate::reconcile::MANAGER.into()),
                host: None,
            }),
            reporting_component: Some(crate::reconcile::MANAGER.into()),
            reporting_instance: Some(self.instance.clone()),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            action: Some(reason.into()),
            count: Some(1),
            ..Event::default()
        };
        if let Err(err) = self.events.namespace("default").create(&event).await {
            tracing::warn!(user = %user.name_any(), %reason, error = %err, "could not publish an event");
        }
    }
}
