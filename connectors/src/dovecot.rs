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
        Dovecot::start_with(users, None)
    }

    /// Starts a server that also takes XOAUTH2 and OAUTHBEARER logins, checking each token at
    /// an RFC 7662 introspection endpoint (`passdb { driver = oauth2 }`, POST mode): the token
    /// must be active and its `username` the user logging in.
    pub fn start_with_oauth(users: &[(&str, &str)], introspection_url: &str) -> Dovecot {
        Dovecot::start_with(users, Some(introspection_url))
    }

    fn start_with(users: &[(&str, &str)], introspection_url: Option<&str>) -> Dovecot {
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
        let config = dir.join("dovecot.conf");
        std::fs::write(
            &config,
            format!(
                r#"protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
{oauth}auth_failure_delay = 0
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
    port = 0
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
