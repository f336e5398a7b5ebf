//! Validation of request bodies, run on create *and* on update (a deliberate
//! fix: Synergos only validates on create). Every error names the field.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::learning;

/// Fields that describe a record rather than hold its data; ignored in bodies.
const DERIVED: [&str; 5] = ["key", "relations", "doc_id", "kind", "created_at"];

/// Longest identifier accepted.
pub const MAX_ID_LEN: usize = 128;
/// Most path tokens in one data tag.
pub const MAX_TAG_TOKENS: usize = 32;
/// Most data tags per meta.
pub const MAX_TAGS: usize = 100;

/// Removes the derived fields from a body; `link` is managed by the server
/// and rejected.
pub fn strip_derived(mut body: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    if body.contains_key("link") {
        return Err(ApiError::invalid(
            "field `link` is managed by the server and cannot be set",
        ));
    }
    for field in DERIVED {
        body.remove(field);
    }
    Ok(body)
}

/// An identifier that becomes part of a key and of output folder names.
pub fn identifier(field: &str, value: &str) -> Result<(), ApiError> {
    let bad = value.is_empty()
        || value.len() > MAX_ID_LEN
        || value == "."
        || value.contains("..")
        || value.contains(['/', '\\'])
        || value.chars().any(char::is_control);
    if bad {
        return Err(ApiError::invalid(format!(
            "field `{field}` must be a non-empty identifier of at most {MAX_ID_LEN} characters without `/`, `\\` or `..`"
        )));
    }
    Ok(())
}

/// Removes and checks the identifier `field` from a create body.
pub fn take_identifier(body: &mut Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match body.remove(field) {
        Some(Value::String(id)) => {
            identifier(field, &id)?;
            Ok(id)
        }
        Some(_) => Err(ApiError::invalid(format!(
            "field `{field}` must be a string"
        ))),
        None => Err(ApiError::invalid(format!(
            "missing required field `{field}`"
        ))),
    }
}

fn required<'a>(fields: &'a Map<String, Value>, field: &str) -> Result<&'a Value, ApiError> {
    fields
        .get(field)
        .ok_or_else(|| ApiError::invalid(format!("missing required field `{field}`")))
}

fn expect_string(field: &str, value: &Value) -> Result<(), ApiError> {
    match value {
        Value::String(_) => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "field `{field}` must be a string"
        ))),
    }
}

fn expect_bool(field: &str, value: &Value) -> Result<(), ApiError> {
    match value {
        Value::Bool(_) => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "field `{field}` must be a boolean"
        ))),
    }
}

fn expect_port(field: &str, value: &Value) -> Result<(), ApiError> {
    match value.as_u64() {
        Some(port) if port <= 65535 => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "field `{field}` must be a port number (0-65535)"
        ))),
    }
}

fn expect_string_list(field: &str, value: &Value) -> Result<(), ApiError> {
    match value {
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
        _ => Err(ApiError::invalid(format!(
            "field `{field}` must be a list of strings"
        ))),
    }
}

fn expect_object<'a>(field: &str, value: &'a Value) -> Result<&'a Map<String, Value>, ApiError> {
    value
        .as_object()
        .ok_or_else(|| ApiError::invalid(format!("field `{field}` must be an object")))
}

fn reject_unknown(
    fields: &Map<String, Value>,
    allowed: impl Fn(&str) -> bool,
) -> Result<(), ApiError> {
    // `link` is server-managed: bodies carrying it are refused by
    // `strip_derived`, and stored records (checked again on update) hold it.
    match fields.keys().find(|k| k.as_str() != "link" && !allowed(k)) {
        Some(unknown) => Err(ApiError::invalid(format!("unknown field `{unknown}`"))),
        None => Ok(()),
    }
}

/// A connection object `{host, ports: {main, ui, ...}, secure}`.
fn connection(field: &str, value: &Value, extra_ports: &[&str]) -> Result<(), ApiError> {
    let obj = expect_object(field, value)?;
    expect_string(
        &format!("{field}.host"),
        required_nested(obj, field, "host")?,
    )?;
    let ports_field = format!("{field}.ports");
    let ports = expect_object(&ports_field, required_nested(obj, field, "ports")?)?;
    for name in ["main", "ui"].iter().chain(extra_ports) {
        let port_field = format!("{ports_field}.{name}");
        match ports.get(*name) {
            Some(v) => expect_port(&port_field, v)?,
            None => {
                return Err(ApiError::invalid(format!(
                    "missing required field `{port_field}`"
                )));
            }
        }
    }
    for (name, v) in ports {
        expect_port(&format!("{ports_field}.{name}"), v)?;
    }
    if let Some(secure) = obj.get("secure") {
        expect_bool(&format!("{field}.secure"), secure)?;
    }
    Ok(())
}

fn required_nested<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    field: &str,
) -> Result<&'a Value, ApiError> {
    obj.get(field)
        .ok_or_else(|| ApiError::invalid(format!("missing required field `{parent}.{field}`")))
}

/// Collaboration: optional connection objects.
pub fn collaboration(fields: &Map<String, Value>) -> Result<(), ApiError> {
    for name in ["catalogue", "meter", "mlops", "mq"] {
        if let Some(v) = fields.get(name) {
            connection(name, v, &[])?;
        }
    }
    if let Some(v) = fields.get("logs") {
        connection("logs", v, &["sysmetrics", "director", "ttp", "worker"])?;
    }
    Ok(())
}

/// The two Synergos actions; they drive all label handling.
pub const ACTIONS: [&str; 2] = ["classify", "regress"];

/// Project: `action` and `incentives` required.
pub fn project(fields: &Map<String, Value>) -> Result<(), ApiError> {
    match required(fields, "action")?.as_str() {
        Some(action) if ACTIONS.contains(&action) => {}
        _ => {
            return Err(ApiError::invalid(
                "field `action` must be one of `classify`, `regress`",
            ));
        }
    }
    expect_object("incentives", required(fields, "incentives")?)?;
    if let Some(v) = fields.get("universe_alignment") {
        expect_string_list("universe_alignment", v)?;
    }
    if let Some(v) = fields.get("start_at")
        && !v.is_null()
    {
        expect_string("start_at", v)?;
    }
    Ok(())
}

/// Experiment: `model` must be a valid layer spec.
pub fn experiment(fields: &Map<String, Value>) -> Result<(), ApiError> {
    let model = required(fields, "model")?;
    learning::check_model(model).map_err(|e| ApiError::invalid(format!("field `model`: {e}")))
}

/// Run: free-form hyper-parameters that must make a usable training plan.
pub fn run(fields: &Map<String, Value>) -> Result<(), ApiError> {
    learning::run_settings(fields)
        .map(|_| ())
        .map_err(|e| ApiError::invalid(format!("invalid run hyper-parameters: {e}")))
}

/// Participant: `id` equal to the participant id, profile fields typed.
pub fn participant(participant_id: &str, fields: &Map<String, Value>) -> Result<(), ApiError> {
    match required(fields, "id")?.as_str() {
        Some(id) if id == participant_id => {}
        _ => {
            return Err(ApiError::invalid(format!(
                "field `id` must equal the participant id `{participant_id}`"
            )));
        }
    }
    if let Some(v) = fields.get("category") {
        expect_string_list("category", v)?;
    }
    for name in ["summary", "phone", "email"] {
        if let Some(v) = fields.get(name)
            && !v.is_null()
        {
            expect_string(name, v)?;
        }
    }
    if let Some(v) = fields.get("socials") {
        let socials = expect_object("socials", v)?;
        for (name, value) in socials {
            expect_string(&format!("socials.{name}"), value)?;
        }
    }
    Ok(())
}

/// The Synergos roles (stored; no logic depends on them).
pub const ROLES: [&str; 3] = ["host", "guest", "arbiter"];

fn node_index(name: &str) -> Option<usize> {
    name.strip_prefix("node_")?.parse().ok()
}

/// Registration: `role`, `n_count`, `node_0` required, nothing else allowed.
/// Workers dial in, so node addresses are stored for compatibility only, but
/// their shape is checked.
pub fn registration(fields: &Map<String, Value>) -> Result<(), ApiError> {
    reject_unknown(fields, |k| {
        k == "role" || k == "n_count" || node_index(k).is_some()
    })?;
    match required(fields, "role")?.as_str() {
        Some(role) if ROLES.contains(&role) => {}
        _ => {
            return Err(ApiError::invalid(
                "field `role` must be one of `host`, `guest`, `arbiter`",
            ));
        }
    }
    match required(fields, "n_count")?.as_u64() {
        Some(n) if n >= 1 => {}
        _ => {
            return Err(ApiError::invalid(
                "field `n_count` must be a positive integer",
            ));
        }
    }
    required(fields, "node_0")?;
    for (name, node) in fields.iter().filter(|(k, _)| node_index(k).is_some()) {
        let obj = expect_object(name, node)?;
        reject_unknown(obj, |k| {
            ["host", "port", "f_port", "log_msgs", "verbose"].contains(&k)
        })
        .map_err(|e| ApiError::invalid(format!("{name}: {}", e.public_message())))?;
        expect_string(&format!("{name}.host"), required_nested(obj, name, "host")?)?;
        expect_port(&format!("{name}.port"), required_nested(obj, name, "port")?)?;
        if let Some(v) = obj.get("f_port") {
            expect_port(&format!("{name}.f_port"), v)?;
        }
        for flag in ["log_msgs", "verbose"] {
            if let Some(v) = obj.get(flag) {
                expect_bool(&format!("{name}.{flag}"), v)?;
            }
        }
    }
    Ok(())
}

/// The metas a participant can declare data for.
pub const METAS: [&str; 3] = ["train", "evaluate", "predict"];

/// Tag: `train` required; each meta a list of tags, each tag a list of path
/// tokens relative to the worker's data dir.
pub fn tags(fields: &Map<String, Value>) -> Result<(), ApiError> {
    reject_unknown(fields, |k| {
        METAS.contains(&k) || k == "model" || k == "hyperparameters"
    })?;
    required(fields, "train")?;
    for meta in METAS {
        if let Some(v) = fields.get(meta) {
            tag_list(meta, v)?;
        }
    }
    for name in ["model", "hyperparameters"] {
        if let Some(v) = fields.get(name) {
            expect_string_list(name, v)?;
        }
    }
    Ok(())
}

/// One meta's tags: a bounded list of tags, each a list of path tokens.
pub fn tag_list(meta: &str, value: &Value) -> Result<(), ApiError> {
    let shape = || {
        ApiError::invalid(format!(
            "field `{meta}` must be a list of tags, each a list of non-empty path tokens"
        ))
    };
    let tags = value.as_array().ok_or_else(shape)?;
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(format!(
            "field `{meta}` has {} tags, more than the limit of {MAX_TAGS}",
            tags.len()
        )));
    }
    for (i, tag) in tags.iter().enumerate() {
        let tokens = tag.as_array().ok_or_else(shape)?;
        if tokens.is_empty() {
            return Err(shape());
        }
        if tokens.len() > MAX_TAG_TOKENS {
            return Err(ApiError::invalid(format!(
                "field `{meta}[{i}]` has {} tokens, more than the limit of {MAX_TAG_TOKENS}",
                tokens.len()
            )));
        }
        for token in tokens {
            let token = token.as_str().ok_or_else(shape)?;
            let bad = token.is_empty()
                || token == "."
                || token.contains("..")
                || token.contains(['/', '\\'])
                || token.chars().any(char::is_control);
            if bad {
                return Err(ApiError::invalid(format!(
                    "field `{meta}[{i}]`: token `{}` must be a non-empty path component without `/`, `\\` or `..`",
                    token.escape_default()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn project_errors_name_the_field() {
        let err = project(&map(json!({"action": "cluster", "incentives": {}}))).unwrap_err();
        assert!(err.public_message().contains("`action`"));
        let err = project(&map(json!({"action": "classify"}))).unwrap_err();
        assert!(err.public_message().contains("`incentives`"));
        assert!(project(&map(json!({"action": "regress", "incentives": {}}))).is_ok());
    }

    #[test]
    fn tags_refuse_path_escapes() {
        assert!(tags(&map(json!({"train": [["a", "b"]]}))).is_ok());
        for bad in [
            json!([["a", ".."]]),
            json!([["a/b"]]),
            json!([[]]),
            json!([[""]]),
            json!(["a"]),
        ] {
            let err = tags(&map(json!({"train": bad}))).unwrap_err();
            assert!(err.public_message().contains("train"), "{err}");
        }
        let many: Vec<Value> = (0..=MAX_TAGS).map(|i| json!([format!("t{i}")])).collect();
        assert!(tags(&map(json!({"train": many}))).is_err());
        assert!(tags(&map(json!({"evaluate": [["a"]]}))).is_err());
    }

    #[test]
    fn registration_checks_nodes_and_unknown_fields() {
        let node =
            json!({"host": "w1", "port": 8020, "f_port": 5000, "log_msgs": true, "verbose": false});
        assert!(registration(&map(json!({"role": "host", "n_count": 1, "node_0": node}))).is_ok());
        let err = registration(&map(
            json!({"role": "host", "n_count": 1, "node_0": node, "extra": 1}),
        ))
        .unwrap_err();
        assert!(err.public_message().contains("`extra`"));
        let err = registration(&map(
            json!({"role": "host", "n_count": 1, "node_0": {"host": "w1", "port": 70000}}),
        ))
        .unwrap_err();
        assert!(err.public_message().contains("node_0.port"));
    }

    #[test]
    fn identifiers_cannot_escape_output_folders() {
        assert!(identifier("collab_id", "c-1").is_ok());
        for bad in ["", "..", "a/b", ".", "a\\b"] {
            assert!(identifier("collab_id", bad).is_err());
        }
    }
}
