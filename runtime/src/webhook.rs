//! Conversion and admission webhooks from typed Rust functions, served on
//! [`crate::server::Server`] (feature `webhook`).
//!
//! - [`Server::conversion`]: a `ConversionReview` handler for a
//!   [`Converter`]: every object of a review converted to the desired
//!   version (a review may mix versions), metadata kept; if any object
//!   fails, the response is a `Failure` status with that object's message
//!   and no objects, as the apiserver requires.
//! - [`Server::validating`]: `fn(new, old, ctx) -> Result<Vec<Warning>,
//!   Denial>` on the typed object, for `CREATE` and `UPDATE` (`old` is the
//!   stored object on `UPDATE`); other operations are allowed untouched.
//! - [`Server::defaulting`]: `fn(&mut object, ctx) -> Vec<Warning>`; the
//!   response patches exactly what the function changed (an RFC 6902 diff
//!   of the typed object before and after, so fields the type does not
//!   know are never removed by the patch).
//!
//! Both admission kinds see [`Context::dry_run`]: a webhook declared with
//! side effects `NoneOnDryRun` must not make them when it is set. A review
//! that cannot be read gets `400` with the reason; an object that does not
//! read as the type is denied with serde's message, naming the kind.
//!
//! The declarations these handlers answer (paths, rules, failure policy)
//! are `crdforge::webhook`'s; the manifests come from there.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use crdforge::conversion::Converter;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use k8s_openapi::api::authentication::v1::UserInfo;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::core::conversion::{ConversionRequest, ConversionResponse, ConversionReview};
use kube::core::{DynamicObject, Resource, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::server::{HttpRequest, HttpResponse, Server, text};

/// A warning for the client (`kubectl` prints it); keep it under 120
/// characters.
pub type Warning = String;

/// Why an admission webhook refuses a request; the message reaches the
/// client as `admission webhook "<name>" denied the request: <message>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// What is wrong, naming the field.
    pub message: String,
    /// The HTTP status the client gets (403 unless set).
    pub code: u16,
}

impl Denial {
    /// A denial with this message and code 403.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 403,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What an admission function knows about the request besides the objects.
#[derive(Clone, Debug)]
pub struct Context {
    /// `CREATE` or `UPDATE`.
    pub operation: Operation,
    /// The request will not be persisted: make no side effects.
    pub dry_run: bool,
    /// Who asks.
    pub user: UserInfo,
    /// The object's namespace, if namespaced.
    pub namespace: Option<String>,
    /// The object's name (empty for a create with `generateName`).
    pub name: String,
    /// The subresource (`status`, `scale`), if any.
    pub sub_resource: Option<String>,
}

type ValidateFn<K> = dyn Fn(&K, Option<&K>, &Context) -> Result<Vec<Warning>, Denial> + Send + Sync;
type DefaultFn<K> = dyn Fn(&mut K, &Context) -> Vec<Warning> + Send + Sync;

impl Server {
    /// Serves a conversion webhook for the versions `converter` knows at
    /// `path`.
    pub fn conversion<H>(self, path: &str, converter: Converter<H>) -> Self
    where
        H: crdforge::CustomResource + Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let converter = Arc::new(converter);
        self.route(path, move |request: HttpRequest| {
            let response = conversion_response(&converter, request.body());
            async move { response }
        })
    }

    /// Serves a validating webhook for `K` at `path`.
    pub fn validating<K, F>(self, path: &str, validate: F) -> Self
    where
        K: Resource + DeserializeOwned + Send + Sync + 'static,
        F: Fn(&K, Option<&K>, &Context) -> Result<Vec<Warning>, Denial> + Send + Sync + 'static,
    {
        let validate: Arc<ValidateFn<K>> = Arc::new(validate);
        self.route(path, move |request: HttpRequest| {
            let response = admit(request.body(), |req, ctx| {
                let (new, old) = typed::<K>(req)?;
                let Some(new) = new else {
                    return Ok(AdmissionResponse::from(req));
                };
                match validate(&new, old.as_ref(), ctx) {
                    Ok(warnings) => Ok(with_warnings(AdmissionResponse::from(req), warnings)),
                    Err(denial) => Ok(deny(req, denial)),
                }
            });
            async move { response }
        })
    }

    /// Serves a defaulting (mutating) webhook for `K` at `path`.
    pub fn defaulting<K, F>(self, path: &str, default: F) -> Self
    where
        K: Resource + Serialize + DeserializeOwned + Send + Sync + 'static,
        F: Fn(&mut K, &Context) -> Vec<Warning> + Send + Sync + 'static,
    {
        let default: Arc<DefaultFn<K>> = Arc::new(default);
        self.route(path, move |request: HttpRequest| {
            let response = admit(request.body(), |req, ctx| {
                let (new, _) = typed::<K>(req)?;
                let Some(mut object) = new else {
                    return Ok(AdmissionResponse::from(req));
                };
                // The diff is taken between the typed object before and
                // after, both serialized the same way: only what the
                // function changed is patched.
                let before = serde_json::to_value(&object).map_err(|e| e.to_string())?;
                let warnings = default(&mut object, ctx);
                let after = serde_json::to_value(&object).map_err(|e| e.to_string())?;
                let patch = json_patch::diff(&before, &after);
                let mut response = with_warnings(AdmissionResponse::from(req), warnings);
                if !patch.0.is_empty() {
                    response = response.with_patch(patch).map_err(|e| e.to_string())?;
                }
                Ok(response)
            });
            async move { response }
        })
    }
}

/// The new and old objects of a request as `K`; an object that does not
/// read as `K` is an error naming the kind.
fn typed<K: Resource + DeserializeOwned>(
    req: &AdmissionRequest<DynamicObject>,
) -> Result<(Option<K>, Option<K>), String> {
    let read = |object: &Option<DynamicObject>| -> Result<Option<K>, String> {
        object
            .as_ref()
            .map(|o| {
                let value = serde_json::to_value(o).map_err(|e| e.to_string())?;
                serde_json::from_value(value).map_err(|e| {
                    format!(
                        "the object is not a valid {} {}: {e}",
                        req.kind.group, req.kind.kind
                    )
                })
            })
            .transpose()
    };
    Ok((read(&req.object)?, read(&req.old_object)?))
}

fn with_warnings(mut response: AdmissionResponse, warnings: Vec<Warning>) -> AdmissionResponse {
    if !warnings.is_empty() {
        response.warnings = Some(warnings);
    }
    response
}

fn deny(req: &AdmissionRequest<DynamicObject>, denial: Denial) -> AdmissionResponse {
    let mut response = AdmissionResponse::from(req).deny(&denial.message);
    response.result.code = denial.code;
    response
}

/// Reads an `AdmissionReview`, answers it with `decide` for `CREATE` and
/// `UPDATE` (allowing everything else), and writes the review back.
fn admit(
    body: &Bytes,
    decide: impl FnOnce(&AdmissionRequest<DynamicObject>, &Context) -> Result<AdmissionResponse, String>,
) -> HttpResponse {
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(body) {
        Ok(review) => review,
        Err(error) => return bad_request(format!("not an AdmissionReview: {error}")),
    };
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(request) => request,
        Err(error) => return bad_request(error.to_string()),
    };
    let response = match request.operation {
        Operation::Create | Operation::Update => {
            let ctx = Context {
                operation: request.operation.clone(),
                dry_run: request.dry_run,
                user: request.user_info.clone(),
                namespace: request.namespace.clone(),
                name: request.name.clone(),
                sub_resource: request.sub_resource.clone(),
            };
            decide(&request, &ctx).unwrap_or_else(|message| {
                let mut denied = AdmissionResponse::from(&request).deny(&message);
                denied.result.code = 400;
                denied
            })
        }
        Operation::Delete | Operation::Connect => AdmissionResponse::from(&request),
    };
    json(StatusCode::OK, &response.into_review())
}

/// The answer to a `ConversionReview` (the request's body): every object
/// converted, or a `Failure` status. [`Server::conversion`] serves it; call
/// it yourself to wrap it (to log or count reviews, say).
pub fn conversion_response<H>(converter: &Converter<H>, body: &[u8]) -> HttpResponse
where
    H: crdforge::CustomResource + Serialize + DeserializeOwned + 'static,
{
    let review: ConversionReview = match serde_json::from_slice(body) {
        Ok(review) => review,
        Err(error) => return bad_request(format!("not a ConversionReview: {error}")),
    };
    let mut request = match ConversionRequest::from_review(review) {
        Ok(request) => request,
        Err(error) => return bad_request(error.to_string()),
    };
    let desired = request.desired_api_version.clone();
    let objects = std::mem::take(&mut request.objects);
    let response = ConversionResponse::for_request(request);
    let converted: Result<Vec<_>, _> = objects
        .into_iter()
        .map(|object| converter.convert(object, &desired))
        .collect();
    let response = match converted {
        Ok(objects) => response.success(objects),
        Err(error) => {
            tracing::debug!(%error, "conversion failed");
            response.failure(Status::failure(&error.message, "ConversionFailed"))
        }
    };
    json(StatusCode::OK, &response.into_review())
}

fn bad_request(message: String) -> HttpResponse {
    tracing::debug!(%message, "webhook request refused");
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(message)))
        .expect("static headers are valid")
}

fn json(status: StatusCode, value: &impl Serialize) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => Response::builder()
            .status(status)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("static headers are valid"),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n"),
    }
}
