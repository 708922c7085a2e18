#!/usr/bin/env bash
# End-to-end benchmark: `bindbridge import` and `bindbridge export` against
# `named-compilezone` on generated zones (1M records by default), as
# PERFORMANCE.md ("Benchmark honestly") asks: same-run interleaved pairs, a
# discarded warm-up pair, the median and min–max of the per-pair ratio, peak
# RSS, and a correctness check in the same run. It also prints the size of
# the database an import leaves.
#
# Each size gets two series of pairs, each after its own warm-up pair:
#   import pairs: named-compilezone, then `bindbridge import` of the same file
#                 into a fresh database (db, -wal and -shm deleted first,
#                 outside the timing);
#   export pairs: named-compilezone, then `bindbridge export` of the zone from
#                 the database of the last import, to a file.
# The ratio is bindbridge / named-compilezone, within each pair; the target
# is a median ratio <= 1.0 for both (no slower than named-compilezone).
#
# Usage (from anywhere):
#   bench/import.sh
#   BENCH_SIZES="100000" BENCH_PAIRS=2 bench/import.sh    # quick check
#   BINDBRIDGE_BIN=/path/to/bindbridge bench/import.sh    # skip the build
#
# Environment:
#   BENCH_SIZES     record counts to benchmark (default "1000000")
#   BENCH_PAIRS     timed pairs per size and series, after one warm-up pair
#                   (default 5)
#   BINDBRIDGE_BIN  benchmark this bindbridge binary instead of running
#                   `cargo build --release` and using target/release/bindbridge
#
# Zones are generated into bench/data with ../shared/tools/genzone.py, and
# shared with bench/compile.sh (same names, same reuse rule).
#
# Exit status: 0 ran and every correctness check passed (performance targets
# are reported, not enforced); 1 a correctness check failed; 2 could not run.
set -euo pipefail

# Everything below parses numbers and sorts them; pin the locale so that the
# decimal point is "." and `sort` orders bytes, whatever the caller's
# locale is.
export LC_ALL=C

readonly ORIGIN="example.com"
readonly TARGET_RATIO="1.0"      # bindbridge time / named-compilezone time, import and export

SIZES="${BENCH_SIZES:-1000000}"
PAIRS="${BENCH_PAIRS:-5}"

# Per-size results, keyed "SIZE,field", for the summary and the table.
declare -A RESULT=()
CORRECTNESS_FAILED=0

die() {
    echo "import.sh: error: $*" >&2
    exit 2
}

# Resolve paths from the script's own location so that it works from any
# working directory: the repo root is the parent of bench/, and the shared
# tools sit next to the repo (../shared).
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
SHARED_DIR="$REPO_ROOT/../shared"
GENZONE="$SHARED_DIR/tools/genzone.py"
DATA_DIR="$SCRIPT_DIR/data"
PREBUILT="${BINDBRIDGE_BIN:-}"
BINDBRIDGE="${PREBUILT:-$REPO_ROOT/target/release/bindbridge}"
GNU_TIME="/usr/bin/time"

check_environment() {
    # EPOCHREALTIME (bash 5) gives microsecond wall clocks; see time_one.
    [[ -n "${EPOCHREALTIME:-}" ]] || die "bash >= 5.0 is required (EPOCHREALTIME); this is $BASH_VERSION"
    [[ -d "$SHARED_DIR" ]] || die "shared directory not found at $SHARED_DIR (expected next to the repo, as ../shared)"
    [[ -f "$GENZONE" ]] || die "zone generator not found at $GENZONE"
    [[ -x "$GNU_TIME" ]] || die "$GNU_TIME not found (GNU time; Debian package 'time')"
    # named-compilezone writes to /dev/null; if it is not the device, its
    # timings would include writing a file (and something has broken it).
    [[ -c /dev/null ]] || die "/dev/null is not a character device; restore it (rm -f /dev/null && mknod -m 666 /dev/null c 1 3)"
    local cmd
    for cmd in python3 named-compilezone cmp awk sed sort grep stat; do
        command -v "$cmd" >/dev/null || die "'$cmd' not found in PATH"
    done
    if [[ -n "$PREBUILT" ]]; then
        [[ -f "$PREBUILT" && -x "$PREBUILT" ]] || die "BINDBRIDGE_BIN=$PREBUILT is not an executable file"
    else
        command -v cargo >/dev/null || die "'cargo' not found in PATH (or set BINDBRIDGE_BIN to a built binary)"
    fi
    [[ "$PAIRS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_PAIRS must be a positive integer, got '$PAIRS'"
    local n
    for n in $SIZES; do
        [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SIZES must list positive integers, got '$n'"
    done
    [[ -n "${SIZES// /}" ]] || die "BENCH_SIZES is empty"
}

# "100000" -> "100k", "1000000" -> "1M": for headings and the table.
size_label() {
    local n="$1"
    if (( n % 1000000 == 0 )); then
        echo "$(( n / 1000000 ))M"
    elif (( n % 1000 == 0 )); then
        echo "$(( n / 1000 ))k"
    else
        echo "$n"
    fi
}

# The release settings, read from Cargo.toml rather than hard-coded, so the
# printed profile cannot drift from what was actually built.
build_profile() {
    awk '
        /^\[/ { in_release = ($0 == "[profile.release]") }
        in_release && /^(lto|codegen-units)[[:space:]]*=/ {
            gsub(/[[:space:]"]/, ""); settings = settings (settings ? ", " : "") $0
        }
        END { print "release (" (settings ? settings : "Cargo defaults") ")" }
    ' "$REPO_ROOT/Cargo.toml"
}

# Builds bindbridge, unless BINDBRIDGE_BIN names a binary to use as it is.
build() {
    echo "== build" >&2
    if [[ -n "$PREBUILT" ]]; then
        echo "  skipped: BINDBRIDGE_BIN=$PREBUILT" >&2
        return
    fi
    (cd "$REPO_ROOT" && cargo build --release) >&2 || die "cargo build --release failed"
    [[ -x "$BINDBRIDGE" ]] || die "$BINDBRIDGE missing after cargo build --release"
}

# genzone.py writes "; generated by genzone.py: N records, ..." as line 2;
# reading it is much cheaper than parsing 53 MB. The import's own record
# count is checked against N later (check_import_report).
zone_header_matches() {
    local file="$1" n="$2"
    [[ "$(sed -n '2{p;q}' "$file")" == "; generated by genzone.py: $n records, deterministic" ]]
}

# Sets ZONE_FILE to a zone with N records, generating it only when no file
# in bench/data already has that count: genzone is deterministic and 1M
# records take a while. Any name is accepted (e.g. the 1m.zone that
# bench/compile.sh generated). A global rather than stdout, so that the EXIT
# trap sees PARTIAL_ZONE.
ensure_zone() {
    local n="$1" file
    mkdir -p "$DATA_DIR"
    for file in "$DATA_DIR/$n.zone" "$DATA_DIR"/*.zone; do
        if [[ -f "$file" ]] && zone_header_matches "$file" "$n"; then
            echo "  reusing $file"
            ZONE_FILE="$file"
            return
        fi
    done
    file="$DATA_DIR/$n.zone"
    echo "  generating $file (genzone.py $n; the 1M zone takes about 20 s)"
    # Write to a temp name and rename, so an interrupted run never leaves a
    # truncated file that a later run would reuse.
    PARTIAL_ZONE="$file.partial.$$"
    python3 "$GENZONE" "$n" >"$PARTIAL_ZONE" || die "genzone.py $n failed"
    mv "$PARTIAL_ZONE" "$file"
    PARTIAL_ZONE=""
    ZONE_FILE="$file"
}

# Runs one command under GNU time; prints "WALL_SECONDS PEAK_RSS_KIB".
# Wall time comes from EPOCHREALTIME around the call because time's %e has
# only 10 ms resolution, which is coarse for the 100k zone; %M (peak RSS)
# is what GNU time is needed for. Its own fork/exec adds ~1 ms to both tools.
# The command's standard output is kept in $WORK/stdout (the import report
# is checked from it).
time_one() {
    local start end rss
    start="$EPOCHREALTIME"
    if ! "$GNU_TIME" -f '%e %M' -o "$WORK/time" "$@" >"$WORK/stdout" 2>"$WORK/stderr"; then
        echo "command failed: $*" >&2
        head -n 20 "$WORK/stderr" >&2
        die "benchmark command failed"
    fi
    end="$EPOCHREALTIME"
    rss="$(awk 'END { print $2 }' "$WORK/time")"
    awk -v s="$start" -v e="$end" -v r="$rss" 'BEGIN { printf "%.6f %d\n", e - s, r }'
}

# Reads numbers, one per line; prints "MEDIAN MIN MAX".
stats() {
    sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) exit 1
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.6f %.6f %.6f\n", m, v[1], v[NR]
        }'
}

# Floating-point comparison A <= B, for the targets.
le() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

met() {
    if "$@"; then echo "target met"; else echo "target MISSED"; fi
}

kib_to_mib() {
    awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

bytes_to_mb() {
    awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'
}

report_check() {
    local what="$1" ok="$2"
    if (( ok )); then
        echo "  correctness: $what: PASS"
    else
        echo "  correctness: $what: FAIL"
        CORRECTNESS_FAILED=1
    fi
}

# The reference for the export: `bindbridge compile` of the same file, its
# standard output written to a file. Refuses to benchmark a zone bindbridge
# rejects: timings of an error exit would be meaningless.
compile_reference() {
    local file="$1" dest="$2" status=0
    "$BINDBRIDGE" compile --origin "$ORIGIN" "$file" >"$dest" 2>"$WORK/bb.stderr" || status=$?
    if (( status != 0 )); then
        head -n 20 "$WORK/bb.stderr" >&2
        die "bindbridge compile exited $status on $file"
    fi
}

# The database every import starts from: none. SQLite's side files go too,
# or a stale WAL would be replayed into the new database.
reset_db() {
    rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal"
}

# Size in bytes of a file, 0 when it does not exist.
file_size() {
    if [[ -e "$1" ]]; then stat -c %s "$1"; else echo 0; fi
}

# Sets DB_BYTES (database + -wal + -shm) and DB_PARTS, what the import left.
measure_db() {
    local main wal shm
    main="$(file_size "$DB")"; wal="$(file_size "$DB-wal")"; shm="$(file_size "$DB-shm")"
    DB_BYTES=$(( main + wal + shm ))
    DB_PARTS="$(basename "$DB") $(bytes_to_mb "$main") MB + -wal $(bytes_to_mb "$wal") MB + -shm $(bytes_to_mb "$shm") MB"
}

# The import's standard output must report the zone imported (a line
# "ZONE: imported: ..."; "NOT imported:" does not count). Returns 1 if not.
import_reported() {
    grep -q "^$ORIGIN: imported: " "$WORK/stdout"
}

# Warm-up pair (discarded: it pulls the input into the page cache), then
# PAIRS interleaved pairs of named-compilezone and an import into a fresh
# database, so both tools see the same machine state and the ratio is taken
# within each pair, never across runs. Every import's report is checked;
# the last one is kept in $WORK/import.out.
time_import_pairs() {
    local n="$1" file="$2"
    local -a ncz_wall=() ncz_rss=() bb_wall=() bb_rss=() ratio=()
    local pair out w r bw br reported=1
    for (( pair = 0; pair <= PAIRS; pair++ )); do
        # Command substitution, not < <(...): a failure must stop the script.
        out="$(time_one named-compilezone -i none -k ignore -s full -o /dev/null "$ORIGIN" "$file")"
        read -r w r <<<"$out"
        reset_db
        out="$(time_one "$BINDBRIDGE" --db "$DB" import --origin "$ORIGIN" "$file")"
        read -r bw br <<<"$out"
        import_reported || reported=0
        cp "$WORK/stdout" "$WORK/import.out"
        measure_db
        if (( pair == 0 )); then
            printf '  import warm-up  named-compilezone %7.3f s %7.1f MiB | bindbridge import %7.3f s %7.1f MiB, db %s MB (discarded)\n' \
                "$w" "$(kib_to_mib "$r")" "$bw" "$(kib_to_mib "$br")" "$(bytes_to_mb "$DB_BYTES")"
            continue
        fi
        ncz_wall+=("$w"); ncz_rss+=("$r"); bb_wall+=("$bw"); bb_rss+=("$br")
        ratio+=("$(awk -v a="$bw" -v b="$w" 'BEGIN { printf "%.6f", a / b }')")
        printf '  import pair %-3d named-compilezone %7.3f s %7.1f MiB | bindbridge import %7.3f s %7.1f MiB, db %s MB | ratio %5.2f\n' \
            "$pair" "$w" "$(kib_to_mib "$r")" "$bw" "$(kib_to_mib "$br")" "$(bytes_to_mb "$DB_BYTES")" "${ratio[-1]}"
    done
    RESULT["$n,db_bytes"]="$DB_BYTES"
    RESULT["$n,db_parts"]="$DB_PARTS"
    store_stats "$n" inc_wall "${ncz_wall[@]}"
    store_stats "$n" inc_rss "${ncz_rss[@]}"
    store_stats "$n" imp_wall "${bb_wall[@]}"
    store_stats "$n" imp_rss "${bb_rss[@]}"
    store_stats "$n" imp_ratio "${ratio[@]}"
    report_check "every import's standard output reports \"$ORIGIN: imported:\" ($(( PAIRS + 1 )) runs)" "$reported"
}

# The import report's count ("N records + SOA + M NS") against the zone's
# size. Only checked when the report has that form: the "imported:" line is
# the required check, the count an extra one.
check_import_report() {
    local n="$1" line counted
    line="$(grep -m 1 "^$ORIGIN: imported: " "$WORK/import.out" || true)"
    [[ -n "$line" ]] && echo "  import report: $line"
    counted="$(sed -n 's/^[^:]*: imported: \([0-9]*\) records + SOA + \([0-9]*\) NS.*/\1 \2/p' <<<"$line")"
    if [[ -z "$counted" ]]; then
        echo "  correctness: import record count = $n: not checked (report not in the form 'N records + SOA + M NS')"
        return
    fi
    local rest ns total
    read -r rest ns <<<"$counted"
    total=$(( rest + 1 + ns ))
    RESULT["$n,records"]="$total"
    local ok=1
    (( total == n )) || ok=0
    report_check "import record count $rest + SOA + $ns NS = $total, expected $n" "$ok"
}

# Warm-up pair, then PAIRS interleaved pairs of named-compilezone and an
# export of the zone from the database of the last import. Every export is
# compared with the compile reference; the output file is deleted before
# each run so that no run can pass on an earlier run's file.
time_export_pairs() {
    local n="$1" file="$2" reference="$3"
    local -a ncz_wall=() ncz_rss=() bb_wall=() bb_rss=() ratio=()
    local pair out w r bw br identical=1
    local export_out="$WORK/export.zone"
    for (( pair = 0; pair <= PAIRS; pair++ )); do
        out="$(time_one named-compilezone -i none -k ignore -s full -o /dev/null "$ORIGIN" "$file")"
        read -r w r <<<"$out"
        rm -f "$export_out"
        # A regular file in $WORK, never /dev/null: export replaces its
        # output by renaming a temp file over it.
        out="$(time_one "$BINDBRIDGE" --db "$DB" export "$ORIGIN" -o "$export_out")"
        read -r bw br <<<"$out"
        if ! cmp -s "$reference" "$export_out"; then
            if (( identical )); then
                echo "  export differs from bindbridge compile's output (first differences of cmp):" >&2
                cmp "$reference" "$export_out" 2>&1 | head -n 5 >&2 || true
            fi
            identical=0
        fi
        if (( pair == 0 )); then
            printf '  export warm-up  named-compilezone %7.3f s %7.1f MiB | bindbridge export %7.3f s %7.1f MiB (discarded)\n' \
                "$w" "$(kib_to_mib "$r")" "$bw" "$(kib_to_mib "$br")"
            continue
        fi
        ncz_wall+=("$w"); ncz_rss+=("$r"); bb_wall+=("$bw"); bb_rss+=("$br")
        ratio+=("$(awk -v a="$bw" -v b="$w" 'BEGIN { printf "%.6f", a / b }')")
        printf '  export pair %-3d named-compilezone %7.3f s %7.1f MiB | bindbridge export %7.3f s %7.1f MiB | ratio %5.2f\n' \
            "$pair" "$w" "$(kib_to_mib "$r")" "$bw" "$(kib_to_mib "$br")" "${ratio[-1]}"
    done
    store_stats "$n" enc_wall "${ncz_wall[@]}"
    store_stats "$n" enc_rss "${ncz_rss[@]}"
    store_stats "$n" exp_wall "${bb_wall[@]}"
    store_stats "$n" exp_rss "${bb_rss[@]}"
    store_stats "$n" exp_ratio "${ratio[@]}"
    report_check "every export byte-identical to 'bindbridge compile --origin $ORIGIN FILE' ($(( PAIRS + 1 )) runs, cmp)" "$identical"
}

# Stores median/min/max of the values under RESULT["SIZE,NAME.med|min|max"].
store_stats() {
    local n="$1" name="$2" out med min max
    shift 2
    out="$(printf '%s\n' "$@" | stats)"
    read -r med min max <<<"$out"
    RESULT["$n,$name.med"]="$med"
    RESULT["$n,$name.min"]="$min"
    RESULT["$n,$name.max"]="$max"
}

# "MEDIAN (MIN–MAX)" of one stored statistic; RSS converted to MiB.
fmt_key() {
    local n="$1" key="$2" med min max
    med="${RESULT[$n,$key.med]}"; min="${RESULT[$n,$key.min]}"; max="${RESULT[$n,$key.max]}"
    case "$key" in
        *_rss)   printf '%s (%s–%s)' "$(kib_to_mib "$med")" "$(kib_to_mib "$min")" "$(kib_to_mib "$max")" ;;
        *ratio)  printf '%.2f (%.2f–%.2f)' "$med" "$min" "$max" ;;
        *)       printf '%.3f (%.3f–%.3f)' "$med" "$min" "$max" ;;
    esac
}

# The per-size table. Every cell of a column holds one "–" (3 bytes in
# UTF-8), so byte-counted printf widths still line up.
report_timings() {
    local n="$1"
    echo "  summary, $(size_label "$n") records, $PAIRS pairs per series (median (min–max)):"
    printf '    %-34s %-26s %s\n' "command" "wall s" "peak RSS MiB"
    local row label
    for row in "imp:bindbridge import" "inc:named-compilezone (import pairs)" \
               "exp:bindbridge export" "enc:named-compilezone (export pairs)"; do
        label="${row#*:}"
        printf '    %-34s %-26s %s\n' "$label" "$(fmt_key "$n" "${row%%:*}_wall")" "$(fmt_key "$n" "${row%%:*}_rss")"
    done
    echo "    import ratio bindbridge/named-compilezone: $(fmt_key "$n" imp_ratio) (per pair)"
    echo "    export ratio bindbridge/named-compilezone: $(fmt_key "$n" exp_ratio) (per pair)"
    echo "    database after import: $(bytes_to_mb "${RESULT[$n,db_bytes]}") MB (${RESULT[$n,db_parts]})"
    echo "    target: import ratio median $(printf '%.2f' "${RESULT[$n,imp_ratio.med]}") <= $TARGET_RATIO: $(met le "${RESULT[$n,imp_ratio.med]}" "$TARGET_RATIO")"
    echo "    target: export ratio median $(printf '%.2f' "${RESULT[$n,exp_ratio.med]}") <= $TARGET_RATIO: $(met le "${RESULT[$n,exp_ratio.med]}" "$TARGET_RATIO")"
}

bench_size() {
    local n="$1" file mb
    echo
    echo "== $(size_label "$n") records"
    ensure_zone "$n"
    file="$ZONE_FILE"
    mb="$(bytes_to_mb "$(wc -c <"$file")")"
    RESULT["$n,mb"]="$mb"
    RESULT["$n,records"]="$n"
    echo "  input: $file, $mb MB, $n records (genzone.py header)"

    local reference="$WORK/compiled.zone"
    compile_reference "$file" "$reference"

    time_import_pairs "$n" "$file"
    check_import_report "$n"
    time_export_pairs "$n" "$file" "$reference"
    report_timings "$n"
}

summary() {
    echo
    echo "== summary"
    local n label
    for n in $SIZES; do
        label="$(size_label "$n")"
        echo "import $label, ratio median $(printf '%.2f' "${RESULT[$n,imp_ratio.med]}")" \
            "($(printf '%.2f–%.2f' "${RESULT[$n,imp_ratio.min]}" "${RESULT[$n,imp_ratio.max]}")) <= $TARGET_RATIO:" \
            "$(met le "${RESULT[$n,imp_ratio.med]}" "$TARGET_RATIO")"
        echo "export $label, ratio median $(printf '%.2f' "${RESULT[$n,exp_ratio.med]}")" \
            "($(printf '%.2f–%.2f' "${RESULT[$n,exp_ratio.min]}" "${RESULT[$n,exp_ratio.max]}")) <= $TARGET_RATIO:" \
            "$(met le "${RESULT[$n,exp_ratio.med]}" "$TARGET_RATIO")"
        echo "database after import $label: $(bytes_to_mb "${RESULT[$n,db_bytes]}") MB (${RESULT[$n,db_parts]})"
    done
    if (( CORRECTNESS_FAILED )); then
        echo "correctness: FAIL (see above)"
    else
        echo "correctness: PASS"
    fi
}

# Markdown for the README: one row per size, then the conditions.
markdown_table() {
    echo
    echo "== README table (markdown)"
    echo
    echo "| size | input MB | named-compilezone median s / peak MiB | import median s / peak MiB | import ratio median (min–max) | export median s / peak MiB | export ratio median (min–max) | database MB |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    local n
    for n in $SIZES; do
        printf '| %s | %s | %.3f / %.0f | %.3f / %.0f | %.2f (%.2f–%.2f) | %.3f / %.0f | %.2f (%.2f–%.2f) | %s |\n' \
            "$(size_label "$n")" "${RESULT[$n,mb]}" \
            "${RESULT[$n,inc_wall.med]}" "$(kib_to_mib "${RESULT[$n,inc_rss.med]}")" \
            "${RESULT[$n,imp_wall.med]}" "$(kib_to_mib "${RESULT[$n,imp_rss.med]}")" \
            "${RESULT[$n,imp_ratio.med]}" "${RESULT[$n,imp_ratio.min]}" "${RESULT[$n,imp_ratio.max]}" \
            "${RESULT[$n,exp_wall.med]}" "$(kib_to_mib "${RESULT[$n,exp_rss.med]}")" \
            "${RESULT[$n,exp_ratio.med]}" "${RESULT[$n,exp_ratio.min]}" "${RESULT[$n,exp_ratio.max]}" \
            "$(bytes_to_mb "${RESULT[$n,db_bytes]}")"
    done
    echo
    echo "Ratio = bindbridge / named-compilezone within each pair (<= 1.0: no slower). Medians of $PAIRS interleaved pairs" \
        "per series after one discarded warm-up pair, same run; named-compilezone (median of the import pairs shown)" \
        "\`$(named_version) -i none -k ignore -s full -o /dev/null\`; import into a fresh SQLite database, export to a file" \
        "on $(db_filesystem); bindbridge $BUILD_DESC; $(machine)."
}

named_version() {
    named-compilezone -v 2>/dev/null | awk '{ print $1; exit }'
}

git_revision() {
    local rev
    rev="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null)" || { echo "(no git)"; return; }
    # Uncommitted changes to what goes into the binaries mean the numbers are
    # not those of the commit alone (edits to this script or docs don't count).
    if ! git -C "$REPO_ROOT" diff --quiet HEAD -- src templates benches Cargo.toml Cargo.lock 2>/dev/null; then
        rev="$rev+dirty"
    fi
    echo "$rev"
}

# What was benchmarked: the checkout's release build, or a binary given by
# BINDBRIDGE_BIN, whose source revision this script cannot know. Computed
# once, after the build (main), so the conditions and the table agree even
# if the checkout moves during the run.
describe_build() {
    if [[ -n "$PREBUILT" ]]; then
        echo "prebuilt $PREBUILT ($("$BINDBRIDGE" --version 2>/dev/null || echo "version unknown"); checkout at $(git_revision), revision of the binary not known)"
    else
        echo "$(git_revision), $(build_profile)"
    fi
}

# The database is written in $WORK: its filesystem type matters to an
# import (fsync, WAL), so it is part of the conditions.
db_filesystem() {
    echo "$(stat -f -c %T "$WORK" 2>/dev/null || echo unknown) ($(dirname "$WORK"))"
}

machine() {
    local cpu
    cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
    echo "$(nproc)-core ${cpu:-unknown CPU} Linux"
}

print_conditions() {
    echo "== conditions"
    echo "bindbridge $BUILD_DESC"
    echo "named-compilezone $(named_version)"
    echo "machine: $(machine), load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "database and export output in $WORK, filesystem $(db_filesystem)"
    echo "commands, $PAIRS pairs + 1 discarded warm-up pair per series and size:"
    echo "  named-compilezone -i none -k ignore -s full -o /dev/null $ORIGIN FILE"
    echo "  $BINDBRIDGE --db DB import --origin $ORIGIN FILE   (DB, -wal, -shm deleted before each run, untimed)"
    echo "  $BINDBRIDGE --db DB export $ORIGIN -o OUT          (DB of the last import; OUT deleted before each run)"
    echo "ratio = bindbridge / named-compilezone within a pair; target: median <= $TARGET_RATIO (reported, not enforced)"
    echo "wall: EPOCHREALTIME around /usr/bin/time; peak RSS: /usr/bin/time %M (MiB = 1024 KiB); MB = 10^6 bytes"
}

cleanup() {
    [[ -n "${PARTIAL_ZONE:-}" ]] && rm -f "$PARTIAL_ZONE"
    [[ -n "${WORK:-}" ]] && rm -rf "$WORK"
    return 0
}

main() {
    check_environment
    PARTIAL_ZONE=""
    ZONE_FILE=""
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/bindbridge-bench.XXXXXX")"
    DB="$WORK/bindbridge.db"
    trap cleanup EXIT
    local n
    build
    BUILD_DESC="$(describe_build)"
    print_conditions
    for n in $SIZES; do
        bench_size "$n"
    done
    summary
    markdown_table
    if (( CORRECTNESS_FAILED )); then
        exit 1
    fi
}

main "$@"
