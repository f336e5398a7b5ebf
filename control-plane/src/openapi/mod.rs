//! The OpenAPI 3.1 document of the REST surface, generated from the
//! `#[utoipa::path]` annotations the routes are registered with (see
//! [`crate::rest::api_routes`]), and the browsable UI that reads it: Swagger
//! UI vendored under `assets/`, so `/docs` works offline.
//!
//! Served at `/openapi.json` and `/docs`. `tests/openapi.rs` keeps the
//! document equal to `tests/golden/openapi.json` and in step with the routes
//! the router actually answers.

pub mod schemas;

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use utoipa::openapi::path::{Operation, Parameter, ParameterIn, PathItem, Paths};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::{Components, Info, OpenApi, Ref, RefOr, Tag};
use utoipa::{PartialSchema, ToResponse};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::state::AppState;

/// The document of everything [`crate::rest::api_routes`] registers.
pub fn document() -> OpenApi {
    let (_, openapi) = crate::rest::api_routes().split_for_parts();
    complete(openapi)
}

/// The served bytes: pretty JSON with a final newline, built once.
pub fn document_json() -> &'static Bytes {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    JSON.get_or_init(|| {
        // Serializing plain maps and strings cannot fail.
        let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
        text.push('\n');
        Bytes::from(text)
    })
}

/// The route variables: description and an example that matches the
/// records `scripts/fuzz-rest.sh` seeds.
const PATH_PARAMETERS: [(&str, &str, Option<&str>); 6] = [
    ("collab_id", "Collaboration id.", Some("c1")),
    ("project_id", "Project id.", Some("p1")),
    ("expt_id", "Experiment id.", Some("e1")),
    ("run_id", "Run id.", Some("r1")),
    ("participant_id", "Participant id.", Some("alice")),
    (
        "job_id",
        "Job id, from the `Location` of a 202 answer.",
        None,
    ),
];

/// Resource groups, in the order the UI shows them.
const TAGS: [(&str, &str); 14] = [
    (
        "collaborations",
        "Phase 1 (`/ttp/connect`): collaborations, the root of every project.",
    ),
    ("projects", "Phase 1: projects and their `action`."),
    (
        "experiments",
        "Phase 1: experiments and their model layers.",
    ),
    ("runs", "Phase 1: runs, i.e. sets of hyper-parameters."),
    ("participants", "Phase 1: participant profiles."),
    (
        "registrations",
        "Phase 1: a participant's registration to a project, reachable from the \
         collaboration and from the participant.",
    ),
    (
        "tags",
        "Phase 1: the data a participant declares per meta (`train`, `evaluate`, `predict`).",
    ),
    (
        "alignments",
        "Phase 2A (`/ttp/train`): multiple feature alignment, as a job.",
    ),
    (
        "models",
        "Phase 2B (`/ttp/train`): federated training of every (experiment, run) in scope, as a job.",
    ),
    (
        "optimizations",
        "Phase 2 (`/ttp/train`): hyper-parameter tuning (Synergos cluster only).",
    ),
    (
        "validations",
        "Phase 3A (`/ttp/evaluate`): evaluation of trained models on the participants' \
         `evaluate` data, as a job.",
    ),
    (
        "predictions",
        "Phase 3B (`/ttp/evaluate`): participant-initiated inference on `predict` data, as a job.",
    ),
    (
        "jobs",
        "Long-running operations started by the alignments, models, validations and \
         predictions POSTs.",
    ),
    ("service", "Health, this document and its browsable UI."),
];

const DESCRIPTION: &str = "\
The Synergos TTP REST API of the control plane (see `docs/rest-divergences.md` for where it \
differs from Synergos on purpose).

* Every path also answers with a trailing slash; only the slash-less form is listed.
* Successes come in the Synergos envelope `{apiVersion, success, status, method, params, data}`.
* Errors are `{\"message\": ...}`. Invalid input is 417 (Expectation Failed) and names the \
field; a body over 10 MiB is 413; an empty body counts as `{}`.
* POST is an upsert (201 even when the record existed); PUT is a shallow merge, validated as a \
whole; DELETE answers the record as it was and cascades.
* POSTs to alignments, models and validations start a job. They answer when the job ends, or at \
once with 202 and `Location: /ttp/jobs/<id>` given `Prefer: respond-async`; \
`GET /ttp/jobs/<id>/events` streams its progress as Server-Sent Events.";

/// Fills in what the annotations leave out: info, tags, the route
/// variables of every path (from the path template, so aliases and new
/// routes get them too), the shared schemas and responses.
fn complete(mut openapi: OpenApi) -> OpenApi {
    let mut info = Info::new("Synergos TTP control plane", env!("CARGO_PKG_VERSION"));
    info.description = Some(DESCRIPTION.to_owned());
    openapi.info = info;
    openapi.tags = Some(
        TAGS.iter()
            .map(|(name, description)| {
                let mut tag = Tag::new(*name);
                tag.description = Some((*description).to_owned());
                tag
            })
            .collect(),
    );
    for (path, item) in openapi.paths.paths.iter_mut() {
        set_path_parameters(path, item);
        for operation in operations_mut(item) {
            optional_body_is_not_null(operation);
        }
    }
    let components = openapi.components.get_or_insert_with(Components::new);
    components
        .schemas
        .entry("ErrorBody".into())
        .or_insert_with(schemas::ErrorBody::schema);
    for (name, response) in [
        schemas::NotFound::response(),
        schemas::InvalidBody::response(),
        schemas::BadRouteVariable::response(),
        schemas::TooLarge::response(),
        schemas::Conflict::response(),
        schemas::Forbidden::response(),
        schemas::Unavailable::response(),
        schemas::Timeout::response(),
    ] {
        components.responses.insert(name.into(), response);
    }
    openapi
}

/// The `{name}` segments of a path template, in order.
pub fn path_variables(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Declares the route variables once per path; operations keep only their
/// header and query parameters. Every operation with route variables can
/// answer 417 for a malformed one.
fn set_path_parameters(path: &str, item: &mut PathItem) {
    let parameters: Vec<RefOr<Parameter>> = path_variables(path)
        .into_iter()
        .map(|name| {
            let (description, example) = PATH_PARAMETERS
                .iter()
                .find(|(known, _, _)| *known == name)
                .map_or(("Route variable.", None), |(_, d, e)| (*d, *e));
            let mut parameter = json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": description,
                "schema": { "type": "string", "minLength": 1 },
            });
            if let Some(example) = example {
                parameter["example"] = Value::String(example.to_owned());
            }
            RefOr::T(from_json(parameter))
        })
        .collect();
    for operation in operations_mut(item) {
        if !parameters.is_empty() && !operation.responses.responses.contains_key("417") {
            operation.responses.responses.insert(
                "417".into(),
                RefOr::Ref(Ref::from_response_name("BadRouteVariable")),
            );
        }
        if let Some(own) = operation.parameters.as_mut() {
            own.retain(|p| !matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
            if own.is_empty() {
                operation.parameters = None;
            }
        }
    }
    item.parameters = (!parameters.is_empty()).then_some(parameters);
}

/// `request_body = Option<T>` means the body may be left out (it then
/// counts as `{}`), not that it may be JSON `null`, which is refused.
fn optional_body_is_not_null(operation: &mut Operation) {
    let Some(RefOr::T(body)) = operation.request_body.as_mut() else {
        return;
    };
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else {
            continue;
        };
        if let Some(RefOr::T(Schema::OneOf(one_of))) = content.schema.as_ref() {
            let mut not_null = one_of.items.iter().filter(|item| {
                !matches!(item, RefOr::T(Schema::Object(o))
                    if o.schema_type == SchemaType::Type(Type::Null))
            });
            if let (Some(only), None) = (not_null.next(), not_null.next()) {
                content.schema = Some(only.clone());
            }
        }
    }
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    match serde_json::from_value(value) {
        Ok(parsed) => parsed,
        // A typo in a literal above is a programming error the tests show.
        Err(error) => panic!("invalid OpenAPI literal: {error}"),
    }
}

/// Registers the same operations at another path: for a handler Synergos
/// serves at several paths (the participant-rooted registration, models of
/// a project, an experiment or a run). Operation ids get `_<suffix>`.
pub(crate) fn also_at(
    path: &str,
    suffix: &str,
    (schemas, paths, method_router): UtoipaMethodRouter<AppState>,
) -> UtoipaMethodRouter<AppState> {
    let mut moved = Paths::new();
    for (_, mut item) in paths.paths {
        for operation in operations_mut(&mut item) {
            if let Some(id) = operation.operation_id.as_mut() {
                id.push('_');
                id.push_str(suffix);
            }
        }
        moved.paths.insert(path.to_owned(), item);
    }
    (schemas, moved, method_router)
}

/// `/openapi.json`, `/docs` and the UI's files.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(docs_page))
        .routes(routes!(swagger_ui_bundle))
        .routes(routes!(swagger_ui_css))
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    operation_id = "openapi_document",
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json", body = Object))
)]
async fn openapi_json() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/json")],
        document_json().clone(),
    )
}

/// The page `/docs` serves: Swagger UI pointed at `/openapi.json`.
const DOCS_PAGE: &str = include_str!("../../assets/docs.html");
/// Swagger UI (swagger-ui-dist, Apache-2.0), vendored: see
/// `assets/swagger-ui/README.md`.
const SWAGGER_UI_BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

/// The browsable API (Swagger UI served from this binary; works offline).
#[utoipa::path(
    get,
    path = "/docs",
    tag = "service",
    operation_id = "docs_page",
    responses((status = 200, description = "An HTML page.", content_type = "text/html", body = String))
)]
async fn docs_page() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/html; charset=utf-8")], DOCS_PAGE)
}

/// Swagger UI's script, used by `/docs`.
#[utoipa::path(
    get,
    path = "/docs/swagger-ui-bundle.js",
    tag = "service",
    operation_id = "docs_script",
    responses((status = 200, description = "JavaScript.", content_type = "text/javascript", body = String))
)]
async fn swagger_ui_bundle() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", SWAGGER_UI_BUNDLE)
}

/// Swagger UI's style sheet, used by `/docs`.
#[utoipa::path(
    get,
    path = "/docs/swagger-ui.css",
    tag = "service",
    operation_id = "docs_style",
    responses((status = 200, description = "CSS.", content_type = "text/css", body = String))
)]
async fn swagger_ui_css() -> impl IntoResponse {
    asset("text/css; charset=utf-8", SWAGGER_UI_CSS)
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, content_type),
            // Vendored files change only with the binary.
            (CACHE_CONTROL, "public, max-age=86400"),
        ],
        Bytes::from_static(bytes),
    )
}
