//! The HTTP client every connector shares: timeouts, retries with exponential backoff and
//! full jitter for idempotent requests, `Retry-After` honoured on 429 and 503, a rate limiter
//! per connector instance, and request tracing that never shows secrets (no headers, no query
//! strings: both may carry tokens).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, Request, Response, StatusCode};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How a connector's requests behave.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// The whole request, connection to last byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; doubled per retry, capped at `max_backoff`, then jittered.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` waited for; a longer one fails the request.
    pub max_retry_after: Duration,
    /// Requests per second to this provider; `None` is unlimited.
    pub requests_per_second: Option<f64>,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 4,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(120),
            requests_per_second: Some(10.0),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request to {target} failed: {message}")]
    Transport { target: String, message: String },
    #[error("{target} answered {status}")]
    Status { target: String, status: u16 },
    #[error("{target} asked to wait {wait:?}, longer than allowed")]
    RetryAfterTooLong { target: String, wait: Duration },
    /// Every attempt, the last retry included, was throttled (429, 503 or Google's 403
    /// `rateLimitExceeded`).
    #[error("{target} kept throttling us through {attempts} attempts")]
    Throttled {
        target: String,
        attempts: u32,
        /// The last `Retry-After` the provider gave, if any.
        retry_after: Option<Duration>,
    },
    #[error("could not build the HTTP client: {0}")]
    Build(String),
    #[error("authorisation failed: {0}")]
    Auth(#[from] crate::oauth::OAuthError),
}

/// Spaces requests at least `interval` apart (a token bucket of one). Not `governor`: its
/// `until_ready` sleeps on its own clock (quanta) and timer (futures-timer) rather than
/// Tokio's, so it would ignore Tokio's paused test clock and bring three crates for what
/// these dozen lines do with `tokio::time`.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl RateLimiter {
    pub fn per_second(rate: f64) -> RateLimiter {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next_slot: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this caller's slot; concurrent callers get consecutive slots.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// One connector instance's client. Cheap to clone; clones share the rate limiter.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    policy: HttpPolicy,
    limiter: Option<Arc<RateLimiter>>,
}

/// What to do after a failed attempt.
enum Retry {
    /// Throttled, with the provider's `Retry-After`.
    After(Duration),
    /// Throttled without a `Retry-After`: the backoff's wait.
    Throttled,
    Backoff,
    Fail(HttpError),
    /// A refusal not worth retrying, returned as it came.
    Answered(Response),
}

impl HttpClient {
    pub fn new(policy: HttpPolicy) -> Result<HttpClient, HttpError> {
        HttpClient::with_extra_roots(policy, None)
    }

    /// A client that also trusts the certificate authorities of `pem` (one or more `BEGIN
    /// CERTIFICATE` blocks) besides the public web roots: for a server whose certificate a
    /// firm's own CA issued.
    pub fn with_extra_roots(
        policy: HttpPolicy,
        pem: Option<&str>,
    ) -> Result<HttpClient, HttpError> {
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| HttpError::Build(format!("caCertificate: {e}")))?;
            if roots.is_empty() {
                return Err(HttpError::Build(
                    "caCertificate holds no BEGIN CERTIFICATE block".into(),
                ));
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let inner = builder
            .timeout(policy.timeout)
            .connect_timeout(policy.connect_timeout)
            // A redirect could carry the bearer token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::Build(e.to_string()))?;
        let limiter = policy
            .requests_per_second
            .map(|rate| Arc::new(RateLimiter::per_second(rate)));
        Ok(HttpClient {
            inner,
            policy,
            limiter,
        })
    }

    /// The underlying client, to build requests with.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// Sends `request`, retrying what is safe to retry; a non-success status that is not
    /// retried comes back as [`HttpError::Status`].
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        // Named from the request: a response whose body was read is rebuilt without its URL.
        let target = redacted_target(&request);
        let response = self.send_answered(request).await?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(HttpError::Status {
            target,
            status: response.status().as_u16(),
        })
    }

    /// Like [`send`](Self::send), but a refusal that is not retried comes back as the
    /// response, for protocols whose error bodies say what went wrong (WebDAV
    /// preconditions, for instance).
    pub async fn send_answered(&self, request: Request) -> Result<Response, HttpError> {
        let target = redacted_target(&request);
        if request.try_clone().is_none() {
            // A streaming body cannot be replayed: one attempt only.
            return match self.attempt(request, &target, 0).await {
                Ok(response) | Err(AttemptError::Status { response, .. }) => Ok(response),
                Err(transport) => Err(transport.into()),
            };
        }
        let idempotent = is_idempotent(&request);
        let attempts = AtomicU32::new(0);
        let (request, target_ref, attempts_ref) = (&request, &target, &attempts);
        let once = || async move {
            let attempt = attempts_ref.fetch_add(1, Ordering::Relaxed);
            let this_try = request.try_clone().ok_or_else(|| {
                Retry::Fail(HttpError::Transport {
                    target: target_ref.clone(),
                    message: "the request cannot be replayed".to_owned(),
                })
            })?;
            self.attempt(this_try, target_ref, attempt)
                .await
                .map_err(|error| self.classify(error, idempotent))
        };
        let result = once
            .retry(self.backoff())
            .sleep(tokio::time::sleep)
            .when(|outcome| !matches!(outcome, Retry::Fail(_) | Retry::Answered(_)))
            // Retry-After replaces the backoff's wait, but not its count of retries.
            .adjust(|outcome, backoff| match (outcome, backoff) {
                (Retry::After(wait), Some(_)) => Some(*wait),
                (_, backoff) => backoff,
            })
            .notify(|_, wait| {
                tracing::debug!(target: "connectors::http", target = %target_ref, wait_ms = wait.as_millis() as u64, "retrying");
            })
            .await;
        match result {
            Ok(response) => Ok(response),
            Err(Retry::Fail(error)) => Err(error),
            Err(Retry::Answered(response)) => Ok(response),
            Err(Retry::After(wait)) => Err(HttpError::Throttled {
                target,
                attempts: attempts.load(Ordering::Relaxed),
                retry_after: Some(wait),
            }),
            Err(Retry::Throttled) => Err(HttpError::Throttled {
                target,
                attempts: attempts.load(Ordering::Relaxed),
                retry_after: None,
            }),
            Err(Retry::Backoff) => Err(HttpError::Transport {
                target,
                message: format!(
                    "gave up after {} attempts",
                    attempts.load(Ordering::Relaxed)
                ),
            }),
        }
    }

    async fn attempt(
        &self,
        request: Request,
        target: &str,
        attempt: u32,
    ) -> Result<Response, AttemptError> {
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        let started = Instant::now();
        let method = request.method().clone();
        let result = self.inner.execute(request).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result {
            Err(error) => {
                // The URL may carry secrets in its query.
                let error = error.without_url();
                let untrusted = untrusted_certificate(&error);
                let message = transport_message(&error, untrusted);
                tracing::info!(target: "connectors::http", %method, %target, attempt, elapsed_ms, error = %message, "request failed");
                Err(AttemptError::Transport {
                    target: target.to_owned(),
                    message,
                    untrusted,
                })
            }
            Ok(response) => {
                let status = response.status();
                tracing::info!(target: "connectors::http", %method, %target, attempt, elapsed_ms, status = status.as_u16(), "request");
                if status.is_success() {
                    Ok(response)
                } else {
                    let retry_after = retry_after(&response);
                    let (response, rate_limited) = if status == StatusCode::FORBIDDEN {
                        google_rate_limit(response).await
                    } else {
                        (response, false)
                    };
                    Err(AttemptError::Status {
                        status,
                        retry_after,
                        rate_limited,
                        target: target.to_owned(),
                        response,
                    })
                }
            }
        }
    }

    fn classify(&self, error: AttemptError, idempotent: bool) -> Retry {
        match error {
            AttemptError::Transport {
                untrusted: false, ..
            } if idempotent => Retry::Backoff,
            transport @ AttemptError::Transport { .. } => Retry::Fail(transport.into()),
            AttemptError::Status {
                status,
                retry_after,
                rate_limited,
                target,
                response,
            } => {
                // 429 means the request was not processed, so any method may be retried; so
                // does Google's 403 rateLimitExceeded.
                let throttled = status == StatusCode::TOO_MANY_REQUESTS
                    || rate_limited
                    || (status == StatusCode::SERVICE_UNAVAILABLE && idempotent);
                if throttled {
                    if let Some(wait) = retry_after {
                        if wait > self.policy.max_retry_after {
                            return Retry::Fail(HttpError::RetryAfterTooLong { target, wait });
                        }
                        return Retry::After(wait);
                    }
                    // A 503 without Retry-After is as likely an outage as a throttle.
                    return if status == StatusCode::SERVICE_UNAVAILABLE {
                        Retry::Backoff
                    } else {
                        Retry::Throttled
                    };
                }
                let transient = matches!(
                    status,
                    StatusCode::INTERNAL_SERVER_ERROR
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                        | StatusCode::REQUEST_TIMEOUT
                );
                if transient && idempotent {
                    Retry::Backoff
                } else {
                    Retry::Answered(response)
                }
            }
        }
    }

    /// Exponential backoff with jitter (backon), at most `max_retries` waits. backon adds a
    /// random 0-100% to each capped delay, so it gets half the policy's delays: every wait
    /// lies between half the capped exponential delay and the delay itself, and clients
    /// that failed together do not retry together.
    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.policy.base_backoff / 2)
            .with_max_delay(self.policy.max_backoff / 2)
            .with_factor(2.0)
            .with_max_times(self.policy.max_retries as usize)
            .with_jitter()
    }
}

enum AttemptError {
    Transport {
        target: String,
        message: String,
        /// The server's certificate is not trusted: retrying cannot help.
        untrusted: bool,
    },
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
        /// A 403 that Google APIs use for throttling (see [`google_rate_limit`]).
        rate_limited: bool,
        target: String,
        response: Response,
    },
}

/// Google APIs (Gmail, Calendar) throttle with 403 as well as 429: a 403 whose error names
/// the reason `rateLimitExceeded` or `userRateLimitExceeded` is a throttle to back off from
/// (honouring `Retry-After`), not a refused credential. Reads the body to tell, and gives
/// back a response with the same status, headers and body.
async fn google_rate_limit(response: Response) -> (Response, bool) {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap_or_default();
    let rate_limited = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|json| {
            let errors = json.get("error")?.get("errors")?.as_array()?.clone();
            Some(errors.iter().any(|e| {
                matches!(
                    e.get("reason").and_then(|r| r.as_str()),
                    Some("rateLimitExceeded" | "userRateLimitExceeded")
                )
            }))
        })
        .unwrap_or(false);
    let mut rebuilt = ::http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers;
    (Response::from(rebuilt), rate_limited)
}

impl From<AttemptError> for HttpError {
    fn from(error: AttemptError) -> Self {
        match error {
            AttemptError::Transport {
                target, message, ..
            } => HttpError::Transport { target, message },
            AttemptError::Status { status, target, .. } => HttpError::Status {
                target,
                status: status.as_u16(),
            },
        }
    }
}

/// Whether the request failed because the server's certificate is not one the client trusts
/// (unknown issuer, expired, another name, self-signed): rustls says so in the error chain,
/// inside the I/O error the TLS handshake failed with.
fn untrusted_certificate(error: &reqwest::Error) -> bool {
    use tokio_rustls::rustls;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        let tls = current.downcast_ref::<rustls::Error>().or_else(|| {
            current
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        // Connectors box their errors on the way (hyper-util, hyper-rustls): when the type is
        // lost, rustls's own wording for this variant still tells.
        if matches!(tls, Some(rustls::Error::InvalidCertificate(_)))
            || current.to_string().starts_with("invalid peer certificate")
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// A transport error with its causes (reqwest's own message is only "error sending
/// request"), and what to do about an untrusted certificate.
fn transport_message(error: &reqwest::Error, untrusted: bool) -> String {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        let text = current.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = current.source();
    }
    if untrusted {
        message.push_str(
            " (the server's certificate is not trusted: set the instance's caCertificate to the \
             PEM of the certificate authority that issued it)",
        );
    }
    message
}

/// GET, HEAD, PUT, DELETE, OPTIONS and TRACE are idempotent by definition; a POST is when
/// the caller gave it an `Idempotency-Key`.
fn is_idempotent(request: &Request) -> bool {
    matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    ) || request.headers().contains_key("idempotency-key")
}

/// Scheme, host and path only: query strings and headers may carry secrets.
fn redacted_target(request: &Request) -> String {
    redacted_url(request.url())
}

fn redacted_url(url: &reqwest::Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.path()
    )
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_under_the_cap() {
        use backon::BackoffBuilder;
        let client = HttpClient::new(HttpPolicy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_retries: 10,
            ..HttpPolicy::default()
        })
        .expect("client");
        let waits: Vec<Duration> = client.backoff().build().collect();
        assert_eq!(waits.len(), 10);
        for (attempt, wait) in waits.into_iter().enumerate() {
            let cap = (100u64 << attempt).min(1000);
            let millis = wait.as_millis() as u64;
            assert!(
                (cap / 2..=cap).contains(&millis),
                "wait {millis} ms for attempt {attempt}, cap {cap}"
            );
        }
    }

    #[tokio::test]
    async fn the_rate_limiter_spaces_requests() {
        let limiter = RateLimiter::per_second(20.0);
        let started = Instant::now();
        for _ in 0..5 {
            limiter.acquire().await;
        }
        // Five slots 50 ms apart: the fifth is 200 ms after the first.
        assert!(started.elapsed() >= Duration::from_millis(195));
    }

    #[test]
    fn the_traced_target_has_no_query() {
        let request = reqwest::Client::new()
            .get("https://api.example.com/v1/contacts?access_token=s3cret")
            .build()
            .expect("request");
        assert_eq!(
            redacted_target(&request),
            "https://api.example.com/v1/contacts"
        );
        assert!(is_idempotent(&request));
        let post = reqwest::Client::new()
            .post("https://api.example.com/v1/contacts")
            .build()
            .expect("request");
        assert!(!is_idempotent(&post));
    }
}
