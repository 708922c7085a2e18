//! What a token reaches: its user's zones, or only those it is limited
//! to. A zone outside them is answered exactly as another user's zone
//! (404 `not_found`), so a limited token learns nothing about the rest.
//! Lists are narrowed in the store's queries (`zones` of
//! [`RecordFilter`](crate::store::RecordFilter) and `owned_zones`); these
//! helpers are for the handlers that look up one zone.

use axum::http::StatusCode;

use super::AppState;
use super::error::ApiError;
use crate::store::{Caller, StoreError, ZoneInfo};

/// The zone with this uuid if the caller's token reaches it.
pub async fn zone(state: &AppState, caller: &Caller, uuid: &str) -> Result<ZoneInfo, ApiError> {
    let zone = state.store.owned_zone(caller.user_id, uuid).await?;
    match caller.covers(&zone.fields.domain) {
        true => Ok(zone),
        false => Err(StoreError::UnknownZone(uuid.to_string()).into()),
    }
}

/// Before a write into zone `uuid` (the write itself finds the zone by
/// owner only): refuses a zone outside the token's as not found.
pub async fn check_zone(state: &AppState, caller: &Caller, uuid: &str) -> Result<(), ApiError> {
    match caller.zones.is_empty() {
        true => Ok(()),
        false => zone(state, caller, uuid).await.map(drop),
    }
}

/// A new zone `domain` is refused to a token limited to other zones: it
/// could never reach the zone it made.
pub fn check_new_zone(caller: &Caller, domain: &str) -> Result<(), ApiError> {
    match caller.covers(domain) {
        true => Ok(()),
        false => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "This token is limited to the zones {}; it cannot create {domain}",
                caller.zones.join(", ")
            ),
        )),
    }
}
