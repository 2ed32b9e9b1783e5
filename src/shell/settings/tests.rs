use super::*;

/// The shipped example states every default: each key it sets equals the built-in default, and every
/// default key is in it (a key without a default, such as `tls_cert`, is shown commented out).
#[test]
fn the_example_file_states_every_default_and_nothing_else() {
    let text = include_str!("../../../docs/natter.example.toml");
    let example: toml::Table = toml::from_str(text).expect("the example is TOML");
    let parsed = Settings::parse(text).expect("the example is a configuration");
    assert_eq!(
        parsed,
        Settings::default(),
        "the example's values are the defaults"
    );
    let defaults = toml::Table::try_from(Settings::default()).unwrap();
    for (section, keys) in &defaults {
        let keys = keys.as_table().unwrap();
        let stated = example
            .get(section)
            .and_then(|s| s.as_table())
            .unwrap_or_else(|| panic!("the example has no [{section}]"));
        for key in keys.keys() {
            assert!(
                stated.contains_key(key),
                "the example does not state [{section}] {key}"
            );
        }
        for key in stated.keys() {
            assert_eq!(
                stated.get(key),
                keys.get(key),
                "[{section}] {key} in the example is not the default"
            );
        }
    }
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let e = Settings::parse("[server]\nprot = 4000\n").unwrap_err();
    assert!(e.contains("prot") && e.contains("port"), "{e}");
    let e = Settings::parse("[sever]\nport = 4000\n").unwrap_err();
    assert!(e.contains("sever"), "{e}");
}

#[test]
fn bad_values_name_the_key_the_value_and_what_is_allowed() {
    let e = Settings::parse("[server]\nport = \"four\"\n").unwrap_err();
    assert!(e.contains("port"), "{e}");
    let mut s = Settings::default();
    s.sessions.timeout = 0;
    let e = s.check().unwrap_err().to_string();
    assert_eq!(e, "sessions.timeout = 0 is not allowed: at least 1 seconds");
    let mut s = Settings::default();
    s.limits.mailbox_share = 101;
    let e = s.check().unwrap_err().to_string();
    assert!(
        e.contains("limits.mailbox_share = 101") && e.contains("from 1 to 100"),
        "{e}"
    );
    let mut s = Settings::default();
    s.log.level = "loud".into();
    assert_eq!(s.check().unwrap_err().key(), Some("log.level"));
    let mut s = Settings::default();
    s.server.tls_cert = Some("cert.pem".into());
    assert_eq!(s.check().unwrap_err().key(), Some("server.tls_key"));
    Settings::default().check().unwrap();
}

#[test]
fn an_operator_is_a_name_and_a_hash_never_a_password_in_the_clear() {
    let hash =
        natter_core::password::hash("rootpw", &[1; 16], natter_core::password::Strength::Minimal);
    let mut s = Settings::default();
    s.server.operators = vec![format!("root {hash}")];
    s.check().unwrap();
    let ops = s.core_config().operators;
    assert_eq!(
        (ops[0].username.as_str(), &ops[0].password),
        ("root", &hash)
    );
    for bad in [
        "root rootpw",
        "root",
        "no/name $argon2id$v=19$m=8,t=1,p=1$x$y",
    ] {
        s.server.operators = vec![bad.to_owned()];
        let e = s.check().unwrap_err();
        assert_eq!(e.key(), Some("server.operators"));
        assert!(
            !e.to_string().contains("rootpw"),
            "the password is not repeated: {e}"
        );
    }
}

#[test]
fn several_bind_addresses_each_get_the_port() {
    let s = Settings::parse("[server]\nbind = [\"127.0.0.1\", \"::1\"]\nport = 4100\n").unwrap();
    assert_eq!(
        s.listen_addrs(),
        vec![
            "127.0.0.1:4100".parse().unwrap(),
            "[::1]:4100".parse().unwrap()
        ]
    );
}

#[test]
fn relative_paths_are_taken_from_the_files_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("natter.toml");
    std::fs::write(
        &path,
        "[server]\ncredentials = \"accounts.txt\"\ntls_cert = \"/etc/c.pem\"\ntls_key = \"k.pem\"\n",
    )
    .unwrap();
    let s = Settings::load(&path).unwrap();
    assert_eq!(s.server.credentials, dir.path().join("accounts.txt"));
    assert_eq!(s.server.tls_cert.as_deref(), Some(Path::new("/etc/c.pem")));
    assert_eq!(s.server.tls_key, Some(dir.path().join("k.pem")));
    assert_eq!(s.data_dir(), dir.path().join("natter-data"));
    assert_eq!(s.admin_socket(), dir.path().join("natter-data/admin.sock"));
}

#[test]
fn the_defaults_make_the_cores_defaults() {
    assert_eq!(Settings::default().core_config(), Config::default());
}

#[test]
fn a_reload_hands_over_only_what_changed() {
    let a = |u: &str, p: &str| natter_core::server::Account {
        username: u.into(),
        password: p.into(),
    };
    let before = [a("alice", "x"), a("bob", "y"), a("carol", "z")];
    let after = [a("bob", "y2"), a("carol", "z"), a("dave", "w")];
    let d = diff_accounts(&before, &after);
    assert_eq!(d.set, vec![a("bob", "y2"), a("dave", "w")]);
    assert_eq!(d.remove, vec!["alice".to_owned()]);
    assert!(diff_accounts(&after, &after).is_empty());
}

/// The container recipe's configuration (docs/container/natter.toml) is one the server starts with:
/// it reads, passes the checks, serves the container's network, keeps its state in the volume, and
/// leaves every other key at its default.
#[test]
fn the_container_configuration_reads_and_serves_the_containers_network() {
    let text = include_str!("../../../docs/container/natter.toml");
    let mut settings = Settings::parse(text).expect("the container's file is a configuration");
    settings.check().expect("its values are allowed");
    settings.rebase(Path::new("/etc/natter"));
    assert_eq!(
        settings.listen_addrs(),
        vec!["0.0.0.0:4000".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(settings.data_dir(), Path::new("/var/lib/natter"));
    assert_eq!(
        settings.server.credentials,
        Path::new("/etc/natter/credentials.txt")
    );
    assert_eq!(
        settings.admin_socket(),
        Path::new("/var/lib/natter/admin.sock")
    );
    assert_eq!(settings.log.format, LogFormat::Json);
    let mut rest = settings.clone();
    rest.server.bind = Settings::default().server.bind;
    rest.server.credentials = Settings::default().server.credentials;
    rest.server.data_dir = None;
    rest.log.format = Settings::default().log.format;
    assert_eq!(
        rest,
        Settings::default(),
        "nothing else differs from the defaults"
    );
}
