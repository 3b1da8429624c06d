#!/bin/sh
# The chaos benchmark's processing "software" (bench/chaos.ts): appends one line when it starts and
# one when it ends to the run's job log (O_APPEND, one short write per line, so lines from parallel
# jobs do not interleave), takes about a second, and writes a result into its output folder. The
# bench counts starts per file against the jobs Sluice recorded: a start beyond them is a duplicate.
# usage: job.sh FILE_ID OUTPUT_DIR RAW_PATH LOG
id=$1 out=$2 raw=$3 log=$4
printf 'start\t%s\t%s\t%s\n' "$id" "$$" "$out" >>"$log"
sleep 1
if [ -d "$raw" ]; then n=$(find "$raw" -type f | wc -l); else n=$(wc -c <"$raw"); fi
printf '%s\n' "$n" >"$out/result.txt"
printf 'end\t%s\t%s\t%s\n' "$id" "$$" "$out" >>"$log"
