//! Diesel table definitions; they mirror `migrations/sqlite` and
//! `migrations/postgres`, which must stay alike column for column.

diesel::table! {
    records (doc_id) {
        doc_id -> BigInt,
        kind -> Text,
        collab_id -> Text,
        project_id -> Text,
        expt_id -> Text,
        run_id -> Text,
        participant_id -> Text,
        body -> Text,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        collab_id -> Text,
        project_id -> Text,
        expt_id -> Text,
        run_id -> Text,
        participant_id -> Text,
        state -> Text,
        progress -> Text,
        error -> Nullable<Text>,
        result -> Nullable<Text>,
        created_at -> Text,
        updated_at -> Text,
    }
}
