//! `/ttp/train/collaborations/<c>/projects/<p>/models/<e>/optimizations`:
//! hyper-parameter optimisation exists only in Synergos cluster mode, which
//! this control plane does not run; both methods answer 403 as Synergos Basic does.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::RouteVars;
use crate::error::ApiError;
use crate::openapi::schemas;
use crate::state::AppState;

/// Synergos Basic's answer.
pub const CLUSTER_ONLY: &str = "Optimization is only active in a Synergos cluster! Please check your configuration and try again.";

const PATH: &str =
    "/ttp/train/collaborations/{collab_id}/projects/{project_id}/models/{expt_id}/optimizations";

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
}

/// Optimisation runs (Synergos cluster only): always 403 here.
#[utoipa::path(
    get,
    path = PATH,
    tag = "optimizations",
    operation_id = "list_optimizations",
    responses((status = 403, response = schemas::Forbidden))
)]
async fn list(_vars: RouteVars) -> ApiError {
    ApiError::forbidden(CLUSTER_ONLY)
}

/// Hyper-parameter optimisation (Synergos cluster only): always 403 here.
#[utoipa::path(
    post,
    path = PATH,
    tag = "optimizations",
    operation_id = "optimize",
    responses((status = 403, response = schemas::Forbidden))
)]
async fn create(_vars: RouteVars) -> ApiError {
    ApiError::forbidden(CLUSTER_ONLY)
}
