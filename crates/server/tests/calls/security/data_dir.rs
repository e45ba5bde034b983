//! The data directory holds the keys that sign every token: it is private to the server's user, its hand-chosen
//! secrets are hashed salted and slow, and one server at a time serves it.

use std::{os::unix::fs::PermissionsExt, path::Path};

use crate::{
    process::launch,
    support::{DEV_APP, Harness},
};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The database and its WAL companions.
fn database_files(data_dir: &Path) -> Vec<std::path::PathBuf> {
    ["switchboard.sqlite", "switchboard.sqlite-wal", "switchboard.sqlite-shm"].map(|f| data_dir.join(f)).to_vec()
}

#[tokio::test]
async fn the_data_directory_and_its_database_are_private_and_put_right_at_start() {
    let mut h = Harness::start().await;
    let data = h.data_dir().to_owned();
    assert_eq!(mode(&data), 0o700);
    for file in database_files(&data) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    h.stop();
    // As an earlier build left it (or someone who ran chmod).
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in database_files(&data).iter().filter(|f| f.exists()) {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    h.try_start_again().await.unwrap();
    assert_eq!(mode(&data), 0o700);
    for file in database_files(&data) {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    assert!(h.server.as_ref().unwrap().stderr().contains("made it private"), "the start says it tightened them");
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused_naming_the_first() {
    let h = Harness::start().await;
    let first = h.server.as_ref().unwrap().pid();
    let data = h.data_dir().to_str().unwrap().to_owned();
    let cwd = tempfile::tempdir().unwrap();
    let Err((status, stderr)) = launch(&[], &["--data-dir", &data, "--clock", "virtual"], &[], cwd.path()) else {
        panic!("a second server started on a data directory in use");
    };
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("in use by another switchboard server"), "{stderr}");
    assert!(stderr.contains(&format!("pid {first}")), "it names the process: {stderr}");
    assert_eq!(h.sim("GET", "/clock", None).await.status, 200, "the first one goes on serving");
}

#[tokio::test]
async fn secrets_chosen_by_hand_are_stored_salted_and_slow() {
    let tenant = uuid::Uuid::new_v4();
    let app = uuid::Uuid::new_v4();
    let secret = "a-secret-someone-typed-into-a-config-file";
    let config = format!(
        "[[tenants]]\nid = \"{tenant}\"\ndisplay_name = \"Contoso\"\n\n[[apps]]\ntenant = \"{tenant}\"\napp_id = \"{app}\"\n\
         display_name = \"Bot\"\nsecrets = [\"{secret}\"]\n"
    );
    let h = Harness::start_with_config(&config).await;
    h.token_for(&tenant.to_string(), &app.to_string(), secret).await;
    let database = rusqlite::Connection::open(h.data_dir().join("switchboard.sqlite")).unwrap();
    let hash_of = |app: String| -> String {
        database.query_row("SELECT hash FROM application_secret WHERE app_id = ?", [app], |row| row.get(0)).unwrap()
    };
    let sha256 = |value: &str| -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    };
    let hash = hash_of(app.to_string());
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(&sha256(secret)), "no fast, unsalted hash");
    // The dev app's secret is published: a slow hash would hide nothing (and it is refused outside dev mode).
    assert_eq!(hash_of(DEV_APP.to_owned()), sha256(crate::support::DEV_SECRET));
}
