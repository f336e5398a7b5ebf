//! The worker's loaded datasets. Every poll reloads the tagged data from disk
//! (so a changed CSV takes effect at the next run — Synergos cached forever);
//! the training and evaluation of that run reuse what the poll loaded.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ttp_proto::v1::{ColumnRange, MetaSummary, PollRequest, TagList};

use crate::dataset::{self, Action, DatasetError, TabularData};

type Key = (String, Vec<Vec<String>>);

/// Datasets by (action, tags).
#[derive(Debug)]
pub struct DataCache {
    data_dir: PathBuf,
    loaded: Mutex<HashMap<Key, Arc<TabularData>>>,
}

impl DataCache {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            loaded: Mutex::default(),
        }
    }

    /// Loads every meta of the request afresh and summarises it.
    pub fn poll(&self, request: &PollRequest) -> Result<HashMap<String, MetaSummary>, String> {
        let action = Action::parse(&request.action).map_err(|e| e.to_string())?;
        let mut metas = HashMap::new();
        for (meta, tags) in &request.tags {
            let tokens = tokens_of(tags);
            let data = dataset::load_meta(&self.data_dir, &tokens, action)
                .map_err(|e| format!("`{meta}` data: {e}"))?;
            let summary = data.summary();
            metas.insert(
                meta.clone(),
                MetaSummary {
                    x_headers: summary.x_headers,
                    y_headers: summary.y_headers,
                    rows: summary.rows,
                    ranges: summary
                        .ranges
                        .into_iter()
                        .map(|(c, (min, max))| (c, ColumnRange { min, max }))
                        .collect(),
                },
            );
            self.lock()
                .insert((action.as_str().to_owned(), tokens), Arc::new(data));
        }
        Ok(metas)
    }

    /// The data for `tags`, from the last poll or loaded now.
    pub fn get(&self, action: Action, tags: &TagList) -> Result<Arc<TabularData>, DatasetError> {
        let key = (action.as_str().to_owned(), tokens_of(tags));
        if let Some(data) = self.lock().get(&key) {
            return Ok(data.clone());
        }
        let data = Arc::new(dataset::load_meta(&self.data_dir, &key.1, action)?);
        self.lock().insert(key, data.clone());
        Ok(data)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<TabularData>>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn tokens_of(tags: &TagList) -> Vec<Vec<String>> {
    tags.tags.iter().map(|t| t.tokens.clone()).collect()
}

/// The shared layout as the dataset module expects it.
pub fn layout_of(layout: &ttp_proto::v1::FeatureLayout) -> dataset::Layout {
    dataset::Layout {
        x_headers: layout.x_headers.clone(),
        y_headers: layout.y_headers.clone(),
        ranges: layout
            .ranges
            .iter()
            .map(|(c, r)| (c.clone(), (r.min, r.max)))
            .collect::<BTreeMap<_, _>>(),
    }
}
