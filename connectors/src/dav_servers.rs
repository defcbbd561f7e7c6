//! Real CalDAV servers for tests (feature `testing`): Radicale and Xandikos from the project's
//! test virtual environment (`tests/servers/install`), each started on 127.0.0.1 on a port
//! picked here, in a temporary directory, with one empty calendar; stopped (TERM, then KILL)
//! when dropped. And document stores for the `webdav` connector ([`FileDavServer`]): Apache
//! `mod_dav_fs` and WsgiDAV, each with an empty root collection.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DavServerKind {
    Radicale,
    Xandikos,
}

impl DavServerKind {
    pub const ALL: [DavServerKind; 2] = [DavServerKind::Radicale, DavServerKind::Xandikos];

    pub fn name(self) -> &'static str {
        match self {
            DavServerKind::Radicale => "radicale",
            DavServerKind::Xandikos => "xandikos",
        }
    }
}

/// The user Radicale knows (Xandikos has no authentication of its own over plain HTTP).
pub const USER: &str = "avv.rossi";
pub const PASSWORD: &str = "calendar-secret";

pub struct DavServer {
    pub kind: DavServerKind,
    /// `http://127.0.0.1:PORT`, or `https://` for a server started with
    /// [`DavServer::start_tls`].
    pub base_url: String,
    /// The PEM of the CA that issued the server's certificate (`start_tls` only).
    pub ca_pem: Option<String>,
    /// The empty calendar collection made for the test, ending with '/'.
    pub calendar_url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

/// The project's test virtual environment.
pub fn venv() -> PathBuf {
    match std::env::var_os("LEXGATE_TEST_VENV") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv-test"),
    }
}

impl DavServer {
    /// Starts the server with a calendar; panics (failing the test) when it cannot.
    pub async fn start(kind: DavServerKind) -> DavServer {
        DavServer::start_with(kind, false).await
    }

    /// Starts Radicale over HTTPS, its certificate (for 127.0.0.1 and localhost) issued by a
    /// CA made for this server alone ([`DavServer::ca_pem`]). Xandikos serves plain HTTP only.
    pub async fn start_tls(kind: DavServerKind) -> DavServer {
        assert_eq!(kind, DavServerKind::Radicale, "only Radicale serves TLS");
        DavServer::start_with(kind, true).await
    }

    async fn start_with(kind: DavServerKind, tls: bool) -> DavServer {
        let python = venv().join("bin/python");
        let installed = Command::new(&python)
            .args(["-c", &format!("import {}", kind.name())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "{} is not installed in {}: run tests/servers/install",
            kind.name(),
            venv().display()
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let mut command = Command::new(&python);
        let ca_pem = tls.then(|| crate::dovecot::make_certificates(dir.path()));
        let ssl = match tls {
            true => format!(
                "ssl = True\ncertificate = {d}/cert.pem\nkey = {d}/key.pem\n",
                d = dir.path().display()
            ),
            false => String::new(),
        };
        match kind {
            DavServerKind::Radicale => {
                let config = dir.path().join("config");
                std::fs::write(dir.path().join("users"), format!("{USER}:{PASSWORD}\n"))
                    .expect("htpasswd");
                std::fs::write(
                    &config,
                    format!(
                        "[server]\nhosts = 127.0.0.1:{port}\n{ssl}\
                         [auth]\ntype = htpasswd\nhtpasswd_filename = {users}\n\
                         htpasswd_encryption = plain\ndelay = 0\n\
                         [rights]\ntype = owner_only\n\
                         [storage]\nfilesystem_folder = {storage}\n\
                         [logging]\nlevel = warning\n",
                        users = dir.path().join("users").display(),
                        storage = dir.path().join("collections").display(),
                    ),
                )
                .expect("radicale config");
                command.args(["-m", "radicale", "--config"]).arg(&config);
            }
            DavServerKind::Xandikos => {
                command
                    .args(["-m", "xandikos", "serve", "--autocreate", "-d"])
                    .arg(dir.path().join("data"))
                    .args(["-l", "127.0.0.1", "-p", &port.to_string()]);
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("server started");
        let scheme = if tls { "https" } else { "http" };
        let base_url = format!("{scheme}://127.0.0.1:{port}");
        let calendar_url = match kind {
            DavServerKind::Radicale => format!("{base_url}/{USER}/work/"),
            DavServerKind::Xandikos => format!("{base_url}/user/calendars/work/"),
        };
        let mut server = DavServer {
            kind,
            base_url,
            ca_pem,
            calendar_url,
            child,
            _dir: dir,
        };
        server.wait_ready(port);
        server.make_calendar().await;
        server
    }

    fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}): {}", self.kind.name(), self.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start: {}",
                self.kind.name(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default()
    }

    /// A request to `url` as [`USER`].
    pub fn request(&self, method: &str, url: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut client = reqwest::Client::builder();
        if let Some(pem) = &self.ca_pem {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes()).expect("the test CA");
            client = client.add_root_certificate(ca);
        }
        client
            .build()
            .expect("client")
            .request(method, url)
            .basic_auth(USER, Some(PASSWORD))
    }

    async fn make_calendar(&self) {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Work</d:displayname></d:prop></d:set></c:mkcalendar>"#;
        let response = self
            .request("MKCALENDAR", &self.calendar_url)
            .header("content-type", "application/xml")
            .body(body)
            .send()
            .await
            .expect("MKCALENDAR");
        assert!(
            response.status().is_success(),
            "MKCALENDAR on {} answered {}: {}",
            self.kind.name(),
            response.status(),
            self.log()
        );
    }

    /// The URL of resource `name` in the calendar.
    pub fn event_url(&self, name: &str) -> String {
        format!("{}{name}", self.calendar_url)
    }

    /// Writes (creates or replaces) an event as someone using a calendar app would.
    pub async fn put_event(&self, name: &str, ics: &str) {
        let response = self
            .request("PUT", &self.event_url(name))
            .header("content-type", "text/calendar; charset=utf-8")
            .body(ics.to_owned())
            .send()
            .await
            .expect("PUT");
        assert!(
            response.status().is_success(),
            "PUT {name} answered {}",
            response.status()
        );
    }

    pub async fn delete_event(&self, name: &str) {
        let response = self
            .request("DELETE", &self.event_url(name))
            .send()
            .await
            .expect("DELETE");
        assert!(
            response.status().is_success(),
            "DELETE {name} answered {}",
            response.status()
        );
    }

    /// The event's body and ETag, if it exists.
    pub async fn get_event(&self, name: &str) -> Option<(String, String)> {
        let response = self
            .request("GET", &self.event_url(name))
            .send()
            .await
            .expect("GET");
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        assert!(response.status().is_success(), "GET {name}");
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Some((response.text().await.expect("body"), etag))
    }
}

impl Drop for DavServer {
    fn drop(&mut self) {
        stop_python_server(&mut self.child);
    }
}

/// Stops a test server: Python servers may survive one TERM, so wait a little, then KILL.
/// The API tests' SMTP server stops through it too.
pub fn stop_python_server(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A minimal calendar object.
pub fn event_ics(uid: &str, summary: &str, start: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//lexgate tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\n\
         SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Which document store (WebDAV on files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileDavKind {
    /// Apache 2.4 `mod_dav_fs` (`apache2 -X` with a config of the test's own).
    Apache,
    /// WsgiDAV 4.4 on cheroot, from the test virtual environment.
    WsgiDav,
}

impl FileDavKind {
    pub const ALL: [FileDavKind; 2] = [FileDavKind::Apache, FileDavKind::WsgiDav];

    pub fn name(self) -> &'static str {
        match self {
            FileDavKind::Apache => "apache",
            FileDavKind::WsgiDav => "wsgidav",
        }
    }
}

/// A WebDAV document store on 127.0.0.1 with an empty root collection `/Pratiche/`, user
/// [`USER`] with [`PASSWORD`]; stopped (TERM, then KILL) when dropped.
pub struct FileDavServer {
    pub kind: FileDavKind,
    /// `http://127.0.0.1:PORT`, or `https://` for a store started with
    /// [`FileDavServer::start_tls`].
    pub base_url: String,
    /// The PEM of the CA that issued the store's certificate (`start_tls` only).
    pub ca_pem: Option<String>,
    /// The root collection the tests use, ending with '/'.
    pub root_url: String,
    child: Child,
    dir: tempfile::TempDir,
}

const APACHE_MODULES: &[(&str, &str)] = &[
    ("mpm_prefork_module", "mod_mpm_prefork.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("authn_core_module", "mod_authn_core.so"),
    ("authn_file_module", "mod_authn_file.so"),
    ("auth_basic_module", "mod_auth_basic.so"),
    ("authz_user_module", "mod_authz_user.so"),
    ("dav_module", "mod_dav.so"),
    ("dav_fs_module", "mod_dav_fs.so"),
    ("mime_module", "mod_mime.so"),
];

impl FileDavServer {
    /// Starts the store; panics (failing the test) when it cannot.
    pub fn start(kind: FileDavKind) -> FileDavServer {
        FileDavServer::start_with(kind, false)
    }

    /// Starts Apache over HTTPS (`mod_ssl`), its certificate (for 127.0.0.1 and localhost)
    /// issued by a CA made for this store alone ([`FileDavServer::ca_pem`]).
    pub fn start_tls(kind: FileDavKind) -> FileDavServer {
        assert_eq!(
            kind,
            FileDavKind::Apache,
            "only the Apache store serves TLS here"
        );
        FileDavServer::start_with(kind, true)
    }

    fn start_with(kind: FileDavKind, tls: bool) -> FileDavServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let ca_pem = tls.then(|| crate::dovecot::make_certificates(dir.path()));
        let files = dir.path().join("files");
        std::fs::create_dir_all(files.join("Pratiche")).expect("root collection");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let mut command = match kind {
            FileDavKind::Apache => {
                let users = dir.path().join("users");
                let made = Command::new("htpasswd")
                    .args(["-b", "-c"])
                    .arg(&users)
                    .args([USER, PASSWORD])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(
                    made,
                    "htpasswd (apache2-utils) is not installed: run tests/servers/install"
                );
                let modules = "/usr/lib/apache2/modules";
                let mut loads: String = APACHE_MODULES
                    .iter()
                    .map(|(name, file)| format!("LoadModule {name} {modules}/{file}\n"))
                    .collect();
                let root = dir.path().display();
                if tls {
                    loads.push_str(&format!(
                        "LoadModule ssl_module {modules}/mod_ssl.so\nSSLEngine on\n\
                         SSLCertificateFile {root}/cert.pem\n\
                         SSLCertificateKeyFile {root}/key.pem\n"
                    ));
                }
                let config = dir.path().join("httpd.conf");
                std::fs::write(
                    &config,
                    format!(
                        "ServerRoot {root}\nServerName 127.0.0.1\nListen 127.0.0.1:{port}\n\
                         PidFile {root}/httpd.pid\nDefaultRuntimeDir {root}\n\
                         ErrorLog {root}/server.log\nLogLevel warn\n\
                         {loads}TypesConfig /etc/mime.types\nDavLockDB {root}/lockdb\n\
                         DocumentRoot {root}/files\n<Directory {root}/files>\n  Dav On\n\
                         AuthType Basic\n  AuthName lexgate\n  AuthUserFile {users}\n\
                         Require valid-user\n</Directory>\n",
                        users = users.display(),
                    ),
                )
                .expect("apache config");
                let mut command = Command::new("apache2");
                command.arg("-X").arg("-f").arg(&config);
                command
            }
            FileDavKind::WsgiDav => {
                let python = venv().join("bin/python");
                let installed = Command::new(&python)
                    .args(["-c", "import wsgidav, cheroot"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(
                    installed,
                    "wsgidav is not installed in {}: run tests/servers/install",
                    venv().display()
                );
                let config = dir.path().join("wsgidav.yaml");
                std::fs::write(
                    &config,
                    format!(
                        "host: 127.0.0.1\nport: {port}\nprovider_mapping:\n  \"/\": \"{files}\"\n\
                         property_manager: true\nlock_storage: true\nverbose: 1\n\
                         http_authenticator:\n  accept_basic: true\n  accept_digest: false\n  \
                         default_to_digest: false\nsimple_dc:\n  user_mapping:\n    \"*\":\n      \
                         \"{USER}\":\n        password: \"{PASSWORD}\"\n",
                        files = files.display(),
                    ),
                )
                .expect("wsgidav config");
                let mut command = Command::new(&python);
                command
                    .args(["-m", "wsgidav.server.server_cli", "--config"])
                    .arg(&config);
                command
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("server started");
        let scheme = if tls { "https" } else { "http" };
        let base_url = format!("{scheme}://127.0.0.1:{port}");
        let mut server = FileDavServer {
            kind,
            ca_pem,
            root_url: format!("{base_url}/Pratiche/"),
            base_url,
            child,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{} exited ({status}): {}", kind.name(), server.log());
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start: {}",
                kind.name(),
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The URL of `path` under the root collection (already percent-encoded).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.root_url, path.trim_start_matches('/'))
    }

    /// A request to `path` under the root as [`USER`].
    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut client = reqwest::Client::builder();
        if let Some(pem) = &self.ca_pem {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes()).expect("the test CA");
            client = client.add_root_certificate(ca);
        }
        client
            .build()
            .expect("client")
            .request(method, self.url(path))
            .basic_auth(USER, Some(PASSWORD))
    }

    async fn expect_success(&self, what: &str, builder: reqwest::RequestBuilder) {
        let response = builder.send().await.expect(what);
        assert!(
            response.status().is_success(),
            "{what} on {} answered {}: {}",
            self.kind.name(),
            response.status(),
            self.log()
        );
    }

    /// Makes a folder as someone using the store would.
    pub async fn mkcol(&self, path: &str) {
        self.expect_success(&format!("MKCOL {path}"), self.request("MKCOL", path))
            .await;
    }

    /// Writes (creates or replaces) a file.
    pub async fn put(&self, path: &str, content: &str) {
        self.expect_success(
            &format!("PUT {path}"),
            self.request("PUT", path).body(content.to_owned()),
        )
        .await;
    }

    /// Moves a file or folder (no overwrite).
    pub async fn move_to(&self, from: &str, to: &str) {
        let destination = self.url(to);
        self.expect_success(
            &format!("MOVE {from}"),
            self.request("MOVE", from)
                .header("Destination", destination)
                .header("Overwrite", "F"),
        )
        .await;
    }

    pub async fn delete(&self, path: &str) {
        self.expect_success(&format!("DELETE {path}"), self.request("DELETE", path))
            .await;
    }

    /// The `PROPFIND Depth: 0` answer of `path` for `prop` in `namespace`.
    pub async fn property(&self, path: &str, namespace: &str, prop: &str) -> String {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:x="{namespace}"><d:prop><x:{prop}/></d:prop></d:propfind>"#
        );
        let response = self
            .request("PROPFIND", path)
            .header("Depth", "0")
            .header("content-type", "application/xml")
            .body(body)
            .send()
            .await
            .expect("PROPFIND");
        assert!(response.status().is_success(), "PROPFIND {path}");
        response.text().await.expect("body")
    }
}

impl Drop for FileDavServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
