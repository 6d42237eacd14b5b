#!/bin/sh
# run-fuzzer.sh -- runs one libFuzzer binary for a bounded time (`make fuzz`).
#
#   run-fuzzer.sh BINARY SEED_CORPUS DICT SECONDS MAX_LEN [LIBFUZZER_ARG...]
#
# The fuzzer starts from the seed corpus in the tree, which it only reads:
# what it finds goes to BINARY.work/corpus/, so a CI run leaves the source
# tree as it was, and a crash, leak or timeout input to BINARY.work/ as
# crash-*, leak-* or timeout-*.  Its output goes to BINARY.work/log; this
# prints libFuzzer's final "Done N runs in T second(s)" line, and on
# failure the end of the log and how to replay the input.  The exit status
# is the fuzzer's: 0 when it ran out of time with nothing found.
set -u

if [ $# -lt 5 ]; then
	echo "usage: $0 BINARY SEED_CORPUS DICT SECONDS MAX_LEN [ARG...]" >&2
	exit 2
fi
bin=$1 seeds=$2 dict=$3 seconds=$4 maxlen=$5
shift 5
name=$(basename "$bin")
work=$bin.work

mkdir -p "$work/corpus" || exit 1
# -timeout: an input that runs for 10 s is a hang, not a slow input.
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len="$maxlen" -dict="$dict" -print_final_stats=1 \
	-artifact_prefix="$work/" "$@" "$work/corpus" "$seeds" \
	>"$work/log" 2>&1
rc=$?

done_line=$(grep -E '^Done [0-9]+ runs' "$work/log" | tail -n 1)
if [ $rc -eq 0 ]; then
	echo "$name: ${done_line:-no 'Done' line (see $work/log)};" \
	    "corpus $(ls "$work/corpus" | wc -l) new + $(ls "$seeds" | wc -l) seeds"
	exit 0
fi
echo "$name: FAILED (exit $rc) after ${seconds}s budget; end of $work/log:"
tail -n 60 "$work/log"
for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
	[ -e "$f" ] || continue
	echo "$name: input saved as $f; replay it with" \
	    "tests/fuzz/replay_${name#fuzz_} $f"
done
exit $rc
