//! A real SMTP server for the mail tests: aiosmtpd from the project's test virtual environment
//! (`tests/servers/install`) on a free 127.0.0.1 port, writing what it accepts into a Maildir
//! the test reads (`tests/servers/maildir_smtp.py`). It can be stopped and started again on
//! the same port and Maildir, as an SMTP outage would; it is stopped when dropped.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lexgate_connectors::dav_servers::stop_python_server;

use crate::processes::free_port;

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope's recipients.
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// Every header, names in lower case, values unfolded.
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// The first header of this name (any case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct SmtpServer {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

fn venv() -> PathBuf {
    std::env::var_os("LEXGATE_TEST_VENV").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-test"),
        PathBuf::from,
    )
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let mut server = SmtpServer {
            port: free_port(),
            child: None,
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        server.resume();
        server
    }

    /// The `[mail]` settings of a lexgate that sends through this server.
    pub fn settings(&self) -> lexgate::mail::MailSettings {
        lexgate::mail::MailSettings {
            smtp_host: Some("127.0.0.1".to_owned()),
            smtp_port: Some(self.port),
            smtp_tls: lexgate::mail::SmtpTls::None,
            from: Some("Studio Legale Rossi <noreply@studiorossi.it>".to_owned()),
            retry_seconds: 1,
            ..lexgate::mail::MailSettings::default()
        }
    }

    /// The same settings as TOML lines, for `lexgate serve` processes.
    pub fn toml(&self) -> String {
        format!(
            "smtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_tls = \"none\"\n\
             mail_from = \"Studio Legale Rossi <noreply@studiorossi.it>\"\nmail_retry_seconds = 1\n",
            self.port
        )
    }

    /// Starts the server (again) on its port and Maildir.
    pub fn resume(&mut self) {
        let python = venv().join("bin/python");
        let installed = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "aiosmtpd is not installed in {}: run tests/servers/install",
            venv().display()
        );
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log file");
        let child = Command::new(&python)
            .env(
                "PYTHONPATH",
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/servers"),
            )
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "maildir_smtp.MaildirHandler"])
            .arg(self.dir.path().join("Maildir"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("aiosmtpd started");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("aiosmtpd exited ({status}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (TERM, then KILL: some Python servers survive one TERM).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_python_server(&mut child);
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        let mut found = Vec::new();
        for folder in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.path().join("Maildir").join(folder))
            else {
                continue;
            };
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).expect("message readable");
                found.push(parse(&text));
            }
        }
        found
    }

    /// Waits until at least `count` messages have arrived, and returns them all.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Headers (unfolded) and body of a plain-text message.
fn parse(text: &str) -> Received {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let body = match header("content-transfer-encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "quoted-printable" => quoted_printable(body),
        "base64" => {
            use base64::Engine;
            let joined: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(joined)
                .expect("base64 body");
            String::from_utf8(bytes).expect("UTF-8 body")
        }
        _ => body.to_owned(),
    };
    Received {
        to: header("x-rcptto")
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect(),
        subject: header("subject"),
        body,
        headers,
    }
}

/// Decodes a quoted-printable body (RFC 2045): soft line breaks joined, `=XX` bytes decoded.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("UTF-8 body")
}
