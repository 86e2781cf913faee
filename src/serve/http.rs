//! The HTTP side on axum (hyper 1 underneath): chosen over bare hyper + hyper-util because
//! routing, graceful shutdown and header handling come ready and well-kept (tokio-rs), at the
//! cost of a few small crates (tower). Three read-only routes, no request body read.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::auth::Token;
use super::scheduler::SharedBoard;
use super::{metrics, page};

/// The routes over `board`; with a token, `/metrics` and `/` need it.
pub fn router(board: SharedBoard, token: Option<Token>) -> Router {
    let guarded = Router::new()
        .route("/metrics", get(metrics_route))
        .route("/", get(page_route))
        .with_state(board);
    let guarded = match token {
        Some(t) => guarded.layer(middleware::from_fn_with_state(t, require_token)),
        None => guarded,
    };
    guarded.route("/healthz", get(|| async { "ok" }))
}

async fn require_token(State(token): State<Token>, req: Request, next: Next) -> Response {
    let given = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    if token.accepts(given) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required\n",
        )
            .into_response()
    }
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

/// Serve until `stop` is cancelled; in-flight requests are finished, then the listener closes.
pub async fn serve(
    listener: TcpListener,
    board: SharedBoard,
    token: Option<Token>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(board, token))
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}
