//! The two engines' schemas are the same: every table and column, its kind (integer, bytes,
//! text) and whether it may be NULL, as the SQLite migrations and the PostgreSQL ones leave
//! them. And PostgreSQL's triggers keep an account's usage as SQLite's do.

use std::collections::BTreeSet;

use sqlx::Row;

type Columns = BTreeSet<(String, String, &'static str, bool)>;

fn kind(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "integer",
        "blob" | "bytea" => "bytes",
        "text" => "text",
        other => panic!("a column of type {other}: add it to both schemas' mapping"),
    }
}

async fn sqlite_columns() -> Columns {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = plico_store::Store::open(dir.path()).await.expect("opens");
    let rows = sqlx::query(
        "SELECT m.name AS t, p.name AS c, p.type AS ty, p.\"notnull\" AS nn, p.pk AS pk
         FROM sqlite_master m JOIN pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .fetch_all(store.sqlite_pool().expect("SQLite"))
    .await
    .expect("reads the schema");
    rows.iter()
        .map(|row| {
            let not_null = row.get::<i64, _>("nn") == 1 || row.get::<i64, _>("pk") > 0;
            (row.get("t"), row.get("c"), kind(&row.get::<String, _>("ty")), !not_null)
        })
        .collect()
}

#[tokio::test]
async fn postgresql_migrations_reach_the_sqlite_schema_and_keep_usage() {
    let Some(postgres) = plico_test_support::engines::Postgres::start() else { return };
    let pool = plico_store::postgres::connect(&postgres.url("plico"), 4).await.expect("connects and migrates");
    plico_store::postgres::migrate(&pool).await.expect("a second run does nothing");
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, is_nullable::text AS nullable
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&pool)
    .await
    .expect("reads the schema");
    let postgres_columns: Columns = rows
        .iter()
        .map(|row| {
            (row.get("t"), row.get("c"), kind(&row.get::<String, _>("ty")), row.get::<String, _>("nullable") == "YES")
        })
        .collect();
    let sqlite = sqlite_columns().await;
    let only_sqlite: Vec<_> = sqlite.difference(&postgres_columns).collect();
    let only_postgres: Vec<_> = postgres_columns.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the schemas differ.\nOnly in SQLite: {only_sqlite:#?}\nOnly in PostgreSQL: {only_postgres:#?}"
    );
    assert!(sqlite.len() > 80, "the comparison saw the whole schema ({} columns)", sqlite.len());

    // The usage triggers: messages and items count toward their account, and stop counting.
    postgres.psql(
        "plico",
        "INSERT INTO accounts (id, name, address, opaque_password_file, public_cert, fingerprint, wkd_hash, sealed_secret_key, created_at)
         VALUES (1, 'a', 'a@plico.test', '', '', 'f', 'w', '', 0);
         INSERT INTO folders (id, account_id, role, modseq, created_at) VALUES ('inbox', 1, 'inbox', 0, 0);
         INSERT INTO blobs (hash, size, created_at) VALUES ('h', 100, 0);
         INSERT INTO messages (id, account_id, folder_id, size, received_at, blob_hash, sealed_summary, modseq)
         VALUES ('m', 1, 'inbox', 100, 0, 'h', '', 1);
         INSERT INTO items (account_id, kind, id, sealed, size, version, modseq, created_at, updated_at)
         VALUES (1, 'contact', 'c', '', 20, 1, 2, 0, 0);",
    );
    assert_eq!(postgres.psql("plico", "SELECT used_bytes FROM accounts WHERE id = 1"), "120");
    postgres.psql("plico", "UPDATE items SET size = 30 WHERE id = 'c'; DELETE FROM messages WHERE id = 'm'");
    assert_eq!(postgres.psql("plico", "SELECT used_bytes FROM accounts WHERE id = 1"), "30");
}
