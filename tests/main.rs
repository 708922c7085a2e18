//! Integration tests: one binary, one module per concern.

/// Shared helpers: fixture walking, goldens, the real BIND tools.
mod support;

/// Golden outputs and diagnostics for every fixture, and idempotence.
mod golden;

/// Agreement with BIND: named-checkzone verdicts and named-compilezone record sets.
mod bind;

/// The `bindbridge compile` command line: exit codes, formats, files, flags.
mod cli;

/// Our RDATA wire form against hickory-proto's reader and writer.
mod wire;

/// Large zones, which take the two-thread paths.
mod large;

/// The store: import (files and named.conf), export, zone listing.
mod import;

/// The REST API over real HTTP against `bindbridge serve`.
mod api;

/// The API's connections under abuse: timeouts, the connection limit,
/// JSON bodies with bytes after the value.
mod http;

/// Deploys to a real named on loopback: served records, serials, deletes.
mod deploy;

/// Secondaries on 127.0.0.2 that follow the catalog zone: zones created,
/// changed and deleted, a stopped secondary catching up.
mod secondaries;

/// What the API says is what named serves: RRset TTLs, multi-string TXT,
/// names, zone rules, and a seeded random walk of API writes.
mod served;

/// Standard DNS clients: nsupdate (RFC 2136 UPDATE with TSIG) and dig
/// against `serve`'s DNS listener, checked at the real named.
mod update;

/// Atomic batches and dry runs of writes, served by a real named.
mod batch;

/// Zone files over the API: export and import, served by a real named.
mod zone_files;

/// The account dashboard: login, sessions, CSRF, rate limit, tokens made
/// and limited to zones, record forms; and in headless Chromium.
mod web;
