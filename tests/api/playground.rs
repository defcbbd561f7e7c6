//! The playground in a real browser (headless Chromium, driven over the DevTools protocol):
//! it renders with every outside host unreachable, logs in through its form and runs a query
//! with the session's token, loading nothing from elsewhere and breaking no CSP rule.

use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;

/// A DevTools protocol session with one page; events received while waiting for answers
/// are kept in `events`.
struct Page {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    events: Vec<Value>,
}

impl Page {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::text(request.to_string()))
            .await
            .expect("DevTools request sent");
        loop {
            let message = tokio::time::timeout(Duration::from_secs(60), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no DevTools answer to {method}"))
                .expect("DevTools connection open")
                .expect("DevTools message");
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method} failed: {value}");
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression} threw: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is truthy in the page.
    async fn wait_for(&mut self, expression: &str, what: &str) {
        for _ in 0..300 {
            let value = self.eval(expression).await;
            if value.as_bool() == Some(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let body = self.eval("document.body.innerText").await;
        panic!("timed out waiting for {what}; the page shows: {body}");
    }
}

/// Starts headless Chromium on about:blank with a fresh profile and every host but
/// 127.0.0.1 unresolvable (no internet), and connects to its page.
async fn open_browser(profile: &std::path::Path) -> (tokio::process::Child, Page) {
    let mut browser = tokio::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("chromium must be installed for the playground test (.ci/run installs it)");
    let stderr = browser.stderr.take().expect("chromium stderr");
    let mut lines = BufReader::new(stderr).lines();
    let browser_url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("chromium stderr") {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                return url.to_owned();
            }
        }
        panic!("chromium exited before listening for DevTools");
    })
    .await
    .expect("chromium started");
    // Keep draining its stderr so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let http = browser_url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .expect("DevTools address");
    let targets: Vec<Value> = reqwest::get(format!("http://{http}/json/list"))
        .await
        .expect("DevTools targets")
        .json()
        .await
        .expect("DevTools targets JSON");
    let page_url = targets
        .iter()
        .find(|t| t["type"] == "page")
        .and_then(|t| t["webSocketDebuggerUrl"].as_str())
        .expect("a page target");
    let (socket, _) = tokio_tungstenite::connect_async(page_url)
        .await
        .expect("DevTools page connection");
    let page = Page {
        socket,
        next_id: 0,
        events: Vec::new(),
    };
    (browser, page)
}

async fn playground_works_offline_with_its_login_form(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, _) = app.sign_in("avvocata@example.com", "admin").await;
    let profile = tempfile::tempdir().expect("browser profile directory");
    let (mut browser, mut page) = open_browser(profile.path()).await;

    page.call("Network.enable", json!({})).await;
    page.call("Page.enable", json!({})).await;
    page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "window.cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));" }),
    )
    .await;
    let playground = format!("{}/graphql", app.base_url);
    page.call("Page.navigate", json!({ "url": playground }))
        .await;
    page.wait_for(
        "document.querySelector('.graphiql-container .graphiql-query-editor .CodeMirror') !== null",
        "GraphiQL to render",
    )
    .await;
    assert_eq!(
        page.eval("document.getElementById('who').textContent")
            .await,
        "Not logged in"
    );

    page.eval(
        "document.getElementById('email').value = 'avvocata@example.com'; \
         document.getElementById('password').value = 'Ombrello-Verde-2026'; \
         document.getElementById('login').requestSubmit(); true",
    )
    .await;
    page.wait_for(
        "document.getElementById('who').textContent.startsWith('Logged in as')",
        "the login form to log in",
    )
    .await;
    assert_eq!(
        page.eval("document.getElementById('who').textContent")
            .await,
        "Logged in as Test User <avvocata@example.com> (admin)"
    );

    // The query answers with the logged-in user, so it went out with the session's token.
    page.eval(
        "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror \
           .setValue('{ viewer { role user { email } } }'); \
         document.querySelector('.graphiql-execute-button').click(); true",
    )
    .await;
    let response = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()";
    page.wait_for(
        &format!("{response}.includes('avvocata@example.com')"),
        "the query's answer",
    )
    .await;
    let answer: Value =
        serde_json::from_str(page.eval(response).await.as_str().expect("response text"))
            .expect("the response pane holds JSON");
    assert_eq!(
        answer["data"]["viewer"]["user"]["email"],
        "avvocata@example.com"
    );
    assert_eq!(answer["data"]["viewer"]["role"], "admin");

    assert_eq!(page.eval("window.cspViolations").await, json!([]));
    let requested: Vec<String> = page
        .events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_owned))
        .collect();
    assert!(
        requested
            .iter()
            .any(|u| u.ends_with("/playground/graphiql.min.js")),
        "GraphiQL not loaded from the server: {requested:?}"
    );
    let elsewhere: Vec<&String> = requested
        .iter()
        .filter(|u| !u.starts_with(&app.base_url) && !u.starts_with("data:"))
        .collect();
    assert!(elsewhere.is_empty(), "requests elsewhere: {elsewhere:?}");

    browser.kill().await.expect("chromium stopped");
}

on_both_backends!(playground_works_offline_with_its_login_form);
