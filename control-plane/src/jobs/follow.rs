//! Following one data-plane run: turning its event stream into job progress,
//! Validation records (evaluation runs) and, at the end, the run's result.

use futures_util::StreamExt;
use serde_json::{Map, Number, Value, json};
use ttp_proto::v1 as pb;
use ttp_proto::v1::run_event::Event;

use super::plan::Combination;
use super::{EventType, JobContext};
use crate::data_plane::RunStream;
use crate::error::{ApiError, Code};
use crate::record::{Field, Kind};

/// The reason the data plane gives when participants never connected.
const WORKERS_MISSING: &str = "participants not connected";

/// What a finished run produced.
#[derive(Debug)]
pub struct RunOutcome {
    pub completed: pb::RunCompleted,
    /// Validation records stored while the run went (evaluation runs).
    pub validations: Vec<Value>,
}

/// The error for a `RunFailed` reason. The data plane reports failures as
/// text, so the class is read from it: workers that never connected are
/// `Unavailable`, a data-plane fault is `Internal`, and anything else (a
/// participant's data problem, an incompatible model) is a `Conflict` whose
/// message is passed through.
pub fn run_failure(reason: &str, waited_for: Option<&[String]>) -> ApiError {
    if reason.starts_with(WORKERS_MISSING) {
        return ApiError::unavailable(format!("workers never connected: {reason}"));
    }
    if reason == "run cancelled" {
        return ApiError::unavailable("the data plane cancelled the run");
    }
    if reason.starts_with("internal error") {
        return ApiError::new(Code::Internal, format!("data plane run failed: {reason}"));
    }
    match waited_for {
        Some(missing) if !missing.is_empty() && reason.contains("timed out") => {
            ApiError::unavailable(format!(
                "workers never connected ({}): {reason}",
                missing.join(", ")
            ))
        }
        _ => ApiError::conflict(reason.to_owned()),
    }
}

fn number(value: f64) -> Value {
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// A metric as Synergos stores it: a scalar, or a list with one value per class.
pub fn statistics_json(statistics: &std::collections::HashMap<String, pb::MetricValue>) -> Value {
    let mut sorted: Vec<_> = statistics.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let map: Map<String, Value> = sorted
        .into_iter()
        .map(|(name, metric)| {
            let value = match &metric.value {
                Some(pb::metric_value::Value::Scalar(v)) => number(*v),
                Some(pb::metric_value::Value::PerClass(per_class)) => {
                    Value::Array(per_class.values.iter().copied().map(number).collect())
                }
                None => Value::Null,
            };
            (name.clone(), value)
        })
        .collect();
    Value::Object(map)
}

/// Consumes `stream` until the run ends, publishing progress on `ctx`. For
/// evaluation runs every `ParticipantEvaluated` is stored as a record of
/// kind `store_as` (Validation or Prediction) as soon as it arrives.
pub async fn follow_run(
    ctx: &mut JobContext,
    combination: &Combination,
    mut stream: RunStream,
    store_as: Option<Kind>,
) -> Result<RunOutcome, ApiError> {
    let key = combination.key();
    let (expt_id, run_id) = (key.expt_id.clone(), key.run_id.clone());
    let label = || {
        let mut detail = Map::new();
        detail.insert("expt_id".into(), json!(expt_id));
        detail.insert("run_id".into(), json!(run_id));
        detail
    };
    let mut waiting: Option<Vec<String>> = None;
    let mut training_round = 0;
    let mut validations = Vec::new();
    while let Some(event) = stream.next().await {
        let Some(event) = event?.event else {
            continue;
        };
        match event {
            Event::Started(started) => {
                waiting = None;
                let message = format!(
                    "experiment '{expt_id}' run '{run_id}' started with {} ({} features)",
                    started.participants.join(", "),
                    started.features
                );
                ctx.update(|p| {
                    if started.rounds > 0 {
                        p.rounds = started.rounds;
                    }
                    p.message = message;
                })
                .await?;
            }
            Event::Waiting(w) => {
                let message = format!("waiting for workers to connect: {}", w.missing.join(", "));
                waiting = Some(w.missing);
                ctx.update(|p| p.message = message).await?;
            }
            Event::ParticipantTrained(trained) => {
                let reset = trained.round != training_round;
                training_round = trained.round;
                let message = format!(
                    "participant '{}' finished round {} (loss {:.6})",
                    trained.participant_id, trained.round, trained.loss
                );
                ctx.update(|p| {
                    if reset {
                        p.participants_done = 0;
                    }
                    p.participants_done += 1;
                    p.message = message;
                })
                .await?;
            }
            Event::RoundCompleted(round) => {
                let mut detail = label();
                detail.insert("round".into(), json!(round.round));
                detail.insert("rounds".into(), json!(round.rounds));
                detail.insert("train_loss".into(), number(round.train_loss));
                detail.insert("seconds".into(), number(round.seconds));
                let message = format!(
                    "round {}/{} of experiment '{expt_id}' run '{run_id}' done (train loss {:.6})",
                    round.round, round.rounds, round.train_loss
                );
                ctx.publish(
                    EventType::Round,
                    |p| {
                        p.round = round.round;
                        p.rounds = round.rounds;
                        p.message = message;
                    },
                    detail,
                )
                .await?;
            }
            Event::ParticipantEvaluated(evaluated) => {
                let statistics = statistics_json(&evaluated.statistics);
                if let Some(kind) = store_as {
                    let mut fields = Map::new();
                    fields.insert(
                        evaluated.meta.clone(),
                        json!({ "statistics": statistics, "res_path": null }),
                    );
                    let validation_key = key
                        .clone()
                        .with(Field::Participant, evaluated.participant_id.clone());
                    let stored = ctx
                        .state()
                        .db()
                        .upsert_record(kind, validation_key, fields)
                        .await?;
                    validations.push(stored.record.to_json());
                }
                let mut detail = label();
                detail.insert("participant_id".into(), json!(evaluated.participant_id));
                detail.insert("meta".into(), json!(evaluated.meta));
                detail.insert("sample_count".into(), json!(evaluated.sample_count));
                detail.insert("loss".into(), number(evaluated.loss));
                detail.insert("statistics".into(), statistics);
                let message = format!(
                    "participant '{}' evaluated on '{}'",
                    evaluated.participant_id, evaluated.meta
                );
                ctx.publish(
                    EventType::Evaluated,
                    |p| {
                        p.participants_done += 1;
                        p.message = message;
                    },
                    detail,
                )
                .await?;
            }
            Event::Completed(completed) => {
                return Ok(RunOutcome {
                    completed,
                    validations,
                });
            }
            Event::Failed(failed) => {
                return Err(run_failure(&failed.reason, waiting.as_deref()));
            }
        }
    }
    Err(ApiError::unavailable(
        "the data plane closed the run stream before the run finished",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_by_reason() {
        assert_eq!(
            run_failure("participants not connected: a, b", None).code(),
            Code::Unavailable
        );
        let data = run_failure(
            "participant `a`: column `age` in schema.json is not in data.csv",
            None,
        );
        assert_eq!(data.code(), Code::Conflict);
        assert!(data.public_message().contains("age"));
        assert_eq!(
            run_failure("internal error in the data plane", None).code(),
            Code::Internal
        );
    }

    #[test]
    fn statistics_keep_scalars_and_per_class_lists() {
        let mut stats = std::collections::HashMap::new();
        stats.insert(
            "accuracy".to_owned(),
            pb::MetricValue {
                value: Some(pb::metric_value::Value::Scalar(0.5)),
            },
        );
        stats.insert(
            "f_score".to_owned(),
            pb::MetricValue {
                value: Some(pb::metric_value::Value::PerClass(pb::PerClass {
                    values: vec![0.25, f64::NAN],
                })),
            },
        );
        assert_eq!(
            statistics_json(&stats),
            json!({"accuracy": 0.5, "f_score": [0.25, null]})
        );
    }
}
