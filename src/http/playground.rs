//! The GraphiQL playground. Every file it loads is served from the binary (vendored by
//! `assets/playground/vendor.sh` at pinned versions), so it works without internet access
//! and tells no third party who opened it.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The files under `/playground/`: name, media type, bytes.
const ASSETS: [(&str, &str, &str); 6] = [
    (
        "graphiql.min.js",
        JAVASCRIPT,
        include_str!("../../assets/playground/vendor/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        CSS,
        include_str!("../../assets/playground/vendor/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        JAVASCRIPT,
        include_str!("../../assets/playground/vendor/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        JAVASCRIPT,
        include_str!("../../assets/playground/vendor/react-dom.production.min.js"),
    ),
    (
        "playground.js",
        JAVASCRIPT,
        include_str!("../../assets/playground/playground.js"),
    ),
    (
        "playground.css",
        CSS,
        include_str!("../../assets/playground/playground.css"),
    ),
];

/// The playground's page.
pub fn page() -> Html<&'static str> {
    Html(include_str!("../../assets/playground/index.html"))
}

/// `GET /playground/{file}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    let found = ASSETS.iter().find(|(file, _, _)| *file == name);
    match found {
        // The files change only with the binary; an hour of caching spares reloads.
        Some((_, media, body)) => (
            [
                (CONTENT_TYPE, *media),
                (CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
