//! Response headers every answer carries: security headers, cache policy, CORS.

use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// The playground on `GET /graphql` loads everything from this origin: no inline script or
/// style, no third party. GraphiQL's stylesheet carries its fonts and icons as data URLs.
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'self'; \
     script-src 'self'; \
     style-src 'self'; \
     font-src 'self' data:; \
     img-src 'self' data:; \
     connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (X_FRAME_OPTIONS, "DENY"),
    (REFERRER_POLICY, "no-referrer"),
    (CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_VALUE),
];

/// Adds the security headers to every response of `router`, errors and 404s included.
pub fn secure<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    SECURITY_HEADERS
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::overriding(
                name,
                HeaderValue::from_static(value),
            ))
        })
}

/// When the server is reached over https (`public_url`), browsers are told to use nothing
/// else for a year; over plain http the header would be ignored, so it is not sent.
pub fn hsts<S>(router: Router<S>, public_url: Option<&str>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    if !public_url.is_some_and(|url| url.to_ascii_lowercase().starts_with("https://")) {
        return router;
    }
    router.layer(SetResponseHeaderLayer::overriding(
        STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    ))
}

/// API answers hold client data: no cache, shared or private, may keep them.
pub fn no_store() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

/// Lets browsers on `origins` call the API; with none, no CORS headers are sent at all, so
/// browsers keep to the same-origin policy.
pub fn cors<S>(router: Router<S>, origins: &[String]) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| match HeaderValue::from_str(origin) {
            Ok(value) => Some(value),
            Err(_) => {
                // Settings::validate refuses these already; never allow a mangled origin.
                tracing::warn!(%origin, "ignoring an invalid CORS origin");
                None
            }
        })
        .collect();
    if allowed.is_empty() {
        return router;
    }
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([CONTENT_TYPE, AUTHORIZATION]),
    )
}
