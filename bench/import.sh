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

# Shared functions and paths (SCRIPT_DIR, REPO_ROOT, DATA_DIR, ...): lib.sh.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly TARGET_RATIO="1.0"      # bindbridge time / named-compilezone time, import and export

SIZES="${BENCH_SIZES:-1000000}"
PAIRS="${BENCH_PAIRS:-5}"

PREBUILT="${BINDBRIDGE_BIN:-}"
BINDBRIDGE="${PREBUILT:-$REPO_ROOT/target/release/bindbridge}"

check_environment() {
    check_common_environment
    # named-compilezone writes to /dev/null; if it is not the device, its
    # timings would include writing a file (and something has broken it).
    [[ -c /dev/null ]] || die "/dev/null is not a character device; restore it (rm -f /dev/null && mknod -m 666 /dev/null c 1 3)"
    require_commands python3 named-compilezone cmp awk sed sort grep stat
    if [[ -n "$PREBUILT" ]]; then
        [[ -f "$PREBUILT" && -x "$PREBUILT" ]] || die "BINDBRIDGE_BIN=$PREBUILT is not an executable file"
    else
        command -v cargo >/dev/null || die "'cargo' not found in PATH (or set BINDBRIDGE_BIN to a built binary)"
    fi
    check_pairs_and_sizes
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

# Floating-point comparison A <= B, for the targets.
le() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

met() {
    if "$@"; then echo "target met"; else echo "target MISSED"; fi
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

main() {
    check_environment
    make_work_dir
    DB="$WORK/bindbridge.db"
    # Keep each timed command's standard output: the import report is
    # checked from it (import_reported).
    TIME_ONE_STDOUT="$WORK/stdout"
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
