//! The DNS Management REST API (`../shared/seed/dns-api.txt`), on axum.
//!
//! Every route answers with and without its trailing slash, every error
//! is `{"detail", "error_code", "field"}` ([`error::ApiError`]), and every
//! list is a bare JSON array, paginated on request (`?page=&page_size=`,
//! with `Link` and `X-Total-Count`). Callers authenticate with
//! `Authorization: Bearer vps_…`; another user's zone or record is a 404,
//! never a 403, so nobody learns what others host.

mod batch;
pub mod error;
pub mod input;
pub mod openapi;
pub(crate) mod records;
mod scope;
pub mod server;
pub(crate) mod transfer;
pub mod views;
pub(crate) mod zones;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde::de::DeserializeOwned;

use crate::store::{Caller, Page, Store, ZoneFields};
use crate::zone::domain::Reserved;
use error::ApiError;

/// Largest request body accepted.
const BODY_LIMIT: usize = 1 << 20;

/// Largest body read to its end before it is refused.
const DRAIN_LIMIT: usize = 8 << 20;

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Highest page number: far beyond any list, yet `page * page_size` and
/// the next page's number stay exact (below 2^53, so JSON tools keep them
/// too) instead of overflowing.
pub const MAX_PAGE: i64 = 1_000_000_000_000;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// SOA and NS of new zones.
    pub zone_defaults: ZoneDefaults,
    /// What `/metrics` shows.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// The catalog zone's name (without the final dot), which no zone of
    /// the API may take.
    pub catalog_zone: Option<String>,
}

/// The zone-level data a new zone gets.
#[derive(Debug, Clone)]
pub struct ZoneDefaults {
    /// Apex nameservers, absolute.
    pub nameservers: Vec<String>,
    /// SOA RNAME (the hostmaster's mailbox as a name), absolute.
    pub hostmaster: String,
    /// SOA refresh, retry, expire and minimum (negative-caching TTL).
    pub timers: [u32; 4],
    /// TTL of the SOA, the apex NS set and `$TTL`.
    pub ttl: u32,
    /// Reserved names (canonical) that zones may take all the same.
    pub allowed_reserved: Vec<String>,
}

impl Default for ZoneDefaults {
    fn default() -> Self {
        ZoneDefaults {
            nameservers: vec!["ns1.vps.org.".into(), "ns2.vps.org.".into()],
            hostmaster: "hostmaster.vps.org.".into(),
            timers: [7200, 3600, 1_209_600, 3600],
            ttl: 3600,
            allowed_reserved: Vec::new(),
        }
    }
}

impl ZoneDefaults {
    /// The names no new zone may take: those at or above these
    /// nameservers, the catalog zone's, and every account's reserved names,
    /// less `allowed_reserved`.
    pub fn reserved<'a>(&'a self, catalog: Option<&'a str>) -> Reserved<'a> {
        Reserved {
            nameservers: &self.nameservers,
            catalog,
            allowed: &self.allowed_reserved,
        }
    }

    /// The fields of a new zone `domain` with serial `serial`.
    pub fn fields(&self, domain: &str, serial: u32) -> ZoneFields {
        let [refresh, retry, expire, minimum] = self.timers;
        ZoneFields {
            domain: domain.to_string(),
            soa: crate::store::Soa {
                ttl: self.ttl,
                mname: self
                    .nameservers
                    .first()
                    .cloned()
                    .unwrap_or_else(|| ".".into()),
                rname: self.hostmaster.clone(),
                serial,
                refresh,
                retry,
                expire,
                minimum,
            },
            default_ttl: Some(self.ttl),
            nameservers: self.nameservers.clone(),
            ns_ttl: self.ttl,
        }
    }
}

/// Every API path (without its trailing slash) and its methods: what the
/// router serves, what the OpenAPI document describes, and what the tests
/// check the two against.
pub const ROUTES: [(&str, &[&str]); 7] = [
    ("/api/v1/dns-zones", &["GET", "POST"]),
    ("/api/v1/dns-zones/{uuid}", &["GET", "DELETE"]),
    (
        "/api/v1/dns-zones/{uuid}/records",
        &["GET", "POST", "PATCH"],
    ),
    ("/api/v1/dns-zones/{uuid}/export", &["GET"]),
    ("/api/v1/dns-zones/{uuid}/import", &["POST"]),
    ("/api/v1/dns-records", &["GET"]),
    (
        "/api/v1/dns-records/{uuid}",
        &["GET", "PUT", "PATCH", "DELETE"],
    ),
];

/// The whole route table.
pub fn router(state: AppState) -> Router {
    let routes: [(&str, MethodRouter<AppState>); 7] = [
        ("/api/v1/dns-zones", get(zones::list).post(zones::create)),
        (
            "/api/v1/dns-zones/{uuid}",
            get(zones::detail).delete(zones::delete),
        ),
        (
            "/api/v1/dns-zones/{uuid}/records",
            get(records::list_in_zone)
                .post(records::create)
                .patch(batch::apply),
        ),
        ("/api/v1/dns-zones/{uuid}/export", get(transfer::export)),
        ("/api/v1/dns-zones/{uuid}/import", post(transfer::import)),
        ("/api/v1/dns-records", get(records::list)),
        (
            "/api/v1/dns-records/{uuid}",
            get(records::detail)
                .put(records::replace)
                .patch(records::update)
                .delete(records::delete),
        ),
    ];
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route(
            "/api/v1/openapi.json",
            get(|| async { axum::Json(openapi::document()) }),
        );
    for (path, methods) in routes {
        let methods = methods.fallback(method_not_allowed);
        router = router
            .route(path, methods.clone())
            .route(&format!("{path}/"), methods);
    }
    router
        .merge(crate::web::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(read_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            log_request,
        ))
        .with_state(state)
}

/// `/metrics`, in the Prometheus text format; like `/healthz`, without
/// auth (it shows counts, never a zone's name or content).
async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.store.zone_gauges().await {
        Ok(zones) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            state.metrics.render(&zones),
        )
            .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This method is not allowed on this endpoint",
    )
}

/// Serves the API on `listener` within `limits` until `shutdown`
/// resolves; requests under way are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: server::Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, router(state), limits, shutdown).await
}

/// The authenticated caller.
pub struct Auth(pub Caller);

impl Auth {
    /// The caller, if the token grants `permission`.
    pub fn require(&self, permission: &str) -> Result<&Caller, ApiError> {
        match self.0.may(permission) {
            true => Ok(&self.0),
            false => Err(ApiError::forbidden(permission)),
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(ApiError::unauthorized)?;
        match state.store.authenticate(token).await? {
            Some(caller) => {
                // A connection with a token is the last to be closed when
                // the server runs short of connections.
                if let Some(connection) = parts.extensions.get::<server::Connection>() {
                    connection.authenticated();
                }
                Ok(Auth(caller))
            }
            None => Err(ApiError::unauthorized()),
        }
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("The body is larger than {BODY_LIMIT} bytes"),
    )
}

/// Logs each request once it is answered: method, path, status and time
/// taken (at debug level, failures of the server at error). Never the
/// headers, which carry the caller's token; the query string is left out
/// too.
async fn log_request(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    // The route's pattern (uuids left out), one form with or without the
    // trailing slash.
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .trim_end_matches('/')
        .to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    state.metrics.request(&route, method.as_str(), status);
    let micros = started.elapsed().as_micros();
    if response.status().is_server_error() {
        tracing::error!(%method, path, status, micros, "request failed");
    } else {
        tracing::debug!(%method, path, status, micros, "request");
    }
    response
}

/// Reads every request body to its end before the request is handled.
/// An answer given early (401, 404, 405, 415, 413) would otherwise leave
/// unread bytes behind, and closing such a connection resets it: the
/// client, still sending, would see the reset instead of the answer.
///
/// On a served connection, the body has [`server::Limits::body_timeout`]
/// to arrive, and once it is in, the connection counts as busy until the
/// answer is sent.
async fn read_body(request: Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = request.into_parts();
    let connection = parts.extensions.get::<server::Connection>().cloned();
    let reading = axum::body::to_bytes(body, DRAIN_LIMIT);
    let read = match &connection {
        Some(c) => match tokio::time::timeout(c.body_timeout(), reading).await {
            Ok(read) => read,
            Err(_) => return body_timeout(),
        },
        None => reading.await,
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(_) => return too_large().into_response(),
    };
    let request = Request::from_parts(parts, bytes.into());
    match connection {
        Some(c) => {
            let mark = c.handling();
            server::Marked::response(next.run(request).await, mark)
        }
        None => next.run(request).await,
    }
}

/// The answer to a body that did not arrive in time; the connection is
/// closed after it, since the rest of the body may still come.
fn body_timeout() -> Response {
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "The request body did not arrive in time",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A JSON body: `application/json`, at most [`BODY_LIMIT`] bytes, well
/// formed, and without unknown fields; each failure as the API's error.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with 'Content-Type: application/json'",
            ));
        }
        // Already read whole by `read_body`.
        let bytes = axum::body::to_bytes(request.into_body(), DRAIN_LIMIT)
            .await
            .map_err(|_| too_large())?;
        if bytes.len() > BODY_LIMIT {
            return Err(too_large());
        }
        let mut json = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
            let path = e.path().to_string();
            let mut error = json_error(e.into_inner());
            if error.field.is_none() && path != "." && error.error_code == "validation_error" {
                error.field = Some(path);
            }
            error
        })?;
        // One JSON value and nothing after it but whitespace: trailing
        // bytes or a second object are a malformed body, not ignored.
        json.end().map_err(json_error)?;
        Ok(JsonBody(value))
    }
}

/// An optional integer field of a JSON body. JSON has one kind of number,
/// and JSON Schema's `integer` (what the OpenAPI document says) includes
/// `3600.0` and `3.6e3`: those are taken as the integers they are. A
/// fraction, or a number beyond i64, is refused.
pub(crate) fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    // i64's range as f64 is [-2^63, 2^63); a whole f64 in it converts exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) => Ok(Some(f as i64)),
        _ => Err(serde::de::Error::invalid_value(
            serde::de::Unexpected::Other(&format!("the number {number}")),
            &"a whole number",
        )),
    }
}

/// A serde error as the API's error, naming the field when serde does.
fn json_error(e: serde_json::Error) -> ApiError {
    let message = e.to_string();
    let quoted = |after: &str| {
        let start = message.find(after)? + after.len();
        let rest = &message[start..];
        Some(rest[..rest.find('`')?].to_string())
    };
    if let Some(field) = quoted("unknown field `") {
        return ApiError::invalid(&field, format!("Unknown field '{field}'"));
    }
    if let Some(field) = quoted("missing field `") {
        return ApiError::invalid(&field, format!("{field} is required"));
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        if e.is_data() {
            "validation_error"
        } else {
            "malformed_json"
        },
        format!("Invalid JSON body: {message}"),
    )
}

/// `?page=&page_size=`: none asked for means the whole list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    page: Option<String>,
    page_size: Option<String>,
}

impl PageQuery {
    fn page(&self) -> Result<Option<(i64, i64)>, ApiError> {
        if self.page.is_none() && self.page_size.is_none() {
            return Ok(None);
        }
        let number = |field: &str, v: &Option<String>, default: i64| -> Result<i64, ApiError> {
            match v {
                None => Ok(default),
                Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ApiError::invalid(field, format!("{field} must be a positive integer"))
                }),
            }
        };
        let page = number("page", &self.page, 1)?;
        if page > MAX_PAGE {
            return Err(ApiError::invalid(
                "page",
                format!("page can be at most {MAX_PAGE}"),
            ));
        }
        let size = number("page_size", &self.page_size, 100)?;
        if size > MAX_PAGE_SIZE {
            return Err(ApiError::invalid(
                "page_size",
                format!("page_size can be at most {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Some((page, size)))
    }

    /// The store's page.
    pub fn store_page(&self) -> Result<Option<Page>, ApiError> {
        Ok(self.page()?.map(|(page, size)| Page {
            offset: (page - 1).saturating_mul(size),
            limit: size,
        }))
    }
}

/// A list answer: the array, `X-Total-Count`, and `Link` to the next and
/// previous pages when paginated. `size_hint` is about the size of the
/// JSON, so that a long list is written into one buffer without regrowing
/// it.
pub fn list_response(
    uri: &Uri,
    query: &PageQuery,
    total: i64,
    size_hint: usize,
    items: impl serde::Serialize,
) -> Result<Response, ApiError> {
    let headers = list_headers(uri, query, total)?;
    json_response(StatusCode::OK, headers, &items, size_hint)
}

/// The headers of a list answer: `X-Total-Count`, and `Link` to the next
/// and previous pages when paginated.
pub fn list_headers(uri: &Uri, query: &PageQuery, total: i64) -> Result<HeaderMap, ApiError> {
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(total));
    if let Some((page, size)) = query.page()? {
        let link = |page: i64, rel: &str| {
            let mut pairs: Vec<String> = uri
                .query()
                .unwrap_or_default()
                .split('&')
                .filter(|p| {
                    !p.is_empty() && !p.starts_with("page=") && !p.starts_with("page_size=")
                })
                .map(str::to_string)
                .collect();
            pairs.push(format!("page={page}"));
            pairs.push(format!("page_size={size}"));
            format!("<{}?{}>; rel=\"{rel}\"", uri.path(), pairs.join("&"))
        };
        let mut links = Vec::new();
        if page * size < total {
            links.push(link(page + 1, "next"));
        }
        if page > 1 {
            links.push(link(page - 1, "prev"));
        }
        if !links.is_empty()
            && let Ok(value) = HeaderValue::from_str(&links.join(", "))
        {
            headers.insert(header::LINK, value);
        }
    }
    Ok(headers)
}

/// A JSON answer, written into a buffer of about `size_hint` bytes (a
/// long list is made in one pass and never copied again).
pub fn json_response(
    status: StatusCode,
    headers: HeaderMap,
    value: &impl serde::Serialize,
    size_hint: usize,
) -> Result<Response, ApiError> {
    let mut body = Vec::with_capacity(size_hint.saturating_add(size_hint / 4).max(256));
    serde_json::to_writer(&mut body, value).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("the answer could not be written: {e}"),
        )
    })?;
    Ok(json_body_response(status, headers, body.into()))
}

/// An answer with a body that is JSON.
pub fn json_body_response(status: StatusCode, mut headers: HeaderMap, body: Body) -> Response {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (status, headers, body).into_response()
}
