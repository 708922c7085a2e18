//! The API's one error shape: `{"detail", "error_code", "field"}` with the
//! status codes of the API document, for every failure, including the
//! ones axum would otherwise answer in plain text (bad JSON, wrong content
//! type, oversized body, unknown route or method).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Sentence for the client.
    pub detail: String,
    /// Stable code for programs.
    pub error_code: &'static str,
    /// The request field at fault, if one is.
    pub field: Option<String>,
}

impl ApiError {
    /// 400 with the offending field.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            detail: detail.into(),
            error_code: "validation_error",
            field: Some(field.to_string()),
        }
    }

    /// Any status without a field.
    pub fn new(status: StatusCode, error_code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            error_code,
            field: None,
        }
    }

    /// 401: no token, or one that is unknown, revoked or expired.
    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Invalid or missing API token: send 'Authorization: Bearer vps_…'",
        )
    }

    /// 403: the token lacks `permission`.
    pub fn forbidden(permission: &str) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            format!("This token lacks the {permission} permission"),
        )
    }

    /// 404 for a zone or record that does not exist or is not the caller's.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 500 for a store failure; the cause is logged, not shown.
    pub fn internal(e: &StoreError) -> Self {
        log_store_error(e);
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error; the request was not applied",
        )
    }
}

/// Store failures the client caused map to 4xx; the rest are 500.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownZone(_) => ApiError::not_found("Zone"),
            StoreError::UnknownRecord(_) => ApiError::not_found("Record"),
            StoreError::ZoneExists(domain) => {
                ApiError::invalid("domain", format!("A zone for {domain} exists already"))
            }
            StoreError::Conflict { field, detail } => ApiError::invalid(field, detail),
            e => ApiError::internal(&e),
        }
    }
}

fn log_store_error(e: &StoreError) {
    tracing::error!("API request failed in the store: {e}");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "detail": self.detail,
            "error_code": self.error_code,
            "field": self.field,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
