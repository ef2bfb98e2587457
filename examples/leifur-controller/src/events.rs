//! Kubernetes Events on Services, so `kubectl describe service` says what
//! IPAM did or why it did not.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crdforge_runtime::client::TypedClient;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use kube::api::ObjectMeta;
use kube::{Resource, ResourceExt};

use crate::run::NAME;

/// Publishes Events about Services; a refusal repeated with the same reason
/// and message (every pool change re-examines every pending Service) is
/// written once.
pub struct Recorder {
    events: TypedClient<Event>,
    instance: String,
    last: Mutex<HashMap<String, (String, String)>>,
}

impl Recorder {
    /// A recorder reporting as this controller instance.
    pub fn new(events: TypedClient<Event>, instance: impl Into<String>) -> Self {
        Self {
            events,
            instance: instance.into(),
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes an Event of `type_` (Normal or Warning) unless the last
    /// one about this Service said the same. Failures are logged, never
    /// returned: an Event is a courtesy and must not fail a reconcile.
    pub async fn publish(&self, svc: &Service, type_: &str, reason: &str, message: &str) {
        let key = format!("{}/{}", svc.namespace().unwrap_or_default(), svc.name_any());
        {
            let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
            let said = (reason.to_string(), message.to_string());
            if last.get(&key) == Some(&said) {
                return;
            }
            last.insert(key.clone(), said);
        }
        let now = k8s_openapi::jiff::Timestamp::now();
        let namespace = svc.namespace().unwrap_or_default();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{:x}", svc.name_any(), now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some(Service::api_version(&()).into_owned()),
                kind: Some(Service::kind(&()).into_owned()),
                name: Some(svc.name_any()),
                namespace: Some(namespace.clone()),
                uid: svc.uid(),
                resource_version: svc.resource_version(),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(type_.into()),
            source: Some(EventSource {
                component: Some(NAME.into()),
                host: None,
            }),
            reporting_component: Some(NAME.into()),
            reporting_instance: Some(self.instance.clone()),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: Some(MicroTime(now)),
            action: Some("Allocate".into()),
            count: Some(1),
            ..Event::default()
        };
        if let Err(err) = self.events.namespace(&namespace).create(&event).await {
            tracing::warn!(service = %key, %reason, error = %err, "could not publish an event");
        }
    }

    /// Forgets what was said about a Service that is gone.
    pub fn forget(&self, key: &str) {
        self.last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}
