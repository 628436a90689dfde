#!/usr/bin/env bash
# Size: libnopyc.so stripped of every symbol table and debug section
# (strip --strip-all), what an installed copy costs on disk and maps.
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$BENCH_DIR/lib.sh"
bench_begin "Size: libnopyc.so"

command -v strip >/dev/null || bench_skip "strip not found (Debian: apt-get install binutils)"
strip --strip-all -o "$W/stripped.so" "$BENCH_LIB" || die "strip failed"
stripped=$(stat -c %s "$W/stripped.so") || die "cannot stat the stripped copy"
unstripped=$(stat -c %s "$BENCH_LIB") || die "cannot stat $BENCH_LIB"
bench_value "$BENCH_NAME.stripped_bytes" "$stripped"
bench_value "$BENCH_NAME.unstripped_bytes" "$unstripped"
bench_columns "file" "bytes"
bench_row "libnopyc.so stripped" "$stripped"
bench_row "libnopyc.so as built (unstripped)" "$unstripped"
