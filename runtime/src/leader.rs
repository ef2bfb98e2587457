//! Leader election over a `coordination.k8s.io/v1` Lease, with client-go's
//! rules.
//!
//! Guarantees:
//! - **at most one leader per lease term**: a candidate takes the lease only
//!   when it is free, released, or unrenewed for a whole lease duration, and
//!   every write carries the resourceVersion it read, so two candidates
//!   racing for it cannot both win;
//! - **no clock comparison across machines**: expiry is judged by how long
//!   *this* process has seen the lease record unchanged, never by comparing
//!   `renewTime` with the local clock, so clock skew cannot elect two leaders;
//! - **a deposed leader stops**: once the leader fails to renew for
//!   `renew_deadline` (shorter than the lease duration), or sees another
//!   holder, its [`Leadership`] token flips to lost and the future given to
//!   [`LeaderElector::run`] is dropped, before any other candidate may take
//!   over. This holds on an apiserver that accepts requests and never
//!   answers: every request is bounded by the deadline, which runs from the
//!   moment the last successful renew was *sent* (a standby can have seen
//!   that record no earlier, so it waits a whole lease duration from a later
//!   instant than the one our deadline counts from);
//! - **graceful hand-over**: a leader that finishes releases the lease so a
//!   standby takes over at its next retry instead of after a full duration.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tokio::time::Instant;

/// Timing and identity of a candidate. The defaults are client-go's.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease; one per controller.
    pub name: String,
    /// This candidate's identity, unique among candidates (pod name).
    pub identity: String,
    /// How long a lease holds without renewal (15 s).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up (10 s).
    pub renew_deadline: Duration,
    /// How often candidates try to acquire and the leader renews (2 s).
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// client-go's default timings for this lease and identity.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Why leadership ended.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The leader could not renew within the renew deadline, or saw another
    /// holder: it must stop acting as leader.
    #[error("lost the lease {0}")]
    Lost(String),
    /// The configuration cannot work.
    #[error("invalid leader election config: {0}")]
    Config(String),
}

/// Held by the code that runs while leading: tells whether leadership is
/// still held, so that a write can be skipped once it is not.
#[derive(Clone)]
pub struct Leadership {
    rx: watch::Receiver<bool>,
}

impl Leadership {
    /// Whether this process still leads.
    pub fn is_leader(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when leadership is lost.
    pub async fn lost(&mut self) {
        let _ = self.rx.wait_for(|leading| !*leading).await;
    }
}

/// A candidate for one lease.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The record last seen and when this process first saw it.
    observed: Option<(LeaseSpec, Instant)>,
}

enum Attempt {
    /// We hold the lease now.
    Held,
    /// Someone else holds it.
    Taken(String),
}

impl LeaderElector {
    /// A candidate; nothing is sent until [`run`](Self::run).
    pub fn new(client: Client, config: LeaseConfig) -> Result<Self, LeaderError> {
        if config.lease_duration <= config.renew_deadline {
            return Err(LeaderError::Config(
                "lease_duration must be longer than renew_deadline".into(),
            ));
        }
        if config.renew_deadline <= config.retry_period {
            return Err(LeaderError::Config(
                "renew_deadline must be longer than retry_period".into(),
            ));
        }
        Ok(Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
        })
    }

    /// Waits until this candidate leads, then runs `lead` while renewing.
    /// Returns `Ok` with `lead`'s output when it finishes (the lease is then
    /// released), or [`LeaderError::Lost`] when leadership is lost first (the
    /// `lead` future is then dropped; a controller should exit, as client-go's
    /// do, and start over as a candidate).
    pub async fn run<F, Fut, T>(mut self, lead: F) -> Result<T, LeaderError>
    where
        F: FnOnce(Leadership) -> Fut,
        Fut: Future<Output = T>,
    {
        let renewed = self.acquire().await;
        tracing::info!(lease = %self.config.name, identity = %self.config.identity, "became leader");
        let (tx, rx) = watch::channel(true);
        let work = lead(Leadership { rx });
        // Both futures are polled side by side, so the work goes on while a
        // renew is in flight; whichever ends first drops the other here.
        let outcome = tokio::select! {
            out = work => Ok(out),
            lost = self.keep_renewed(renewed, &tx) => Err(lost),
        };
        match outcome {
            Ok(out) => {
                let _ = tx.send(false);
                self.release().await;
                Ok(out)
            }
            Err(lost) => Err(lost),
        }
    }

    /// Renews every retry period until leadership is lost, and says why.
    /// `renewed` is when the last successful attempt was sent.
    async fn keep_renewed(
        &mut self,
        mut renewed: Instant,
        leading: &watch::Sender<bool>,
    ) -> LeaderError {
        loop {
            let deadline = renewed + self.config.renew_deadline;
            tokio::time::sleep_until((Instant::now() + self.config.retry_period).min(deadline))
                .await;
            if Instant::now() >= deadline {
                break;
            }
            let sent = Instant::now();
            // A request the apiserver accepts and never answers must not
            // outlive the deadline: that is how a leader keeps leading after
            // a standby took over.
            match tokio::time::timeout_at(deadline, self.try_acquire_or_renew()).await {
                Ok(Ok(Attempt::Held)) => renewed = sent,
                Ok(Ok(Attempt::Taken(holder))) => {
                    let _ = leading.send(false);
                    return LeaderError::Lost(format!(
                        "{}: now held by {holder}",
                        self.config.name
                    ));
                }
                Ok(Err(err)) => tracing::warn!(error = %err, "renewing the lease failed"),
                Err(_) => {
                    tracing::warn!("renewing the lease got no answer before the renew deadline")
                }
            }
        }
        let _ = leading.send(false);
        LeaderError::Lost(format!(
            "{}: not renewed for {:?}",
            self.config.name, self.config.renew_deadline
        ))
    }

    /// Tries until the lease is ours; returns when the winning attempt was
    /// sent, which is when the renew deadline starts counting.
    async fn acquire(&mut self) -> Instant {
        loop {
            let sent = Instant::now();
            // Bounded like a renew, so that a hung apiserver cannot keep a
            // candidate from trying again.
            match tokio::time::timeout(self.config.renew_deadline, self.try_acquire_or_renew())
                .await
            {
                Ok(Ok(Attempt::Held)) => return sent,
                Ok(Ok(Attempt::Taken(holder))) => {
                    tracing::debug!(%holder, "lease held by another candidate")
                }
                Ok(Err(err)) => tracing::warn!(error = %err, "acquiring the lease failed"),
                Err(_) => {
                    tracing::warn!("acquiring the lease got no answer within the renew deadline")
                }
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    async fn try_acquire_or_renew(&mut self) -> kube::Result<Attempt> {
        let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
        let duration_secs = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            let lease = Lease {
                metadata: kube::api::ObjectMeta {
                    name: Some(self.config.name.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.config.identity.clone()),
                    lease_duration_seconds: Some(duration_secs),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(created.spec.unwrap_or_default());
                    Ok(Attempt::Held)
                }
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    Ok(Attempt::Taken("a candidate that created it first".into()))
                }
                Err(err) => Err(err),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        self.observe(spec.clone());
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == self.config.identity;
        if !ours && !holder.is_empty() && !self.expired(&spec) {
            return Ok(Attempt::Taken(holder));
        }
        let mut new = spec.clone();
        new.holder_identity = Some(self.config.identity.clone());
        new.lease_duration_seconds = Some(duration_secs);
        new.renew_time = Some(now.clone());
        if !ours {
            new.acquire_time = Some(now);
            new.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        lease.spec = Some(new);
        // The resourceVersion read above rides along: if anyone wrote the
        // lease since, this replace fails with 409 and we did not win.
        let name = lease.name_any();
        match self
            .api
            .replace(&name, &PostParams::default(), &lease)
            .await
        {
            Ok(updated) => {
                self.observe(updated.spec.unwrap_or_default());
                Ok(Attempt::Held)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                Ok(Attempt::Taken("a candidate that wrote it first".into()))
            }
            Err(err) => Err(err),
        }
    }

    /// Remembers when this process first saw the current record.
    fn observe(&mut self, spec: LeaseSpec) {
        match &self.observed {
            Some((seen, _)) if *seen == spec => {}
            _ => self.observed = Some((spec, Instant::now())),
        }
    }

    /// Whether the record has stood unchanged, in our own observation, for a
    /// whole lease duration (the holder's, as written in the lease).
    fn expired(&self, spec: &LeaseSpec) -> bool {
        let duration = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
            .unwrap_or(self.config.lease_duration);
        match &self.observed {
            Some((seen, at)) if seen == spec => at.elapsed() >= duration,
            _ => false,
        }
    }

    /// Gives the lease up so that a standby need not wait for it to expire;
    /// bounded by the renew deadline, after which it expires instead.
    async fn release(&mut self) {
        let deadline = self.config.renew_deadline;
        if tokio::time::timeout(deadline, self.try_release())
            .await
            .is_err()
        {
            tracing::warn!("releasing the lease got no answer; it will expire instead");
        }
    }

    async fn try_release(&mut self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(&self.config.identity) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(k8s_openapi::jiff::Timestamp::now()));
        let name = lease.name_any();
        if let Err(err) = self
            .api
            .replace(&name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(error = %err, "releasing the lease failed; it will expire instead");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn timings_must_nest() {
        // Building a client sends nothing, so no server is needed here.
        let client =
            Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
        let mut config = LeaseConfig::new("ns", "lease", "me");
        config.renew_deadline = config.lease_duration;
        let err = LeaderElector::new(client.clone(), config).err().unwrap();
        assert!(
            err.to_string().contains("lease_duration must be longer"),
            "{err}"
        );
        let mut config = LeaseConfig::new("ns", "lease", "me");
        config.retry_period = config.renew_deadline;
        let err = LeaderElector::new(client.clone(), config).err().unwrap();
        assert!(
            err.to_string().contains("renew_deadline must be longer"),
            "{err}"
        );
        assert!(LeaderElector::new(client, LeaseConfig::new("ns", "lease", "me")).is_ok());
    }
}
