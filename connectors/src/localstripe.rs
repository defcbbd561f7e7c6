//! A real localstripe 1.15.10 for tests (feature `testing`): its aiohttp app served on
//! 127.0.0.1 on a port picked here by `tests/servers/localstripe_launcher.py` (never the
//! `localstripe` command, which binds every interface and shares `/tmp/localstripe.pickle`),
//! from the project's test virtual environment; stopped (TERM, then KILL) when dropped.
//!
//! [`LocalStripe::throttled`] puts a front before it that answers the first requests with
//! `429 Too Many Requests` and `Retry-After`, as Stripe does under its rate limits (localstripe
//! never throttles), and forwards the rest.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::dav_servers::{stop_python_server, venv};

/// A secret key localstripe accepts (any `sk_test_…`).
pub const API_KEY: &str = "sk_test_lexgate_tests";

pub struct LocalStripe {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl LocalStripe {
    /// Starts localstripe; panics (failing the test) when it cannot.
    pub fn start() -> LocalStripe {
        let python = venv().join("bin/python");
        let installed = Command::new(&python)
            .args(["-c", "import localstripe.server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "localstripe is not installed in {}: run tests/servers/install",
            venv().display()
        );
        let launcher = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/servers/localstripe_launcher.py");
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let child = Command::new(&python)
            .arg(&launcher)
            .arg(port.to_string())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("localstripe started");
        let mut server = LocalStripe {
            base_url: format!("http://127.0.0.1:{port}"),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("localstripe exited ({status}): {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "localstripe did not start: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default()
    }

    /// A form-encoded request to the API as [`API_KEY`]; panics on a refusal.
    pub async fn call(&self, method: &str, path: &str, form: &[(&str, &str)]) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(API_KEY)
            .form(form)
            .send()
            .await
            .expect("localstripe answered");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// Creates a customer; answers its id.
    pub async fn customer(&self, form: &[(&str, &str)]) -> String {
        let body = self.call("POST", "/v1/customers", form).await;
        body["id"].as_str().expect("customer id").to_owned()
    }

    /// Gives a customer a card and an active subscription to a free plan, which localstripe
    /// needs before it makes an invoice.
    pub async fn subscribe(&self, customer: &str) {
        let card = self
            .call(
                "POST",
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", "4242424242424242"),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2035"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        let card = card["id"].as_str().expect("payment method");
        self.call(
            "POST",
            &format!("/v1/payment_methods/{card}/attach"),
            &[("customer", customer)],
        )
        .await;
        self.call(
            "POST",
            &format!("/v1/customers/{customer}"),
            &[("invoice_settings[default_payment_method]", card)],
        )
        .await;
        let plan = format!("plan_{customer}");
        self.call(
            "POST",
            "/v1/plans",
            &[
                ("id", plan.as_str()),
                ("amount", "0"),
                ("currency", "eur"),
                ("interval", "month"),
                ("product[name]", "Assistenza legale"),
            ],
        )
        .await;
        self.call(
            "POST",
            "/v1/subscriptions",
            &[("customer", customer), ("items[0][plan]", plan.as_str())],
        )
        .await;
    }

    /// A front on another port answering the first `refusals` requests with 429 and
    /// `Retry-After: 1`, then forwarding everything here. Answers its base URL and the count of
    /// requests it refused so far.
    pub async fn throttled(&self, refusals: u32) -> (String, Arc<AtomicU32>) {
        use axum::body::Bytes;
        use axum::extract::State;
        use axum::http::{HeaderMap, Method, StatusCode, Uri};
        use axum::response::{IntoResponse, Response};

        #[derive(Clone)]
        struct Front {
            upstream: String,
            refusals: u32,
            refused: Arc<AtomicU32>,
        }

        async fn forward(
            State(front): State<Front>,
            method: Method,
            uri: Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> Response {
            let seen = front.refused.load(Ordering::SeqCst);
            if seen < front.refusals {
                front.refused.fetch_add(1, Ordering::SeqCst);
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    r#"{"error":{"type":"rate_limit_error","message":"Too many requests"}}"#,
                )
                    .into_response();
            }
            let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).expect("method");
            let mut request = reqwest::Client::new()
                .request(method, format!("{}{path}", front.upstream))
                .body(body.to_vec());
            for (name, value) in headers.iter() {
                if name != "host" {
                    request = request.header(name.as_str(), value.as_bytes());
                }
            }
            let answer = request.send().await.expect("localstripe answered");
            let status = StatusCode::from_u16(answer.status().as_u16()).expect("status");
            let bytes = answer.bytes().await.expect("body");
            (
                status,
                [("content-type", "application/json")],
                bytes.to_vec(),
            )
                .into_response()
        }

        let refused = Arc::new(AtomicU32::new(0));
        let front = Front {
            upstream: self.base_url.clone(),
            refusals,
            refused: refused.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(front);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (format!("http://{address}"), refused)
    }
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        stop_python_server(&mut self.child);
    }
}
