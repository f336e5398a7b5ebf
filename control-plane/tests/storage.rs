//! The database itself on both backends: multi-record writes are all or
//! nothing, concurrent upserts of one record merge instead of failing,
//! `doc_id`s are never reused, job states survive a reopen, and a database
//! that cannot be reached says so.

// Test helpers panic on purpose when the system under test misbehaves.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestDb;
use serde_json::{Map, Value, json};
use ttp_control::Code;
use ttp_control::db::Db;
use ttp_control::jobs::{Job, JobKind, JobState, Progress, RESTARTED};
use ttp_control::record::{Key, Kind};

common::on_both_backends!(
    a_batch_that_fails_halfway_stores_nothing,
    concurrent_upserts_of_one_record_all_land,
    doc_ids_are_integers_that_are_never_reused,
    unfinished_jobs_fail_and_ended_jobs_stay_ended,
);

#[tokio::test]
async fn an_unreachable_postgres_fails_at_once_without_showing_the_password() {
    let error = Db::open("postgres://ttp:s3cret@127.0.0.1:1/ttp")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("cannot connect"), "{error}");
    assert!(error.contains("ttp:***@127.0.0.1:1"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

async fn a_batch_that_fails_halfway_stores_nothing(db: TestDb) {
    let store = Db::open(&db.url).await.unwrap();
    store
        .upsert_record(Kind::Collaboration, Key::collaboration("c1"), Map::new())
        .await
        .unwrap();
    // The second project's collaboration does not exist.
    let batch = vec![
        (
            Key::project("c1", "p1"),
            fields(json!({"action": "classify"})),
        ),
        (
            Key::project("ghost", "p2"),
            fields(json!({"action": "classify"})),
        ),
    ];
    let error = store
        .upsert_records(Kind::Project, batch)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound, "{error:?}");
    let projects = store
        .list_plain_records(Kind::Project, Key::default())
        .await
        .unwrap();
    assert!(projects.is_empty(), "half a batch was stored: {projects:?}");

    // A failed cascade leaves the connection usable for the next write.
    store
        .upsert_records(
            Kind::Project,
            vec![(
                Key::project("c1", "p1"),
                fields(json!({"action": "classify"})),
            )],
        )
        .await
        .unwrap();
}

async fn concurrent_upserts_of_one_record_all_land(db: TestDb) {
    let store = Db::open(&db.url).await.unwrap();
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .upsert_record(
                        Kind::Collaboration,
                        Key::collaboration("c1"),
                        fields(json!({ format!("field_{i}"): i })),
                    )
                    .await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let stored = store
        .list_plain_records(Kind::Collaboration, Key::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "one record per key");
    for i in 0..8 {
        assert_eq!(
            stored[0].fields[&format!("field_{i}")],
            json!(i),
            "no merge is lost: {:?}",
            stored[0].fields
        );
    }
}

async fn doc_ids_are_integers_that_are_never_reused(db: TestDb) {
    let store = Db::open(&db.url).await.unwrap();
    let create = |id: &'static str| {
        let store = store.clone();
        async move {
            store
                .upsert_record(Kind::Participant, Key::participant(id), Map::new())
                .await
                .unwrap()
                .record
        }
    };
    let first = create("alice").await;
    let second = create("bob").await;
    assert!(second.doc_id > first.doc_id);
    store
        .delete_record(Kind::Participant, Key::participant("bob"))
        .await
        .unwrap()
        .unwrap();
    let third = create("carol").await;
    assert!(third.doc_id > second.doc_id, "a deleted doc_id came back");
    let again = create("alice").await;
    assert_eq!(again.doc_id, first.doc_id, "an upsert keeps the doc_id");

    let created_at = &first.created_at;
    let shape: String = created_at
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99", "{created_at}");
}

async fn unfinished_jobs_fail_and_ended_jobs_stay_ended(db: TestDb) {
    let store = Db::open(&db.url).await.unwrap();
    let scope = Key::project("c1", "p1");
    let queued = Job::new(JobKind::Align, scope.clone());
    let running = Job::new(JobKind::Train, scope.clone());
    let succeeded = Job::new(JobKind::Validate, scope);
    for job in [&queued, &running, &succeeded] {
        store.create_job(job).await.unwrap();
    }
    let progress = Progress {
        round: 2,
        rounds: 5,
        ..Progress::default()
    };
    store
        .record_job_progress(&running.id, &progress)
        .await
        .unwrap();
    store
        .finish_job(&succeeded.id, Ok(json!({"accuracy": 0.9})))
        .await
        .unwrap();

    assert_eq!(store.fail_unfinished_jobs(RESTARTED).await.unwrap(), 2);
    drop(store);

    // What a restarted control plane reads back.
    let store = Db::open(&db.url).await.unwrap();
    for (job, round) in [(&queued, 0), (&running, 2)] {
        let job = store.job(&job.id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Failed, "{job:?}");
        assert_eq!(job.error.as_deref(), Some(RESTARTED));
        assert_eq!(job.progress.round, round, "progress is kept");
    }
    let done = store.job(&succeeded.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result, Some(json!({"accuracy": 0.9})));
    assert_eq!(done.error, None);

    // Late writes of a process that no longer runs the job change nothing.
    let late = store
        .record_job_progress(&running.id, &Progress::default())
        .await
        .unwrap();
    assert_eq!(late.state, JobState::Failed);
    assert_eq!(late.progress.round, 2);
    let late = store
        .finish_job(&succeeded.id, Err("late".into()))
        .await
        .unwrap();
    assert_eq!(late.state, JobState::Succeeded);
    assert_eq!(store.fail_unfinished_jobs(RESTARTED).await.unwrap(), 0);
    assert!(store.job("nope").await.unwrap().is_none());
}
