//! Where each Synergos resource lives in the REST API, from the ids a
//! command was given.

use crate::args::*;

const CONNECT: &str = "/ttp/connect";

/// The resources the CRUD commands manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    Collaboration,
    Project,
    Experiment,
    Run,
    Participant,
    Registration,
    Tags,
}

/// A POST that creates a record: the path, and the id field the body carries.
#[derive(Debug, PartialEq)]
pub struct CreateAt {
    pub path: String,
    pub id_field: Option<(&'static str, String)>,
}

/// Ids that name one record.
pub trait ItemIds {
    fn item(&self, res: Res) -> String;
    fn create(&self, res: Res) -> CreateAt;
}

/// Ids that name a collection of records.
pub trait ListIds {
    fn list(&self, res: Res) -> String;
}

fn collab(c: &str) -> String {
    format!("{CONNECT}/collaborations/{c}")
}

fn project(c: &str, p: &str) -> String {
    format!("{}/projects/{p}", collab(c))
}

fn experiment(c: &str, p: &str, e: &str) -> String {
    format!("{}/experiments/{e}", project(c, p))
}

impl ListIds for CollabNone {
    fn list(&self, res: Res) -> String {
        match res {
            Res::Participant => format!("{CONNECT}/participants"),
            _ => format!("{CONNECT}/collaborations"),
        }
    }
}

impl ListIds for CollabId {
    fn list(&self, res: Res) -> String {
        match res {
            Res::Registration | Res::Tags => format!("{}/registrations", collab(&self.collab_id)),
            _ => format!("{}/projects", collab(&self.collab_id)),
        }
    }
}

impl ItemIds for CollabId {
    fn item(&self, _: Res) -> String {
        collab(&self.collab_id)
    }

    fn create(&self, _: Res) -> CreateAt {
        CreateAt {
            path: format!("{CONNECT}/collaborations"),
            id_field: Some(("collab_id", self.collab_id.clone())),
        }
    }
}

impl ListIds for ProjectId {
    fn list(&self, res: Res) -> String {
        let base = project(&self.collab_id, &self.project_id);
        match res {
            Res::Registration | Res::Tags => format!("{base}/registrations"),
            _ => format!("{base}/experiments"),
        }
    }
}

impl ItemIds for ProjectId {
    fn item(&self, _: Res) -> String {
        project(&self.collab_id, &self.project_id)
    }

    fn create(&self, _: Res) -> CreateAt {
        CreateAt {
            path: format!("{}/projects", collab(&self.collab_id)),
            id_field: Some(("project_id", self.project_id.clone())),
        }
    }
}

impl ListIds for ExptId {
    fn list(&self, _: Res) -> String {
        format!(
            "{}/runs",
            experiment(&self.collab_id, &self.project_id, &self.expt_id)
        )
    }
}

impl ItemIds for ExptId {
    fn item(&self, _: Res) -> String {
        experiment(&self.collab_id, &self.project_id, &self.expt_id)
    }

    fn create(&self, _: Res) -> CreateAt {
        CreateAt {
            path: format!("{}/experiments", project(&self.collab_id, &self.project_id)),
            id_field: Some(("expt_id", self.expt_id.clone())),
        }
    }
}

impl ItemIds for RunId {
    fn item(&self, _: Res) -> String {
        format!(
            "{}/runs/{}",
            experiment(&self.collab_id, &self.project_id, &self.expt_id),
            self.run_id
        )
    }

    fn create(&self, _: Res) -> CreateAt {
        CreateAt {
            path: format!(
                "{}/runs",
                experiment(&self.collab_id, &self.project_id, &self.expt_id)
            ),
            id_field: Some(("run_id", self.run_id.clone())),
        }
    }
}

impl ItemIds for ParticipantId {
    fn item(&self, _: Res) -> String {
        format!("{CONNECT}/participants/{}", self.participant_id)
    }

    fn create(&self, _: Res) -> CreateAt {
        CreateAt {
            path: format!("{CONNECT}/participants"),
            id_field: Some(("id", self.participant_id.clone())),
        }
    }
}

impl ItemIds for RegistrationId {
    fn item(&self, res: Res) -> String {
        let registration = format!(
            "{}/participants/{}/registration",
            project(&self.collab_id, &self.project_id),
            self.participant_id
        );
        match res {
            Res::Tags => format!("{registration}/tags"),
            _ => registration,
        }
    }

    fn create(&self, res: Res) -> CreateAt {
        CreateAt {
            path: self.item(res),
            id_field: None,
        }
    }
}

/// `/ttp/train/.../<leaf>` with the optional ids appended.
pub fn train_path(scope: &TrainScope, leaf: &str) -> String {
    let mut path = format!(
        "/ttp/train/collaborations/{}/projects/{}/{leaf}",
        scope.collab_id, scope.project_id
    );
    for part in [&scope.expt_id, &scope.run_id].into_iter().flatten() {
        path.push('/');
        path.push_str(part);
    }
    path
}

pub fn validations_path(scope: &ValidateScope) -> String {
    let mut path = format!(
        "/ttp/evaluate/collaborations/{}/projects/{}/validations",
        scope.collab_id, scope.project_id
    );
    for part in [&scope.expt_id, &scope.run_id, &scope.participant_id]
        .into_iter()
        .flatten()
    {
        path.push('/');
        path.push_str(part);
    }
    path
}

pub fn predictions_path(scope: &PredictScope) -> String {
    let mut path = format!(
        "/ttp/evaluate/participants/{}/collaborations/{}/predictions",
        scope.participant_id, scope.collab_id
    );
    for part in [&scope.project_id, &scope.expt_id, &scope.run_id]
        .into_iter()
        .flatten()
    {
        path.push('/');
        path.push_str(part);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_map_to_synergos_paths() {
        let run = RunId {
            collab_id: "c".into(),
            project_id: "p".into(),
            expt_id: "e".into(),
            run_id: "r".into(),
        };
        assert_eq!(
            run.item(Res::Run),
            "/ttp/connect/collaborations/c/projects/p/experiments/e/runs/r"
        );
        let created = run.create(Res::Run);
        assert_eq!(
            created.path,
            "/ttp/connect/collaborations/c/projects/p/experiments/e/runs"
        );
        assert_eq!(created.id_field, Some(("run_id", "r".to_owned())));
        let registration = RegistrationId {
            collab_id: "c".into(),
            project_id: "p".into(),
            participant_id: "x".into(),
        };
        assert_eq!(
            registration.item(Res::Tags),
            "/ttp/connect/collaborations/c/projects/p/participants/x/registration/tags"
        );
        assert_eq!(
            CollabNone {}.list(Res::Participant),
            "/ttp/connect/participants"
        );
        let scope = PredictScope {
            participant_id: "x".into(),
            collab_id: "c".into(),
            project_id: Some("p".into()),
            expt_id: None,
            run_id: None,
        };
        assert_eq!(
            predictions_path(&scope),
            "/ttp/evaluate/participants/x/collaborations/c/predictions/p"
        );
    }
}
