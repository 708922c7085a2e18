#!/usr/bin/env bash
# End-to-end benchmark: `bindbridge compile` against `named-compilezone` on
# generated zones of 100k and 1M records, as PERFORMANCE.md ("Benchmark
# honestly") asks: same-run interleaved pairs, a discarded warm-up pair, the
# median and min–max of the per-pair ratio, peak RSS, and a correctness
# check in the same run. It also prints the parse-only throughput.
#
# Usage (from anywhere):
#   bench/compile.sh
#   BENCH_SIZES="100000" BENCH_PAIRS=2 bench/compile.sh   # quick check
#
# Environment:
#   BENCH_SIZES  record counts to benchmark (default "100000 1000000")
#   BENCH_PAIRS  timed pairs per size, after one warm-up pair (default 5)
#
# Exit status: 0 ran and every correctness check passed (performance targets
# are reported, not enforced); 1 a correctness check failed; 2 could not run.
set -euo pipefail

# Everything below parses numbers and sorts records; pin the locale so that
# the decimal point is "." and `sort` orders bytes, whatever the caller's
# locale is.
export LC_ALL=C

# Shared functions and paths (SCRIPT_DIR, REPO_ROOT, DATA_DIR, ...): lib.sh.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly TARGET_RATIO="5.0"      # compile of 1M >= 5x faster than named-compilezone
readonly TARGET_PARSE="2.0"      # parse-only >= 2 M records/s
readonly TARGET_SIZE=1000000     # the compile targets are defined on the 1M zone

SIZES="${BENCH_SIZES:-100000 1000000}"
PAIRS="${BENCH_PAIRS:-5}"

BINDBRIDGE="$REPO_ROOT/target/release/bindbridge"

check_environment() {
    check_common_environment
    require_commands cargo python3 named-compilezone cmp awk sed sort
    check_pairs_and_sizes
}

# Builds bindbridge and the parse bench; prints the bench executable's path.
# `cargo bench` builds with the bench profile, which inherits [profile.release].
build() {
    echo "== build" >&2
    (cd "$REPO_ROOT" && cargo build --release) >&2 || die "cargo build --release failed"
    local json
    json="$(cd "$REPO_ROOT" && cargo bench --bench parse --no-run --message-format=json)" \
        || die "cargo bench --bench parse --no-run failed"
    local exe
    exe="$(python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if (msg.get("reason") == "compiler-artifact"
            and msg["target"]["name"] == "parse" and msg.get("executable")):
        print(msg["executable"])
' <<<"$json" | tail -n 1)"
    [[ -x "$exe" ]] || die "could not find the parse bench executable in cargo's JSON output"
    [[ -x "$BINDBRIDGE" ]] || die "$BINDBRIDGE missing after cargo build --release"
    echo "$exe"
}

# Floating-point comparison A >= B, for the targets.
ge() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'
}

met() {
    if "$@"; then echo "met"; else echo "NOT MET"; fi
}

# Refuses to benchmark a zone bindbridge rejects: timings of an error exit
# would be meaningless. The output doubles as run 1 of the stability check.
check_bindbridge_accepts() {
    local file="$1" out="$2" status=0
    "$BINDBRIDGE" compile "$file" -o "$out" 2>"$WORK/bb.stderr" || status=$?
    if (( status != 0 )); then
        head -n 20 "$WORK/bb.stderr" >&2
        die "bindbridge compile exited $status on $file"
    fi
}

# named-compilezone's view of a zone, one RR per line, whitespace collapsed
# and byte-sorted so that layout and order differences disappear.
named_record_set() {
    local zone="$1" dest="$2"
    if ! named-compilezone -i none -s full -o - "$ORIGIN" "$zone" >"$WORK/ncz.raw" 2>"$WORK/ncz.stderr"; then
        head -n 20 "$WORK/ncz.stderr" >&2
        return 1
    fi
    sed 's/[[:space:]]\+/ /g' "$WORK/ncz.raw" | sort >"$dest"
}

# PERFORMANCE.md: output identical across runs, and named-compilezone of our
# output = of the input. bindbridge keeps the serial, so no serial filtering.
check_correctness() {
    local n="$1" file="$2" first="$3"
    local second="$WORK/bb.second.zone" ok
    "$BINDBRIDGE" compile "$file" -o "$second" 2>/dev/null || die "bindbridge compile failed on its second run"
    ok=1; cmp -s "$first" "$second" || ok=0
    report_check "bindbridge output identical across two runs (cmp)" "$ok"

    ok=1
    if ! named_record_set "$file" "$WORK/set.input"; then
        die "named-compilezone rejected the input $file"
    fi
    if ! named_record_set "$first" "$WORK/set.output"; then
        echo "  named-compilezone rejected bindbridge's output" >&2
        ok=0
    elif ! cmp -s "$WORK/set.input" "$WORK/set.output"; then
        echo "  record sets differ (first lines of diff input output):" >&2
        diff "$WORK/set.input" "$WORK/set.output" | head -n 10 >&2 || true
        ok=0
    fi
    report_check "named-compilezone record set of output = of input" "$ok"
    verify_record_count "$n" "$file" "$(wc -l <"$WORK/set.input")"
}

# A reused file is trusted on its header only; this catches a truncated or
# hand-edited one before its numbers are reported under the wrong size.
verify_record_count() {
    local n="$1" file="$2" counted="$3"
    RESULT["$n,records"]="$counted"
    if (( counted != n )); then
        die "$file has $counted records, expected $n; delete it and rerun to regenerate"
    fi
}

# Warm-up pair (discarded: it pulls the input into the page cache), then
# PAIRS interleaved pairs, so both tools see the same machine state and the
# ratio is taken within each pair, never across runs.
time_pairs() {
    local n="$1" file="$2"
    local -a ncz_wall=() ncz_rss=() bb_wall=() bb_rss=() ratio=()
    local pair out w r bw br
    for (( pair = 0; pair <= PAIRS; pair++ )); do
        # Command substitution, not < <(...): a failure must stop the script.
        out="$(time_one named-compilezone -i none -k ignore -s full -o /dev/null "$ORIGIN" "$file")"
        read -r w r <<<"$out"
        out="$(time_one "$BINDBRIDGE" compile "$file" -o /dev/null)"
        read -r bw br <<<"$out"
        if (( pair == 0 )); then
            printf '  warm-up   named-compilezone %7.3f s %7.1f MiB | bindbridge %7.3f s %7.1f MiB (discarded)\n' \
                "$w" "$(kib_to_mib "$r")" "$bw" "$(kib_to_mib "$br")"
            continue
        fi
        ncz_wall+=("$w"); ncz_rss+=("$r"); bb_wall+=("$bw"); bb_rss+=("$br")
        ratio+=("$(awk -v a="$w" -v b="$bw" 'BEGIN { printf "%.6f", a / b }')")
        printf '  pair %-3d  named-compilezone %7.3f s %7.1f MiB | bindbridge %7.3f s %7.1f MiB | ratio %5.2f\n' \
            "$pair" "$w" "$(kib_to_mib "$r")" "$bw" "$(kib_to_mib "$br")" "${ratio[-1]}"
    done
    store_stats "$n" ncz_wall "${ncz_wall[@]}"
    store_stats "$n" ncz_rss "${ncz_rss[@]}"
    store_stats "$n" bb_wall "${bb_wall[@]}"
    store_stats "$n" bb_rss "${bb_rss[@]}"
    store_stats "$n" ratio "${ratio[@]}"
}

report_timings() {
    local n="$1" records="${RESULT[$1,records]}"
    local -A s=()
    local key
    for key in ncz_wall ncz_rss bb_wall bb_rss ratio; do
        s[$key]="$(fmt_key "$n" "$key")"
    done
    echo "  named-compilezone: wall ${s[ncz_wall]} s, peak RSS ${s[ncz_rss]} MiB"
    echo "  bindbridge:        wall ${s[bb_wall]} s, peak RSS ${s[bb_rss]} MiB," \
        "$(awk -v r="$records" -v t="${RESULT[$n,bb_wall.med]}" 'BEGIN { printf "%.2f", r / t / 1e6 }') M records/s (median wall)"
    echo "  ratio named-compilezone/bindbridge: ${s[ratio]} (per pair)"
    if (( n == TARGET_SIZE )); then
        echo "  target: ratio median >= ${TARGET_RATIO}x: $(met ge "${RESULT[$n,ratio.med]}" "$TARGET_RATIO")"
        echo "  target: bindbridge peak RSS <= named-compilezone's (medians): $(met ge "${RESULT[$n,ncz_rss.med]}" "${RESULT[$n,bb_rss.med]}")"
    else
        echo "  (the compile targets, ratio >= ${TARGET_RATIO}x and RSS <= named-compilezone's, are set on the 1M zone)"
    fi
}

# Runs the parse-only bench (no checks, sort or render) and keeps its rate.
parse_only() {
    local n="$1" file="$2" parse_bin="$3" line rate
    line="$("$parse_bin" "$file" "$ORIGIN.")" || die "parse bench failed on $file"
    line="$(grep '^parse-only:' <<<"$line")" || die "parse bench printed no 'parse-only:' line"
    echo "  $line"
    rate="$(sed -n 's/.*= \([0-9.]*\) M records\/s.*/\1/p' <<<"$line")"
    [[ -n "$rate" ]] || die "could not read the rate from: $line"
    RESULT["$n,parse"]="$rate"
    echo "  target: parse-only >= $TARGET_PARSE M records/s: $(met ge "$rate" "$TARGET_PARSE")"
}

bench_size() {
    local n="$1" parse_bin="$2" file mb
    echo
    echo "== $(size_label "$n") records"
    ensure_zone "$n"
    file="$ZONE_FILE"
    mb="$(bytes_to_mb "$(wc -c <"$file")")"
    RESULT["$n,mb"]="$mb"

    local first="$WORK/bb.first.zone"
    check_bindbridge_accepts "$file" "$first"
    check_correctness "$n" "$file" "$first"
    echo "  input: $file, $mb MB, ${RESULT[$n,records]} records (counted by named-compilezone)"

    time_pairs "$n" "$file"
    report_timings "$n"
    parse_only "$n" "$file" "$parse_bin"
}

summary() {
    echo
    echo "== summary"
    if [[ -n "${RESULT[$TARGET_SIZE,ratio.med]:-}" ]]; then
        echo "compile 1M, ratio median $(printf '%.2f' "${RESULT[$TARGET_SIZE,ratio.med]}") >= ${TARGET_RATIO}x:" \
            "$(met ge "${RESULT[$TARGET_SIZE,ratio.med]}" "$TARGET_RATIO")"
        echo "compile 1M, peak RSS $(kib_to_mib "${RESULT[$TARGET_SIZE,bb_rss.med]}") MiB <=" \
            "named-compilezone's $(kib_to_mib "${RESULT[$TARGET_SIZE,ncz_rss.med]}") MiB:" \
            "$(met ge "${RESULT[$TARGET_SIZE,ncz_rss.med]}" "${RESULT[$TARGET_SIZE,bb_rss.med]}")"
    else
        echo "compile targets (1M zone): not measured (1000000 not in BENCH_SIZES)"
    fi
    local n
    for n in $SIZES; do
        echo "parse-only $(size_label "$n"), ${RESULT[$n,parse]} M records/s >= $TARGET_PARSE: $(met ge "${RESULT[$n,parse]}" "$TARGET_PARSE")"
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
    echo "| size | records | input MB | named-compilezone median s / peak MiB | bindbridge median s / peak MiB | ratio median (min–max) | parse-only M rec/s |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    local n
    for n in $SIZES; do
        printf '| %s | %s | %s | %.3f / %.0f | %.3f / %.0f | %.2f (%.2f–%.2f) | %s |\n' \
            "$(size_label "$n")" "${RESULT[$n,records]}" "${RESULT[$n,mb]}" \
            "${RESULT[$n,ncz_wall.med]}" "$(kib_to_mib "${RESULT[$n,ncz_rss.med]}")" \
            "${RESULT[$n,bb_wall.med]}" "$(kib_to_mib "${RESULT[$n,bb_rss.med]}")" \
            "${RESULT[$n,ratio.med]}" "${RESULT[$n,ratio.min]}" "${RESULT[$n,ratio.max]}" \
            "${RESULT[$n,parse]}"
    done
    echo
    echo "Medians of $PAIRS interleaved pairs after one discarded warm-up pair, same run;" \
        "output to /dev/null; \`named-compilezone $(named_version) -i none -k ignore -s full\`;" \
        "bindbridge $(git_revision), $(build_profile); $(machine)."
}

print_conditions() {
    echo "== conditions"
    echo "bindbridge $(git_revision), build profile $(build_profile)"
    echo "named-compilezone $(named_version)"
    echo "machine: $(machine), load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commands (outputs to /dev/null), $PAIRS pairs + 1 discarded warm-up pair per size:"
    echo "  named-compilezone -i none -k ignore -s full -o /dev/null $ORIGIN FILE"
    echo "  $BINDBRIDGE compile FILE -o /dev/null"
    echo "wall: EPOCHREALTIME around /usr/bin/time; peak RSS: /usr/bin/time %M (MiB = 1024 KiB); input MB = 10^6 bytes"
}

main() {
    check_environment
    make_work_dir
    local parse_bin n
    parse_bin="$(build)"
    print_conditions
    for n in $SIZES; do
        bench_size "$n" "$parse_bin"
    done
    summary
    markdown_table
    if (( CORRECTNESS_FAILED )); then
        exit 1
    fi
}

main "$@"
