//! The HTTP side on axum (hyper 1 underneath): chosen over bare hyper + hyper-util because
//! routing, graceful shutdown and header handling come ready and well-kept (tokio-rs), at the
//! cost of a few small crates (tower). Four read-only routes, no request body read; plain
//! HTTP or HTTPS ([`super::tls`]).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::auth::{SharedAccess, Verdict};
use super::scheduler::SharedBoard;
use super::tls::{SharedTls, TlsListener};
use super::{api, metrics, page};

/// bcrypt checks running at once: each takes a core for tens of ms, so a flood of wrong
/// passwords waits here instead of taking every blocking thread.
const BCRYPT_AT_ONCE: usize = 2;

/// The routes over `board`; `/metrics`, `/` and the JSON API ask what `access` holds at the
/// time of each request (it can change on SIGHUP). `/healthz` is always open.
pub fn router(board: SharedBoard, access: SharedAccess) -> Router {
    let limit = Arc::new(Semaphore::new(BCRYPT_AT_ONCE));
    Router::new()
        .route("/metrics", get(metrics_route))
        .route("/", get(page_route))
        .route(api::PATH, get(api_route))
        .with_state(board)
        .layer(middleware::from_fn_with_state(
            (access, limit),
            require_auth,
        ))
        .route("/healthz", get(|| async { "ok" }))
}

async fn require_auth(
    State((access, limit)): State<(SharedAccess, Arc<Semaphore>)>,
    req: Request,
    next: Next,
) -> Response {
    let access = access.get();
    let given = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    let allowed = match access.check(given) {
        Verdict::Allowed => true,
        Verdict::Denied => false,
        Verdict::NeedsBcrypt => {
            let header = given.map(<[u8]>::to_vec);
            let access = Arc::clone(&access);
            match limit.acquire_owned().await {
                Ok(permit) => tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    access
                        .users
                        .as_ref()
                        .is_some_and(|u| u.accepts(header.as_deref()))
                })
                .await
                .unwrap_or(false),
                Err(_) => false,
            }
        }
    };
    if allowed {
        return next.run(req).await;
    }
    let mut resp = (StatusCode::UNAUTHORIZED, "credentials are required\n").into_response();
    for c in access.challenges() {
        resp.headers_mut()
            .append(WWW_AUTHENTICATE, HeaderValue::from_static(c));
    }
    resp
}

async fn metrics_route(State(board): State<SharedBoard>) -> impl IntoResponse {
    // Encode under the lock (a few hundred µs for thousands of checks), so a scrape sees
    // one consistent board.
    let text = metrics::encode(&board.lock());
    ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], text)
}

async fn page_route(State(board): State<SharedBoard>) -> Html<String> {
    Html(page::render(&board.lock()))
}

async fn api_route(State(board): State<SharedBoard>) -> Json<api::ChecksDoc> {
    Json(api::build(&board.lock(), std::time::SystemTime::now()))
}

/// Serve until `stop` is cancelled, over TLS when `tls` is given; in-flight requests are
/// finished, then the listener closes.
pub async fn serve(
    listener: TcpListener,
    tls: Option<SharedTls>,
    board: SharedBoard,
    access: SharedAccess,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = router(board, access);
    match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
        Some(tls) => {
            axum::serve(TlsListener::new(listener, tls)?, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
    }
}
