//! The Warning Event on a ConfigMap with invalid rule files. One Event per
//! ConfigMap, under a fixed name ([`crate::api::event_name`]): applied with
//! the current problems while there are any, deleted once there are none,
//! so `kubectl describe configmap` shows what is wrong now, not a history.

use crdforge_runtime::client::TypedClient;
use k8s_openapi::api::core::v1::{ConfigMap, Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::{DeleteParams, ObjectMeta};
use kube::{Resource, ResourceExt};

use crate::api::{INVALID_REASON, NAME, event_name};

/// Writes and removes the Warning Events.
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

    /// Sets the Warning Event of `cm` to `message`.
    pub async fn warn(&self, cm: &ConfigMap, message: &str) -> kube::Result<()> {
        let now = k8s_openapi::jiff::Timestamp::now();
        let namespace = cm.namespace().unwrap_or_default();
        let name = event_name(&cm.name_any());
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(ConfigMap::api_version(&()).into_owned()),
                kind: Some(ConfigMap::kind(&()).into_owned()),
                name: Some(cm.name_any()),
                namespace: Some(namespace.clone()),
                uid: cm.uid(),
                resource_version: cm.resource_version(),
                ..ObjectReference::default()
            },
            reason: Some(INVALID_REASON.into()),
            message: Some(message.into()),
            type_: Some("Warning".into()),
            source: Some(EventSource {
                component: Some(NAME.into()),
                host: None,
            }),
            reporting_component: Some(NAME.into()),
            reporting_instance: Some(self.instance.clone()),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            action: Some("Validate".into()),
            count: Some(1),
            ..Event::default()
        };
        self.events
            .namespace(&namespace)
            .apply(&event, &name, true)
            .await?;
        Ok(())
    }

    /// Removes the Warning Event of `cm`, if there is one.
    pub async fn clear(&self, cm: &ConfigMap) -> kube::Result<()> {
        self.clear_named(&cm.namespace().unwrap_or_default(), &cm.name_any())
            .await
    }

    /// Removes the Warning Event of the ConfigMap `namespace/name`, if there
    /// is one.
    pub async fn clear_named(&self, namespace: &str, name: &str) -> kube::Result<()> {
        match self
            .events
            .namespace(namespace)
            .delete(&event_name(name), &DeleteParams::default())
            .await
        {
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            other => other.map(|_| ()),
        }
    }
}
