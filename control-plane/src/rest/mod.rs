//! The Synergos REST surface (`/ttp/connect`, `/ttp/train`, `/ttp/evaluate`)
//! plus our job routes: the router, the shared extractors and the generic
//! record handlers the per-resource files build on.

mod alignments;
mod collaborations;
mod experiments;
mod jobs;
mod models;
mod optimizations;
mod participants;
mod predictions;
mod projects;
mod registrations;
mod runs;
mod tags;
mod validations;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request};
use axum::http::Uri;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::uri::PathAndQuery;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::openapi::schemas;
use crate::record::{Field, Key, Kind, not_found_message};
use crate::records;
use crate::state::AppState;
use crate::validate;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Every documented route: registered with its `#[utoipa::path]`
/// annotation through `routes!`, so the router and `/openapi.json` come from
/// the same list. A new resource file returns an `OpenApiRouter` and is
/// merged here; `tests/openapi.rs` fails for a route the document lacks.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(health))
        .merge(collaborations::routes())
        .merge(projects::routes())
        .merge(experiments::routes())
        .merge(runs::routes())
        .merge(participants::routes())
        .merge(registrations::routes())
        .merge(tags::routes())
        .merge(alignments::routes())
        .merge(models::routes())
        .merge(validations::routes())
        .merge(predictions::routes())
        .merge(optimizations::routes())
        .merge(jobs::routes())
        .merge(crate::openapi::routes())
}

/// The whole REST API. Every path answers with and without a trailing slash.
pub fn router(state: AppState) -> Router {
    let (routes, _) = api_routes().split_for_parts();
    let api = routes
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    // The outer router only rewrites the path, so the rewrite happens before
    // the inner router matches it.
    Router::new()
        .fallback_service(api)
        .layer(axum::middleware::map_request(trim_trailing_slash))
}

/// Whether the control plane is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    operation_id = "health",
    responses((status = 200, description = "The control plane serves requests.", body = schemas::Health))
)]
async fn health() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!("no such resource: {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> axum::response::Response {
    let body = json!({ "message": format!("{method} is not allowed on {}", uri.path()) });
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// Synergos declares collections with a trailing slash and clients call both
/// forms; we route the slash-less form and strip the slash before routing.
async fn trim_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = match path.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        let rebuilt = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(path_and_query) = rebuilt.parse::<PathAndQuery>() {
            let mut parts = request.uri().clone().into_parts();
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

/// The route variables: echoed as `params` and turned into a record key.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteVars(BTreeMap<String, String>);

impl RouteVars {
    pub fn key(&self) -> Key {
        let mut key = Key::default();
        for field in [
            Field::Collab,
            Field::Project,
            Field::Expt,
            Field::Run,
            Field::Participant,
        ] {
            if let Some(value) = self.0.get(field.name()) {
                key.set(field, value.clone());
            }
        }
        key
    }

    pub fn params(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RouteVars {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let vars = match Path::<BTreeMap<String, String>>::from_request_parts(parts, state).await {
            Ok(Path(vars)) => vars,
            Err(PathRejection::MissingPathParams(_)) => return Ok(RouteVars::default()),
            Err(rejection) => return Err(ApiError::invalid(rejection.body_text())),
        };
        // No identifier holds a NUL (they are validated on create), and
        // PostgreSQL text cannot: refuse it here rather than fail in a query.
        if let Some((name, _)) = vars.iter().find(|(_, value)| value.contains('\0')) {
            return Err(ApiError::invalid(format!(
                "Invalid URL: `{name}` contains a NUL character"
            )));
        }
        Ok(RouteVars(vars))
    }
}

impl RouteVars {
    /// The value of route variable `name` (empty when the route has none).
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

/// A JSON object body. An empty body counts as `{}`; anything that is not a
/// JSON object is refused with a 4xx naming the problem.
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonObject(pub Map<String, Value>);

fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let body = json!({ "message": rejection.body_text() });
                (rejection.status(), axum::Json(body)).into_response()
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonObject(Map::new()));
        }
        if let Some(content_type) = content_type
            && !is_json_content_type(&content_type)
        {
            return Err(ApiError::invalid(format!(
                "expected a JSON body with `Content-Type: application/json`, got `{content_type}`"
            ))
            .into_response());
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => {
                Err(ApiError::invalid("the request body must be a JSON object").into_response())
            }
            Err(error) => {
                Err(ApiError::invalid(format!("malformed JSON body: {error}")).into_response())
            }
        }
    }
}

/// Reads optional boolean options from a body, refusing any other key.
pub(crate) fn bool_options(
    body: &Map<String, Value>,
    known: &[&str],
) -> Result<BTreeMap<String, bool>, ApiError> {
    let mut options = BTreeMap::new();
    for (name, value) in body {
        if !known.contains(&name.as_str()) {
            return Err(ApiError::invalid(format!(
                "unknown field `{name}` (expected {})",
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let flag = value
            .as_bool()
            .ok_or_else(|| ApiError::invalid(format!("field `{name}` must be a boolean")))?;
        options.insert(name.clone(), flag);
    }
    Ok(options)
}

/// How a Synergos record resource answers over REST: its kind, its names in
/// `method` and the identifier its POST body carries. The rules themselves
/// (validation, not-found messages, cascades) are `crate::records`'.
#[derive(Clone, Copy)]
pub(crate) struct Resource {
    pub kind: Kind,
    /// `<singular>.get|put|delete`.
    pub singular: &'static str,
    /// `<plural>.get|post`.
    pub plural: &'static str,
    /// Popped from a POST body into the key (`None`: the key is in the route).
    pub id_field: Option<Field>,
}

impl Resource {
    pub async fn list(&self, state: &AppState, vars: &RouteVars) -> Result<Envelope, ApiError> {
        let views = records::list(state.db(), self.kind, vars.key()).await?;
        let data = views.iter().map(|r| r.to_json()).collect();
        Ok(Envelope::ok(
            format!("{}.get", self.plural),
            vars.params(),
            Value::Array(data),
        ))
    }

    pub async fn create(
        &self,
        state: &AppState,
        vars: &RouteVars,
        body: Map<String, Value>,
    ) -> Result<Envelope, ApiError> {
        let mut fields = validate::strip_derived(body)?;
        let mut key = vars.key();
        if let Some(field) = self.id_field {
            let id = validate::take_identifier(&mut fields, field.name())?;
            key.set(field, id);
        }
        self.create_at(state, vars, key, fields).await
    }

    /// Creates (upserts) the record at `key` with already-stripped `fields`.
    pub async fn create_at(
        &self,
        state: &AppState,
        vars: &RouteVars,
        key: Key,
        fields: Map<String, Value>,
    ) -> Result<Envelope, ApiError> {
        let view = records::create(state.db(), self.kind, key, fields).await?;
        Ok(Envelope::created(
            format!("{}.post", self.plural),
            vars.params(),
            view.to_json(),
        ))
    }

    pub async fn read(&self, state: &AppState, vars: &RouteVars) -> Result<Envelope, ApiError> {
        let view = records::get(state.db(), self.kind, vars.key()).await?;
        Ok(Envelope::ok(
            format!("{}.get", self.singular),
            vars.params(),
            view.to_json(),
        ))
    }

    pub async fn update(
        &self,
        state: &AppState,
        vars: &RouteVars,
        body: Map<String, Value>,
    ) -> Result<Envelope, ApiError> {
        let view = records::update(state.db(), self.kind, vars.key(), body).await?;
        Ok(Envelope::ok(
            format!("{}.put", self.singular),
            vars.params(),
            view.to_json(),
        ))
    }

    pub async fn delete(&self, state: &AppState, vars: &RouteVars) -> Result<Envelope, ApiError> {
        let view = records::delete(state.db(), self.kind, vars.key()).await?;
        Ok(Envelope::ok(
            format!("{}.delete", self.singular),
            vars.params(),
            view.to_json(),
        ))
    }
}

/// A list that must not be empty: Synergos answers 404 for "no records".
pub(crate) async fn list_or_404(
    state: &AppState,
    kind: Kind,
    method: &str,
    vars: &RouteVars,
) -> Result<Envelope, ApiError> {
    let key = vars.key();
    let records = state.db().list_records(kind, key.clone()).await?;
    if records.is_empty() {
        return Err(ApiError::not_found(not_found_message(kind, &key)));
    }
    let data = records.iter().map(|r| r.to_json()).collect();
    Ok(Envelope::ok(method, vars.params(), Value::Array(data)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("application/json; charset=utf-8"));
        assert!(is_json_content_type("application/merge-patch+json"));
        assert!(!is_json_content_type("text/plain"));
    }

    #[test]
    fn unknown_options_are_refused() {
        let body = json!({"auto_align": false, "bogus": true});
        let err = bool_options(body.as_object().unwrap(), &["auto_align"]).unwrap_err();
        assert!(err.public_message().contains("`bogus`"));
    }
}
