//! SOA serial engine: picks the serial for a new version of a zone.
//!
//! The module is pure: it does no I/O and never reads the clock; the caller
//! passes the current time in. Everything here is 32-bit serial number
//! arithmetic as RFC 1982 defines it (`SERIAL_BITS` = 32): addition of at
//! most 2^31 − 1 (§3.1) and a comparison that is undefined when two serials
//! are exactly 2^31 apart (§3.2). There is no smallest or largest serial, so
//! 4294967295 + 1 = 0 and 0 is *greater* than 4294967295.
//!
//! # Inputs
//!
//! [`next_serial`] takes the zone's `current` serial (as written in the
//! zone being built) and a list of *floors*: every other serial the new one
//! must beat, such as the serial recorded for the last deploy, the serial of
//! the file in place and the serial `named` is serving. Absent floors are
//! simply left out of the list. The new serial is strictly greater (§3.2)
//! than `current` and every floor, with one exception: [`Policy::Keep`]
//! returns `current` itself when that is already greater than every floor.
//!
//! # The ceiling: the largest single step
//!
//! Being greater than several serials at once constrains how far one may go:
//! with `top` the greatest of them and `low` the least, a result `x` must
//! satisfy `x - low <= 2^31 - 1`, so the largest allowed step from `top` is
//! `2^31 - 1 - (top - low)` (the *room*). When the serials do not lie within
//! such a window (two of them exactly 2^31 apart, three spread around the
//! circle, or a spread of 2^31 − 1 leaving no room at all), no serial is
//! greater than all of them and [`next_serial`] returns
//! [`SerialError::NoSerialAbove`] rather than guess.
//!
//! # Policies
//!
//! - `increment`: `top + 1`.
//! - `date`: serials of the form `YYYYMMDDnn` (UTC). The target is
//!   `base = YYYYMMDD * 100` for today. When `base` is ahead of `top` (RFC
//!   1982) the result is `base` (or as far towards it as the room allows);
//!   otherwise (`top` is within today, such as 2024010105, or later in the
//!   date space) the result is `top + 1`. After `nn` = 99 this simply
//!   carries into the next day (2024010199 → 2024010200), which is
//!   harmless: the next day starts from there. Dates
//!   are representable up to the year 4294 (4294123199 < 2^32); later dates
//!   are an error, so no serial ever needs 11 digits.
//! - `unixtime`: the current time in seconds when that is ahead of `top`
//!   (RFC 1982), otherwise `top + 1`. Past 2106-02-07 the time no longer fits
//!   32 bits and is taken modulo 2^32, which RFC 1982 arithmetic handles like
//!   any other wrap (BIND's 32-bit `isc_stdtime_t` behaves the same).
//! - `keep`: `current` unchanged if it is greater than every floor (or there
//!   are none); otherwise `top + 1`, exactly as `increment` would, so an
//!   edited zone whose serial was left alone still reaches the secondaries.
//!
//! # Targets too far ahead: at most two deploys
//!
//! A time-based target can be *numerically* ahead of `top` by 2^31 or more
//! (for instance a `date` serial in the year 2200, about 2.2 × 10^9, when
//! the zone's serial is 5). RFC 1982 then calls the target *smaller*, and
//! naively answering `top + 1` would never reach it. Instead the engine
//! steps as far as allowed, `top + room` (`top + 2^31 − 1` when nothing else
//! limits it), the largest increment RFC 1982 §3.1 permits. On the next
//! deploy the target is less than 2^31 ahead and is reached directly. For
//! `date` two deploys always suffice when no older floor limits the room,
//! since every date serial is below 2^31 − 1 + 2^31. Between the two deploys
//! the operator should let every secondary transfer the intermediate serial,
//! so that each of them sees two increases (RFC 2136 §3.6: a serial change
//! must be in a positive direction) rather than one undefined jump.
//!
//! Conversely, a target numerically *below* `top` but ahead of it in RFC 1982
//! terms is used as is: from 4200000000 the `date` policy goes straight to
//! today's 2024010100 by wrapping, which is a legal forward step (this is
//! how BIND's `serial-update-method` compares as well).
//!
//! # Zero
//!
//! Incrementing 4294967295 gives 0. RFC 1982 §7 notes that some old
//! implementations treat a zero SOA serial specially; BIND skips it, this
//! engine does not, because 0 is a valid serial and skipping it would make
//! the policies' results depend on an exception the RFC does not make.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// `SERIAL_BITS` for DNS SOA serials (RFC 1982 §2, RFC 1035 §3.3.13).
pub const SERIAL_BITS: u32 = 32;

/// Largest amount that may be added to a serial at once: 2^31 − 1
/// (RFC 1982 §3.1).
pub const MAX_SERIAL_INCREMENT: u32 = (1 << (SERIAL_BITS - 1)) - 1;

/// 2^31: two serials this far apart are not comparable (RFC 1982 §3.2).
const HALF: u32 = 1 << (SERIAL_BITS - 1);

/// Last year whose `YYYYMMDDnn` serials fit in 32 bits (4294123199).
const LAST_DATE_YEAR: i64 = 4294;

/// Why a serial could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    /// An addition beyond what RFC 1982 §3.1 allows was requested.
    #[error("cannot add {0} to a serial: RFC 1982 allows at most 2147483647")]
    IncrementTooLarge(u32),
    /// The serials to beat are not within one half of the serial space, so
    /// no serial is greater than all of them (RFC 1982 §3.2).
    #[error(
        "no serial is greater than all of {serials:?} in RFC 1982 arithmetic: \
         they are spread over 2147483647 or more"
    )]
    NoSerialAbove {
        /// The current serial followed by the floors, as passed in.
        serials: Vec<u32>,
    },
    /// The clock is before 1970, which no time-based policy can use.
    #[error("clock reads {0} seconds before the unix epoch")]
    ClockBeforeEpoch(i64),
    /// The date has no `YYYYMMDDnn` serial that fits in 32 bits.
    #[error("year {0} is past 4294, the last year with a 32-bit date serial")]
    DateOutOfRange(i64),
    /// A policy name that is not one of the four known ones.
    #[error("unknown serial policy `{0}`: expected one of date, increment, unixtime, keep")]
    UnknownPolicy(String),
}

/// How the serial of a new version of a zone is chosen; whatever the policy,
/// the result is greater than every floor in RFC 1982 §3.2 terms (see
/// [`next_serial`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// `YYYYMMDDnn` in UTC: today's `nn` = 00 if that is ahead, else +1.
    Date,
    /// The previous serial + 1 (RFC 1982 §3.1).
    Increment,
    /// Seconds since the epoch (modulo 2^32) if ahead, else +1.
    Unixtime,
    /// The zone's own serial, bumped by 1 only if it is not above the floors.
    Keep,
}

impl Policy {
    /// Every policy, in the order they are documented.
    pub const ALL: [Policy; 4] = [
        Policy::Date,
        Policy::Increment,
        Policy::Unixtime,
        Policy::Keep,
    ];

    /// The policy's name, as accepted by [`FromStr`] and serde.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Date => "date",
            Policy::Increment => "increment",
            Policy::Unixtime => "unixtime",
            Policy::Keep => "keep",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Policy {
    type Err = SerialError;

    /// Parses the lowercase names `date`, `increment`, `unixtime`, `keep`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| SerialError::UnknownPolicy(s.to_owned()))
    }
}

/// Compares two serials (RFC 1982 §3.2): `Some(Greater)` when `a` follows
/// `b` by 1 to 2^31 − 1, `Some(Less)` when it precedes it by as much,
/// `Some(Equal)` when they are equal and `None` when they are exactly 2^31
/// apart, where RFC 1982 leaves the comparison undefined.
pub fn serial_cmp(a: u32, b: u32) -> Option<Ordering> {
    match a.wrapping_sub(b) {
        0 => Some(Ordering::Equal),
        d if d < HALF => Some(Ordering::Greater),
        HALF => None,
        _ => Some(Ordering::Less),
    }
}

/// Whether `a` is greater than `b` (RFC 1982 §3.2); false when equal or when
/// the comparison is undefined.
pub fn serial_gt(a: u32, b: u32) -> bool {
    serial_cmp(a, b) == Some(Ordering::Greater)
}

/// Adds `n` to serial `s` modulo 2^32 (RFC 1982 §3.1); `n` must be at most
/// [`MAX_SERIAL_INCREMENT`] (2^31 − 1).
pub fn serial_add(s: u32, n: u32) -> Result<u32, SerialError> {
    if n > MAX_SERIAL_INCREMENT {
        return Err(SerialError::IncrementTooLarge(n));
    }
    Ok(s.wrapping_add(n))
}

/// Computes the serial for a new version of a zone.
///
/// `current` is the zone's serial as it stands (e.g. from the parsed file);
/// `floors` are the other serials the result must be greater than (stored,
/// deployed, served; leave out the ones that are unknown); `now_unix` is the
/// current time in seconds since the epoch, used by [`Policy::Date`] (UTC)
/// and [`Policy::Unixtime`] only.
///
/// The result is greater (RFC 1982 §3.2) than `current` and every floor and
/// at most 2^31 − 1 past the greatest of them (§3.1); the one exception is
/// [`Policy::Keep`], which returns `current` itself when it is already greater
/// than every floor. A policy target that is behind in RFC 1982 terms yields
/// greatest + 1; one numerically ahead by 2^31 or more yields the largest
/// allowed step towards it (see the module documentation).
///
/// Errors: [`SerialError::NoSerialAbove`] when no serial is greater than all
/// of `current` and `floors`; [`SerialError::ClockBeforeEpoch`] for a
/// negative `now_unix` and [`SerialError::DateOutOfRange`] after the year
/// 4294, for the time-based policies.
pub fn next_serial(
    policy: Policy,
    current: u32,
    floors: &[u32],
    now_unix: i64,
) -> Result<u32, SerialError> {
    if policy == Policy::Keep && floors.iter().all(|&f| serial_gt(current, f)) {
        return Ok(current);
    }
    let window = Window::around(current, floors)?;
    let next = match policy {
        Policy::Increment | Policy::Keep => window.top.wrapping_add(1),
        Policy::Date => window.toward(date_serial(now_unix)?),
        Policy::Unixtime => window.toward(unix_serial(now_unix)?),
    };
    Ok(next)
}

/// Where a new serial may go: above `top`, by 1 to `room`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    /// The greatest of the serials to beat (RFC 1982 §3.2).
    top: u32,
    /// Largest step from `top` that stays greater than the least of them;
    /// at least 1.
    room: u32,
}

impl Window {
    /// The window above `current` and `floors`, if they have one.
    fn around(current: u32, floors: &[u32]) -> Result<Window, SerialError> {
        let serials = || std::iter::once(current).chain(floors.iter().copied());
        // `top` is the serial no other one is greater than; if two serials
        // qualified they would each be at most 2^31 - 1 ahead of the other,
        // which only equal serials are.
        let top = serials().find(|&c| serials().all(|s| c.wrapping_sub(s) < HALF));
        let window = top.and_then(|top| {
            let spread = serials().map(|s| top.wrapping_sub(s)).max()?;
            let room = MAX_SERIAL_INCREMENT - spread;
            (room > 0).then_some(Window { top, room })
        });
        window.ok_or_else(|| SerialError::NoSerialAbove {
            serials: serials().collect(),
        })
    }

    /// The serial to use for a policy that aims at `target`.
    fn toward(self, target: u32) -> u32 {
        let ahead = target.wrapping_sub(self.top);
        if ahead != 0 && ahead < HALF {
            // Ahead in RFC 1982 terms (possibly by wrapping): go there, or
            // as far as the room allows.
            self.top.wrapping_add(ahead.min(self.room))
        } else if target > self.top {
            // Numerically ahead by 2^31 or more, so "behind" for RFC 1982:
            // take the largest step towards it; a later deploy reaches it.
            self.top.wrapping_add(self.room)
        } else {
            self.top.wrapping_add(1)
        }
    }
}

/// Today's first date serial, `YYYYMMDD00`, in UTC.
fn date_serial(now_unix: i64) -> Result<u32, SerialError> {
    if now_unix < 0 {
        return Err(SerialError::ClockBeforeEpoch(now_unix));
    }
    let (year, month, day) = civil_from_days(now_unix.div_euclid(86_400));
    if year > LAST_DATE_YEAR {
        return Err(SerialError::DateOutOfRange(year));
    }
    let serial = ((year * 100 + i64::from(month)) * 100 + i64::from(day)) * 100;
    u32::try_from(serial).map_err(|_| SerialError::DateOutOfRange(year))
}

/// The unix time as a serial: seconds since the epoch modulo 2^32.
fn unix_serial(now_unix: i64) -> Result<u32, SerialError> {
    if now_unix < 0 {
        return Err(SerialError::ClockBeforeEpoch(now_unix));
    }
    // Truncation is the point: RFC 1982 serials live modulo 2^32.
    Ok(now_unix as u32)
}

/// Proleptic Gregorian (year, month, day) of the day `days` after
/// 1970-01-01; Howard Hinnant's `civil_from_days` algorithm.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u32 = u32::MAX;

    /// Unix time of 00:00 UTC on the given date (Hinnant's
    /// `days_from_civil`, the inverse of the function under test).
    fn unix(year: i64, month: u32, day: u32) -> i64 {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) * 86_400
    }

    fn next(policy: Policy, current: u32, floors: &[u32], now: i64) -> u32 {
        next_serial(policy, current, floors, now).unwrap()
    }

    #[test]
    fn cmp_follows_rfc1982() {
        assert_eq!(serial_cmp(5, 5), Some(Ordering::Equal));
        assert_eq!(serial_cmp(6, 5), Some(Ordering::Greater));
        assert_eq!(serial_cmp(5, 6), Some(Ordering::Less));
        assert_eq!(serial_cmp(0, MAX), Some(Ordering::Greater));
        assert_eq!(serial_cmp(MAX, 0), Some(Ordering::Less));
        assert_eq!(serial_cmp(HALF - 1, 0), Some(Ordering::Greater));
        assert_eq!(serial_cmp(HALF + 1, 0), Some(Ordering::Less));
        assert_eq!(serial_cmp(HALF, 0), None);
        assert_eq!(serial_cmp(0, HALF), None);
        assert_eq!(serial_cmp(MAX, HALF - 1), None);
        assert!(serial_gt(1, 0));
        assert!(serial_gt(0, MAX));
        assert!(!serial_gt(5, 5));
        assert!(!serial_gt(HALF, 0));
        assert!(!serial_gt(0, HALF));
    }

    #[test]
    fn add_is_limited_to_half_minus_one() {
        assert_eq!(serial_add(1, 2), Ok(3));
        assert_eq!(serial_add(MAX, 1), Ok(0));
        assert_eq!(
            serial_add(10, MAX_SERIAL_INCREMENT),
            Ok(10 + MAX_SERIAL_INCREMENT)
        );
        assert_eq!(
            serial_add(MAX, MAX_SERIAL_INCREMENT),
            Ok(MAX_SERIAL_INCREMENT - 1)
        );
        assert_eq!(
            serial_add(0, HALF),
            Err(SerialError::IncrementTooLarge(HALF))
        );
        assert_eq!(
            serial_add(0, HALF).unwrap_err().to_string(),
            "cannot add 2147483648 to a serial: RFC 1982 allows at most 2147483647"
        );
        assert_eq!(MAX_SERIAL_INCREMENT, 2_147_483_647);
    }

    #[test]
    fn civil_dates_and_leap_years() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        // 2024 is a leap year, 2100 is not, 2000 is.
        assert_eq!(civil_from_days(1_709_164_800 / 86_400), (2024, 2, 29));
        assert_eq!(civil_from_days(1_709_251_200 / 86_400), (2024, 3, 1));
        assert_eq!(civil_from_days(4_107_456_000 / 86_400), (2100, 2, 28));
        assert_eq!(civil_from_days(4_107_542_400 / 86_400), (2100, 3, 1));
        assert_eq!(civil_from_days(951_782_400 / 86_400), (2000, 2, 29));
        assert_eq!(civil_from_days(73_369_843_200 / 86_400), (4294, 12, 31));
        assert_eq!(unix(2100, 3, 1), 4_107_542_400);
        // Every day over a few centuries round-trips.
        for days in (0..150_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(unix(y, m, d), days * 86_400, "{y}-{m}-{d}");
        }
        // Last second of a day is still that day.
        assert_eq!(date_serial(1_709_251_199), Ok(2024022900));
        assert_eq!(date_serial(1_709_251_200), Ok(2024030100));
        assert_eq!(date_serial(4_107_542_400), Ok(2100030100));
        assert_eq!(date_serial(4_107_542_399), Ok(2100022800));
    }

    #[test]
    fn date_jumps_to_today() {
        let now = unix(2024, 1, 2) + 3_600;
        assert_eq!(next(Policy::Date, 2023123105, &[], now), 2024010200);
        assert_eq!(next(Policy::Date, 2024010199, &[], now), 2024010200);
        // A small or unixtime-style serial is below the date space.
        assert_eq!(next(Policy::Date, 1, &[], now), 2024010200);
        assert_eq!(next(Policy::Date, 1_700_000_000, &[], now), 2024010200);
    }

    #[test]
    fn date_rolls_over_within_a_day() {
        let now = unix(2024, 1, 1) + 86_399;
        let mut serial = 2023123142;
        serial = next(Policy::Date, serial, &[], now);
        assert_eq!(serial, 2024010100);
        for nn in 1..=99 {
            serial = next(Policy::Date, serial, &[], now);
            assert_eq!(serial, 2024010100 + nn);
        }
        // nn = 99 carries into "tomorrow's 00", then tomorrow goes on from there.
        serial = next(Policy::Date, serial, &[], now);
        assert_eq!(serial, 2024010200);
        serial = next(Policy::Date, serial, &[], now);
        assert_eq!(serial, 2024010201);
        serial = next(Policy::Date, serial, &[], unix(2024, 1, 2));
        assert_eq!(serial, 2024010202);
        assert_eq!(
            next(Policy::Date, serial, &[], unix(2024, 1, 3)),
            2024010300
        );
    }

    #[test]
    fn date_serial_ahead_of_today_stays_monotonic() {
        let now = unix(2024, 6, 1);
        // A typo'd future date: keep counting up from it.
        assert_eq!(next(Policy::Date, 2999123199, &[], now), 2999123199 + 1);
        assert_eq!(next(Policy::Date, 2024060200, &[], now), 2024060201);
        // Floors behind today do not matter, floors ahead do.
        assert_eq!(
            next(Policy::Date, 2024050100, &[2024053107, 2030010100], now),
            2030010101
        );
        // The largest date serial still fits in 10 digits and goes on +1,
        // wrapping to 0 only at 2^32 as RFC 1982 says.
        let last = unix(4294, 12, 31);
        assert_eq!(next(Policy::Date, 1, &[], last), 1 + MAX_SERIAL_INCREMENT);
        assert_eq!(next(Policy::Date, 4294123199, &[], last), 4294123199 + 1);
        assert_eq!(next(Policy::Date, MAX, &[], last), 0);
    }

    #[test]
    fn date_in_far_future_takes_at_most_two_deploys() {
        // Year 2200: 2200010100 is more than 2^31 - 1 above 5.
        let now = unix(2200, 1, 1);
        let first = next(Policy::Date, 5, &[], now);
        assert_eq!(first, 5 + MAX_SERIAL_INCREMENT);
        assert!(serial_gt(first, 5));
        let second = next(Policy::Date, first, &[first], now);
        assert_eq!(second, 2200010100);
        assert!(serial_gt(second, first));

        // Worst case: serial 0 and the last representable day.
        let now = unix(4294, 12, 31);
        let first = next(Policy::Date, 0, &[0], now);
        assert_eq!(first, MAX_SERIAL_INCREMENT);
        assert_eq!(next(Policy::Date, first, &[], now), 4294123100);

        // An older floor limits the first step; it is still above both.
        let now = unix(2200, 1, 1);
        let first = next(Policy::Date, 1_000, &[10], now);
        assert_eq!(first, 1_000 + MAX_SERIAL_INCREMENT - 990);
        assert!(serial_gt(first, 10) && serial_gt(first, 1_000));
        assert_eq!(next(Policy::Date, first, &[], now), 2200010100);
    }

    #[test]
    fn date_behind_floor_gives_floor_plus_one() {
        let now = unix(2024, 1, 1);
        // 2024010100 is behind 3000000000 in RFC 1982 terms.
        assert_eq!(
            next(Policy::Date, 2_999_999_000, &[3_000_000_000], now),
            3_000_000_001
        );
        // 5 is above 3000000000 (by wrapping), but the step from 5 is limited
        // so that the result stays above 3000000000 too.
        let next_5 = next(Policy::Date, 5, &[3_000_000_000], now);
        assert_eq!(next_5, 3_000_000_000u32.wrapping_add(MAX_SERIAL_INCREMENT));
        assert!(serial_gt(next_5, 5) && serial_gt(next_5, 3_000_000_000));
        assert_eq!(next(Policy::Date, 3_000_000_000, &[], now), 3_000_000_001);
        // Exactly 2^31 away is undefined, hence not ahead: +1.
        let base = 2024010100;
        assert_eq!(next(Policy::Date, base + HALF, &[], now), base + HALF + 1);
        assert_eq!(next(Policy::Date, base + HALF + 1, &[], now), base);
    }

    #[test]
    fn date_wraps_forward_to_today_when_rfc1982_allows() {
        let now = unix(2024, 1, 1);
        // 2024010100 - 4200000000 mod 2^32 = 2118977396 < 2^31: ahead.
        let next = next(Policy::Date, 4_200_000_000, &[], now);
        assert_eq!(next, 2024010100);
        assert!(serial_gt(next, 4_200_000_000));
    }

    #[test]
    fn date_rejects_unrepresentable_clocks() {
        assert_eq!(
            next_serial(Policy::Date, 1, &[], unix(4295, 1, 1)),
            Err(SerialError::DateOutOfRange(4295))
        );
        assert_eq!(
            next_serial(Policy::Date, 1, &[], -1),
            Err(SerialError::ClockBeforeEpoch(-1))
        );
        assert_eq!(
            next_serial(Policy::Date, 1, &[], i64::MAX)
                .unwrap_err()
                .to_string(),
            "year 292277026596 is past 4294, the last year with a 32-bit date serial"
        );
        // Policies that do not read the clock ignore it.
        assert_eq!(next_serial(Policy::Increment, 1, &[], -1), Ok(2));
        assert_eq!(next_serial(Policy::Keep, 1, &[], i64::MIN), Ok(1));
    }

    #[test]
    fn increment_and_wrap_around() {
        assert_eq!(next(Policy::Increment, 41, &[], 0), 42);
        assert_eq!(next(Policy::Increment, MAX, &[], 0), 0);
        assert!(serial_gt(0, MAX));
        assert_eq!(next(Policy::Increment, 0, &[MAX], 0), 1);
        assert_eq!(next(Policy::Increment, MAX - 1, &[MAX], 0), 0);
        // A floor past the wrap is the greatest one.
        assert_eq!(next(Policy::Increment, MAX - 5, &[3, MAX], 0), 4);
    }

    #[test]
    fn unixtime() {
        let now = 1_700_000_000;
        assert_eq!(next(Policy::Unixtime, 1, &[], now), 1_700_000_000);
        assert_eq!(
            next(Policy::Unixtime, 1_699_999_999, &[], now),
            1_700_000_000
        );
        assert_eq!(
            next(Policy::Unixtime, 1_700_000_000, &[], now),
            1_700_000_001
        );
        // From a date serial, which is ahead of the unix time.
        assert_eq!(next(Policy::Unixtime, 2024010100, &[], now), 2024010101);
        assert_eq!(
            next(Policy::Unixtime, 1, &[1_800_000_000], now),
            1_800_000_001
        );
        // After 2106-02-07 06:28:15 UTC the time wraps modulo 2^32.
        let after = i64::from(MAX) + 1 + 100;
        assert_eq!(next(Policy::Unixtime, MAX - 10, &[], after), 100);
        assert!(serial_gt(100, MAX - 10));
        // Numerically ahead by more than 2^31 - 1: two steps.
        let first = next(Policy::Unixtime, 3, &[], 3_000_000_000);
        assert_eq!(first, 3 + MAX_SERIAL_INCREMENT);
        assert_eq!(
            next(Policy::Unixtime, first, &[], 3_000_000_000),
            3_000_000_000
        );
        assert_eq!(
            next_serial(Policy::Unixtime, 1, &[], -5),
            Err(SerialError::ClockBeforeEpoch(-5))
        );
    }

    #[test]
    fn keep() {
        assert_eq!(next(Policy::Keep, 7, &[], 0), 7);
        assert_eq!(next(Policy::Keep, 7, &[3, 6], 0), 7);
        assert_eq!(next(Policy::Keep, 0, &[MAX], 0), 0);
        // Not above every floor: go just above the greatest one.
        assert_eq!(next(Policy::Keep, 7, &[7], 0), 8);
        assert_eq!(next(Policy::Keep, 7, &[3, 9], 0), 10);
        assert_eq!(next(Policy::Keep, MAX, &[MAX], 0), 0);
        // Undefined relation to a floor is "not above" it, and then nothing
        // is above both the floor and the zone's serial.
        assert_eq!(
            next_serial(Policy::Keep, HALF, &[0], 0),
            Err(SerialError::NoSerialAbove {
                serials: vec![HALF, 0]
            })
        );
        assert_eq!(
            next_serial(Policy::Keep, 0, &[HALF, 1], 0),
            Err(SerialError::NoSerialAbove {
                serials: vec![0, HALF, 1]
            })
        );
    }

    #[test]
    fn floors_in_any_order() {
        let now = unix(2024, 1, 1);
        for floors in [[10, 20, 30], [30, 10, 20], [20, 30, 10]] {
            assert_eq!(next(Policy::Increment, 5, &floors, now), 31);
            assert_eq!(next(Policy::Keep, 5, &floors, now), 31);
            assert_eq!(next(Policy::Date, 5, &floors, now), 2024010100);
            assert_eq!(next(Policy::Unixtime, 5, &floors, 1_000), 1_000);
        }
        // The floor the date must beat is the greatest, not the first.
        assert_eq!(
            next(Policy::Date, 2024010103, &[2024010107, 2024010105], now),
            2024010108
        );
    }

    #[test]
    fn serials_without_a_common_upper_bound() {
        let err = |current, floors: &[u32]| {
            next_serial(Policy::Increment, current, floors, 0).unwrap_err()
        };
        // Exactly 2^31 apart: undefined.
        assert_eq!(
            err(0, &[HALF]),
            SerialError::NoSerialAbove {
                serials: vec![0, HALF]
            }
        );
        // Three serials around the circle, each pair ordered.
        let quarter = 1 << 30;
        assert!(matches!(
            err(0, &[quarter, 3 * quarter]),
            SerialError::NoSerialAbove { .. }
        ));
        // Spread of 2^31 - 1: the only candidate would be 2^31 from the least.
        assert!(matches!(
            err(0, &[MAX_SERIAL_INCREMENT]),
            SerialError::NoSerialAbove { .. }
        ));
        // Spread of 2^31 - 2 leaves exactly one serial.
        assert_eq!(next(Policy::Increment, 0, &[HALF - 2], 0), HALF - 1);
        assert_eq!(
            next(Policy::Date, 0, &[HALF - 2], unix(2200, 1, 1)),
            HALF - 1
        );
        assert_eq!(
            err(0, &[HALF]).to_string(),
            "no serial is greater than all of [0, 2147483648] in RFC 1982 arithmetic: \
             they are spread over 2147483647 or more"
        );
    }

    #[test]
    fn policy_names() {
        for policy in Policy::ALL {
            assert_eq!(policy.to_string().parse::<Policy>(), Ok(policy));
            let json = serde_json::to_string(&policy).unwrap();
            assert_eq!(json, format!("\"{policy}\""));
            assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), policy);
        }
        assert_eq!("unixtime".parse::<Policy>(), Ok(Policy::Unixtime));
        assert_eq!(
            "Date".parse::<Policy>().unwrap_err().to_string(),
            "unknown serial policy `Date`: expected one of date, increment, unixtime, keep"
        );
        assert!(serde_json::from_str::<Policy>("\"weekly\"").is_err());
    }

    /// Tiny xorshift64 generator, enough to spread test values.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn serial(&mut self) -> u32 {
            self.next() as u32
        }

        /// A serial near `s` (within ±2^24) or anywhere, half the time each.
        fn serial_near(&mut self, s: u32) -> u32 {
            let r = self.next();
            if r & 1 == 0 {
                s.wrapping_add((r >> 8) as u32 & 0x01ff_ffff)
                    .wrapping_sub(1 << 24)
            } else {
                (r >> 32) as u32
            }
        }
    }

    /// Independent check: a serial greater than all of `serials` exists iff
    /// they fit in an arc spanning at most 2^31 - 2 (the circle minus its
    /// largest gap between neighbours).
    fn has_upper_bound(serials: &[u32]) -> bool {
        let mut sorted = serials.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let largest_gap = sorted
            .iter()
            .zip(sorted.iter().cycle().skip(1))
            .map(|(&a, &b)| u64::from(b.wrapping_sub(a)))
            .map(|gap| if gap == 0 { 1 << 32 } else { gap })
            .max()
            .unwrap();
        (1u64 << 32) - largest_gap <= u64::from(HALF) - 2
    }

    #[test]
    fn property_result_is_above_every_floor() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let (mut ok, mut refused) = (0, 0);
        for i in 0..10_000 {
            let current = rng.serial();
            let floors: Vec<u32> = (0..rng.next() % 4)
                .map(|_| rng.serial_near(current))
                .collect();
            // Up to 2^33 seconds: past the 2106 wrap and the year 2148.
            let now = (rng.next() % (1 << 33)) as i64;
            let policy = Policy::ALL[i % 4];
            let mut all = floors.clone();
            all.push(current);
            match next_serial(policy, current, &floors, now) {
                Ok(next) => {
                    ok += 1;
                    if policy == Policy::Keep && floors.iter().all(|&f| serial_gt(current, f)) {
                        assert_eq!(next, current);
                        continue;
                    }
                    assert!(has_upper_bound(&all), "{policy} {current} {floors:?}");
                    for &s in &all {
                        assert!(
                            serial_gt(next, s),
                            "{policy}: {next} not above {s} (current {current}, floors {floors:?}, now {now})"
                        );
                    }
                }
                Err(SerialError::NoSerialAbove { serials }) => {
                    refused += 1;
                    assert_eq!(serials[0], current);
                    assert!(!has_upper_bound(&all), "{policy} {current} {floors:?}");
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        // Both outcomes were exercised.
        assert!(ok > 5_000 && refused > 100, "ok {ok}, refused {refused}");
    }

    #[test]
    fn property_date_reached_in_two_deploys() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..10_000 {
            let current = rng.serial();
            // Any day from 1970 to 4294.
            let now = (rng.next() % (unix(4294, 12, 31) as u64 + 86_400)) as i64;
            let base = date_serial(now).unwrap();
            let first = next(Policy::Date, current, &[], now);
            assert!(serial_gt(first, current));
            if current >= base && current - base <= HALF {
                // Today's serial or later in the date space: plain +1.
                assert_eq!(first, current.wrapping_add(1));
                continue;
            }
            let second = next(Policy::Date, first, &[first], now);
            assert!(serial_gt(second, first));
            assert!(
                first == base || second == base,
                "{current} -> {first} -> {second}, base {base}"
            );
        }
    }
}
