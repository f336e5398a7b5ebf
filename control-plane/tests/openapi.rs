//! The OpenAPI document: it matches the golden file, it lists exactly the
//! routes the router answers, and `/docs` serves a UI that needs no network.
//! Also the inputs that fuzzing from it (`scripts/fuzz-rest.sh`) found
//! mishandled, so they stay fixed.
//!
//! After an intended change of the REST surface, regenerate the golden file
//! with `UPDATE_GOLDEN=1 cargo test -p ttp-control --test openapi` and review
//! its diff.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use common::{TestApp, TestDb};

const METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::TRACE,
];

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/openapi.json")
}

async fn app() -> TestApp {
    TestApp::on(TestDb::sqlite()).await
}

/// Status, content type and body bytes of one request.
async fn fetch(app: &TestApp, method: Method, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .expect("request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, content_type, body)
}

async fn served_document(app: &TestApp) -> (Vec<u8>, Value) {
    let (status, content_type, body) = fetch(app, Method::GET, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let document: Value = serde_json::from_slice(&body).expect("the document is JSON");
    (body, document)
}

#[tokio::test]
async fn served_document_matches_the_golden_file() {
    let app = app().await;
    let (body, document) = served_document(&app).await;
    assert_eq!(document["openapi"], "3.1.0");
    let golden = golden_path();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().expect("parent")).expect("golden dir");
        std::fs::write(&golden, &body).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; create it with UPDATE_GOLDEN=1",
            golden.display()
        )
    });
    let served = String::from_utf8(body).expect("UTF-8");
    if served != expected {
        let first_difference = served
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| served.lines().count().min(expected.lines().count()));
        panic!(
            "/openapi.json differs from {} from line {} on:\n  served:   {:?}\n  expected: {:?}\n\
             If the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff.",
            golden.display(),
            first_difference + 1,
            served.lines().nth(first_difference),
            expected.lines().nth(first_difference),
        );
    }
}

/// The path templates registered in the router that serves requests.
/// axum has no route listing, but its `Debug` output names every path; a
/// change of that format fails the non-empty assertion below, not silently.
fn routed_paths() -> BTreeSet<String> {
    let (router, _) = ttp_control::rest::api_routes().split_for_parts();
    let debug = format!("{router:?}");
    let paths: BTreeSet<String> = debug
        .split('"')
        .filter(|s| s.starts_with('/') && !s.contains("__private__"))
        .map(str::to_owned)
        .collect();
    assert!(
        paths.contains("/health") && paths.len() > 10,
        "cannot read the routes from the router's Debug output: {debug}"
    );
    paths
}

/// `template` with every `{var}` replaced by a value no record has.
fn instantiate(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "probe-value"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the router has a handler for `method` at `uri`: anything but 405
/// and our "no such resource" 404.
async fn answers(app: &TestApp, method: Method, uri: &str) -> bool {
    let (status, _, body) = fetch(app, method, uri).await;
    let unrouted = status == StatusCode::NOT_FOUND
        && String::from_utf8_lossy(&body).contains("no such resource");
    status != StatusCode::METHOD_NOT_ALLOWED && !unrouted
}

fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method.as_str().to_ascii_lowercase()).is_some() {
                operations.insert((method.to_string(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn document_lists_exactly_the_routes_the_router_answers() {
    let app = app().await;
    let (_, document) = served_document(&app).await;
    let documented = documented_operations(&document);

    let mut served = BTreeSet::new();
    for path in routed_paths() {
        let uri = instantiate(&path);
        for method in METHODS {
            if answers(&app, method.clone(), &uri).await {
                served.insert((method.to_string(), path.clone()));
            }
        }
    }
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes without documentation: {undocumented:?}\n\
         documented operations the router does not answer: {unrouted:?}\n\
         (register routes in rest::api_routes with #[utoipa::path] and routes!)"
    );

    // The trailing-slash form is not listed, but answers the same.
    for (method, path) in &documented {
        let uri = format!("{}/", instantiate(path));
        let method: Method = method.parse().expect("method");
        assert!(
            answers(&app, method.clone(), &uri).await,
            "{method} {uri} is not answered"
        );
    }
}

#[tokio::test]
async fn every_operation_is_identified_and_declares_its_route_variables() {
    let app = app().await;
    let (_, document) = served_document(&app).await;
    let mut ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        let expected: Vec<&str> = ttp_control::openapi::path_variables(path);
        let declared: Vec<&str> = item["parameters"]
            .as_array()
            .map(|parameters| {
                parameters
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(declared, expected, "path parameters of {path}");
        for method in METHODS {
            let Some(operation) = item.get(method.as_str().to_ascii_lowercase()) else {
                continue;
            };
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} is not unique");
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path} documents no response"
            );
        }
    }
}

#[tokio::test]
async fn job_posts_document_respond_async() {
    let app = app().await;
    let (_, document) = served_document(&app).await;
    let mut job_posts = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        let Some(post) = item.get("post") else {
            continue;
        };
        if path.ends_with("/optimizations")
            || !["/alignments", "/models", "/validations", "/predictions"]
                .iter()
                .any(|resource| path.contains(resource))
        {
            continue;
        }
        job_posts += 1;
        let prefer = post["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "Prefer"));
        assert!(
            prefer.is_some_and(|p| p["in"] == "header"),
            "POST {path}: no Prefer header"
        );
        assert!(
            post["responses"]["202"]["headers"]["Location"].is_object(),
            "POST {path}: no 202 with Location"
        );
    }
    assert_eq!(
        job_posts,
        1 + 3 + 4 + 4,
        "alignments, models, validations and predictions POSTs"
    );
}

#[tokio::test]
async fn docs_page_works_offline() {
    let app = app().await;
    let (status, content_type, page) = fetch(&app, Method::GET, "/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = String::from_utf8(page).expect("UTF-8");
    for needed in [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/openapi.json",
    ] {
        assert!(page.contains(needed), "the page does not load {needed}");
    }
    assert!(
        !page.contains("http://") && !page.contains("https://") && !page.contains("//cdn"),
        "the page must not load anything from another host:\n{page}"
    );
    assert!(
        page.contains("validatorUrl: null"),
        "the validator badge would call an external service"
    );

    for (uri, kind, min_size) in [
        ("/docs/swagger-ui-bundle.js", "text/javascript", 100_000),
        ("/docs/swagger-ui.css", "text/css", 10_000),
    ] {
        let (status, content_type, body) = fetch(&app, Method::GET, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(content_type.starts_with(kind), "{uri}: {content_type}");
        assert!(body.len() > min_size, "{uri} is only {} bytes", body.len());
    }
    // Also with the trailing slash, like every other path.
    let (status, _, _) = fetch(&app, Method::GET, "/docs/").await;
    assert_eq!(status, StatusCode::OK);
}

common::on_both_backends!(malformed_route_variables_are_refused_not_failed);

/// Found fuzzing on PostgreSQL: a NUL in a route variable reached a query
/// and failed it (500), and a job id that is not valid UTF-8 got a plain-text
/// 400. No record or job can have such an id.
async fn malformed_route_variables_are_refused_not_failed(db: TestDb) {
    let app = TestApp::on(db).await;
    for (method, uri) in [
        ("GET", "/ttp/connect/collaborations/a%00b"),
        ("PUT", "/ttp/connect/collaborations/a%00b"),
        ("DELETE", "/ttp/connect/participants/%00"),
        ("GET", "/ttp/connect/participants/%00/registrations"),
        (
            "POST",
            "/ttp/train/collaborations/c%00/projects/p/alignments",
        ),
        ("GET", "/ttp/jobs/a%00b"),
        ("GET", "/ttp/jobs/a%00b/events"),
    ] {
        let (status, body) = app.call(method, uri, None).await;
        assert_eq!(
            status,
            StatusCode::EXPECTATION_FAILED,
            "{method} {uri}: {body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains("NUL")),
            "{method} {uri}: {body}"
        );
    }
    let (status, body) = app.get("/ttp/jobs/%FF").await;
    assert_eq!(status, StatusCode::EXPECTATION_FAILED, "{body}");
    assert!(body["message"].is_string(), "{body}");
    for uri in ["/ttp/jobs/not-a-job", "/ttp/jobs/not-a-job/events"] {
        let (status, body) = app.get(uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        assert_eq!(body["message"], "Job 'not-a-job' does not exist!");
    }
}
