//! The shared state of the REST handlers and jobs: a cheap-to-clone handle.

use std::sync::Arc;

use tokio::sync::watch;

use crate::data_plane::DataPlane;
use crate::db::Db;
use crate::jobs::JobRegistry;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    db: Db,
    data_plane: Arc<dyn DataPlane>,
    jobs: JobRegistry,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(db: Db, data_plane: Arc<dyn DataPlane>) -> Self {
        let (shutdown, _) = watch::channel(false);
        Self(Arc::new(Inner {
            db,
            data_plane,
            jobs: JobRegistry::default(),
            shutdown,
        }))
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn data_plane(&self) -> &dyn DataPlane {
        self.0.data_plane.as_ref()
    }

    pub fn jobs(&self) -> &JobRegistry {
        &self.0.jobs
    }

    /// Asks servers, event streams and waiting handlers to wind down.
    pub fn begin_shutdown(&self) {
        self.0.shutdown.send_replace(true);
    }

    /// Resolves once [`AppState::begin_shutdown`] was called.
    pub fn shutdown_signal(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let mut watch = self.0.shutdown.subscribe();
        async move {
            // An error means the sender is gone, which also means shutdown.
            let _ = watch.wait_for(|stopping| *stopping).await;
        }
    }
}
