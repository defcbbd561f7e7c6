//! A real Dovecot IMAP server for tests: started in the foreground with its own configuration
//! in a short temporary directory, bound to 127.0.0.1 on a port picked here, users in a
//! passwd-file, mail owned by `nobody` (Dovecot refuses mail owned by uid 0), no delay after
//! failed logins. Mail is seeded with IMAP APPEND. Stopped with TERM, then KILL, on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use tokio::net::TcpStream;

const INSTALL_HINT: &str = "Dovecot is not installed: run tests/servers/install";

pub struct Dovecot {
    dir: PathBuf,
    config: PathBuf,
    port: u16,
    /// The implicit-TLS port and the test CA's PEM (servers started with `start_tls`).
    tls: Option<(u16, String)>,
    child: Child,
}

fn find(binary: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(binary))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{INSTALL_HINT} ({binary} not found)"))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("local address").port()
}

impl Dovecot {
    /// Starts a server with these `(user, password)` logins.
    pub fn start(users: &[(&str, &str)]) -> Dovecot {
        Dovecot::start_with(users, None, false, None)
    }

    /// Starts a server that lets each user hold at most `connections` IMAP sessions from one
    /// address (`mail_max_userip_connections`): one more login is answered
    /// `NO [LIMIT] Maximum number of connections from user+IP exceeded`.
    pub fn start_limited(users: &[(&str, &str)], connections: u32) -> Dovecot {
        Dovecot::start_with(users, None, false, Some(connections))
    }

    /// Starts a server with TLS: STARTTLS on `url()` and implicit TLS on `imaps_url()`, its
    /// certificate (for 127.0.0.1 and localhost) issued by a CA made for this server alone
    /// (`ca_pem()`), so nothing but a client told to trust that CA accepts it.
    pub fn start_tls(users: &[(&str, &str)]) -> Dovecot {
        Dovecot::start_with(users, None, true, None)
    }

    /// Starts a server that also takes XOAUTH2 and OAUTHBEARER logins, checking each token at
    /// an RFC 7662 introspection endpoint (`passdb { driver = oauth2 }`, POST mode): the token
    /// must be active and its `username` the user logging in.
    pub fn start_with_oauth(users: &[(&str, &str)], introspection_url: &str) -> Dovecot {
        Dovecot::start_with(users, Some(introspection_url), false, None)
    }

    fn start_with(
        users: &[(&str, &str)],
        introspection_url: Option<&str>,
        tls: bool,
        max_userip_connections: Option<u32>,
    ) -> Dovecot {
        let dovecot = find("dovecot");
        // Unix socket paths are limited to 108 bytes: a short directory under /tmp.
        let dir = PathBuf::from(format!("/tmp/dv{}", rand::random::<u32>()));
        for sub in ["", "run", "state", "mail"] {
            std::fs::create_dir_all(dir.join(sub)).expect("dovecot directory");
        }
        use std::os::unix::fs::PermissionsExt;
        // Login processes run as dovenull and must enter it; mail is written as nobody.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(dir.join("mail"), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let passwd: String = users
            .iter()
            .map(|(user, password)| format!("{user}:{{PLAIN}}{password}::::::\n"))
            .collect();
        std::fs::write(dir.join("users"), passwd).expect("users file");
        let port = free_port();
        let d = dir.display();
        let oauth = match introspection_url {
            Some(url) => {
                std::fs::write(
                    dir.join("oauth2.conf.ext"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\n\
force_introspection = yes\nusername_attribute = username\n\
active_attribute = active\nactive_value = true\n"
                    ),
                )
                .expect("oauth2 configuration");
                format!(
                    "auth_mechanisms = plain login xoauth2 oauthbearer\n\
passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {d}/oauth2.conf.ext\n}}\n"
                )
            }
            None => "auth_mechanisms = plain login\n".to_owned(),
        };
        let (ssl, imaps_port, tls) = if tls {
            let ca_pem = make_certificates(&dir);
            let imaps_port = free_port();
            (
                format!("ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n"),
                imaps_port,
                Some((imaps_port, ca_pem)),
            )
        } else {
            ("ssl = no\n".to_owned(), 0, None)
        };
        let limit = match max_userip_connections {
            Some(n) => format!("protocol imap {{\n  mail_max_userip_connections = {n}\n}}\n"),
            None => String::new(),
        };
        let config = dir.join("dovecot.conf");
        std::fs::write(
            &config,
            format!(
                r#"protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
{ssl}disable_plaintext_auth = no
{oauth}{limit}auth_failure_delay = 0
mail_location = maildir:{d}/mail/%u
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"#
            ),
        )
        .expect("dovecot.conf");
        let child = Command::new(dovecot)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{INSTALL_HINT} ({e})"));
        let server = Dovecot {
            dir,
            config,
            port,
            tls,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Dovecot did not start: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `imap://127.0.0.1:PORT` (plain, loopback).
    pub fn url(&self) -> String {
        format!("imap://127.0.0.1:{}", self.port)
    }

    /// `imaps://127.0.0.1:PORT` (implicit TLS; servers started with `start_tls` only).
    pub fn imaps_url(&self) -> String {
        let (port, _) = self.tls.as_ref().expect("a server started with start_tls");
        format!("imaps://127.0.0.1:{port}")
    }

    /// The PEM of the CA that issued the server's certificate (`start_tls` only).
    pub fn ca_pem(&self) -> String {
        let (_, pem) = self.tls.as_ref().expect("a server started with start_tls");
        pem.clone()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    async fn session(&self, user: &str, password: &str) -> async_imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect to Dovecot");
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.expect("greeting");
        client
            .login(user, password)
            .await
            .map_err(|(e, _)| e)
            .expect("login to Dovecot")
    }

    /// A logged-in session held open until dropped (to use up a connection limit).
    pub async fn hold_session(&self, user: &str, password: &str) -> HeldSession {
        HeldSession(self.session(user, password).await)
    }

    /// Seeds many messages into a user's INBOX fast: written straight into the maildir (one
    /// file per message in `cur/`, as a delivery agent would), then indexed with
    /// `doveadm index`, so the first IMAP client finds them with UIDs assigned. For
    /// benchmarks; tests that exercise the server's own writes use [`Dovecot::append`].
    pub fn seed_inbox(&self, user: &str, messages: impl Iterator<Item = Vec<u8>>) -> usize {
        use std::os::unix::fs::PermissionsExt;
        let maildir = self.dir.join("mail").join(user);
        for sub in ["", "cur", "new", "tmp"] {
            let path = maildir.join(sub);
            std::fs::create_dir_all(&path).expect("maildir");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
                .expect("chmod maildir");
        }
        let stamp = chrono::Utc::now().timestamp();
        let mut count = 0;
        for (i, message) in messages.enumerate() {
            let name = format!("{stamp}.M{i}P1.seed,S={}:2,S", message.len());
            std::fs::write(maildir.join("cur").join(name), message).expect("seed message");
            count += 1;
        }
        let output = Command::new(find("doveadm"))
            .arg("-c")
            .arg(&self.config)
            .args(["index", "-u", user, "INBOX"])
            .output()
            .expect("doveadm");
        assert!(
            output.status.success(),
            "doveadm index failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        count
    }

    /// Appends `raw` to `folder` (created if missing).
    pub async fn append(&self, user: &str, password: &str, folder: &str, raw: &[u8]) {
        let mut session = self.session(user, password).await;
        if folder != "INBOX" {
            // Already there after the first append: the error is expected then.
            let _ = session.create(folder).await;
        }
        session
            .append(folder, None, None, raw)
            .await
            .expect("APPEND");
        session.logout().await.expect("LOGOUT");
    }

    /// Deletes the messages of `folder` whose Message-ID is `message_id`.
    pub async fn delete(&self, user: &str, password: &str, folder: &str, message_id: &str) {
        let mut session = self.session(user, password).await;
        session.select(folder).await.expect("SELECT");
        let uids = session
            .uid_search(format!("HEADER Message-ID \"{message_id}\""))
            .await
            .expect("SEARCH");
        assert!(!uids.is_empty(), "no message {message_id} in {folder}");
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        session
            .uid_store(&set, "+FLAGS (\\Deleted)")
            .await
            .expect("STORE")
            .try_collect::<Vec<_>>()
            .await
            .expect("STORE responses");
        session
            .expunge()
            .await
            .expect("EXPUNGE")
            .try_collect::<Vec<_>>()
            .await
            .expect("EXPUNGE responses");
        session.logout().await.expect("LOGOUT");
    }

    /// Gives `folder` a new UIDVALIDITY (what a server rebuild does): clients must resync.
    pub fn set_uid_validity(&self, user: &str, folder: &str, uid_validity: u32) {
        let output = Command::new(find("doveadm"))
            .arg("-c")
            .arg(&self.config)
            .args(["mailbox", "update", "-u", user, "--uid-validity"])
            .arg(uid_validity.to_string())
            .arg(folder)
            .output()
            .expect("doveadm");
        assert!(
            output.status.success(),
            "doveadm mailbox update failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// An open, logged-in IMAP session of a test; logged out when dropped (the connection closes).
pub struct HeldSession(#[allow(dead_code)] async_imap::Session<TcpStream>);

/// A CA and a server certificate it issues for 127.0.0.1 and localhost (`openssl` CLI), in
/// `dir` as `cert.pem` and `key.pem`; returns the CA's PEM. The server certificate is not a
/// CA itself: rustls refuses a CA certificate used as an end entity.
pub(crate) fn make_certificates(dir: &Path) -> String {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (install it)");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &key,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=lexgate test CA",
                "-days",
                "2",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &key,
            &[
                "-keyout",
                "key.pem",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = critical, CA:FALSE\n",
    )
    .expect("extensions file");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("key.pem"), std::fs::Permissions::from_mode(0o600))
        .expect("chmod");
    std::fs::read_to_string(dir.join("ca.pem")).expect("CA certificate")
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
