//! The HTTP side on axum (hyper 1 underneath): chosen over bare hyper + hyper-util because
//! routing, graceful shutdown and header handling come ready and well-kept (tokio-rs), at the
//! cost of a few small crates (tower). Three read-only routes, no request body read.

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::scheduler::SharedBoard;
use super::{metrics, page};

/// The routes over `board`.
pub fn router(board: SharedBoard) -> Router {
    Router::new()
        .route("/metrics", get(metrics_route))
        .route("/healthz", get(|| async { "ok" }))
        .route("/", get(page_route))
        .with_state(board)
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
    stop: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(board))
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
}
