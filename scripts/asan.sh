#!/usr/bin/env bash
# Builds the native addon with AddressSanitizer (and UBSan) into a directory of
# its own and runs scripts/asan-stress.mjs against it under an unmodified node
# with the ASan runtime preloaded. The main build (build/Release) is never
# touched: the sources are built from a scratch copy of binding.gyp + native/.
#
#   scripts/asan.sh            build (if needed) and run the stress
#   scripts/asan.sh --rebuild  rebuild first
#   ASAN_ROUNDS=N              scale the stress (default 1)
#   PAGEWISE_ASAN_DIR=DIR      where to build (default: $TMPDIR/pagewise-asan)
#
# Exit status: 0 clean; 1 the stress failed its own checks; 2 a sanitizer
# report (details on stderr and in $DIR/asan.log.*); 3 the build failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${PAGEWISE_ASAN_DIR:-${TMPDIR:-/tmp}/pagewise-asan}"
NODE="${NODE:-$(command -v node)}"

if [[ "$(uname -s)" != "Linux" ]]; then
  echo "asan.sh: Linux only (LD_PRELOAD of libasan)" >&2
  exit 3
fi

LIBASAN="$(gcc -print-file-name=libasan.so)"
LIBUBSAN="$(gcc -print-file-name=libubsan.so)"
if [[ ! -e "$LIBASAN" ]]; then
  echo "asan.sh: gcc has no libasan.so (install the gcc package's sanitizer runtime, e.g. libasan8)" >&2
  exit 3
fi

ADDON="$DIR/build/Release/pagewise.node"
stamp_of() { cat "$ROOT/binding.gyp" "$ROOT"/native/* | sha256sum | cut -d' ' -f1; }

if [[ "${1:-}" == "--rebuild" || ! -f "$ADDON" || "$(cat "$DIR/.sources" 2>/dev/null)" != "$(stamp_of)" ]]; then
  echo "asan.sh: building an ASan+UBSan addon in $DIR" >&2
  rm -rf "$DIR/native" "$DIR/build"
  mkdir -p "$DIR"
  cp "$ROOT/binding.gyp" "$DIR/"
  cp -r "$ROOT/native" "$DIR/native"
  # binding.gyp asks node for node-addon-api's include dir from its own folder.
  ln -sfn "$ROOT/node_modules" "$DIR/node_modules"
  # Flags from the environment come after binding.gyp's own (-O3), so -O1 wins.
  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
  # Headers: the nodedir npm is configured with (this machine presets /usr,
  # offline), else node's own include dir, else node-gyp's download.
  NODEDIR="${npm_config_nodedir:-$(cd "$ROOT" && npm config get nodedir 2>/dev/null || true)}"
  if [[ -z "$NODEDIR" || "$NODEDIR" == "undefined" || "$NODEDIR" == "null" ]]; then
    NODEDIR="$(dirname "$(dirname "$NODE")")"
    [[ -f "$NODEDIR/include/node/node_api.h" ]] || NODEDIR=""
  fi
  GYP_ARGS=(rebuild --directory "$DIR")
  [[ -n "$NODEDIR" ]] && GYP_ARGS+=(--nodedir "$NODEDIR")
  if ! (cd "$DIR" && CFLAGS="$SAN" CXXFLAGS="$SAN" LDFLAGS="-fsanitize=address,undefined" \
        "$NODE" "$ROOT/node_modules/node-gyp/bin/node-gyp.js" "${GYP_ARGS[@]}" >"$DIR/build.log" 2>&1); then
    cat "$DIR/build.log" >&2
    echo "asan.sh: the ASan build failed (log above)" >&2
    exit 3
  fi
  if [[ "$(nm -D "$ADDON" | grep -c __asan_init || true)" == "0" ]]; then
    echo "asan.sh: $ADDON has no ASan instrumentation: the flags did not reach the compiler" >&2
    exit 3
  fi
  stamp_of >"$DIR/.sources"
fi

# Node leaks by design at exit: no leak checking. Node and V8 install their own
# SIGSEGV handling; leave SIGBUS to the addon's handler (the truncation case).
# Reports go to stderr and to asan.log.<pid>.
rm -f "$DIR"/asan.log.*
export ASAN_OPTIONS="detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_abort=1:allow_user_segv_handler=1:abort_on_error=0:exitcode=86:print_summary=1:log_path=$DIR/asan.log:log_to_syslog=0:detect_stack_use_after_return=0:verify_asan_link_order=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86:log_path=$DIR/asan.log"
PRELOAD="$LIBASAN"
[[ -e "$LIBUBSAN" ]] && PRELOAD="$PRELOAD:$LIBUBSAN"

echo "asan.sh: running the native stress with $ADDON" >&2
set +e
LD_PRELOAD="$PRELOAD" PAGEWISE_TEST_HOOKS=1 PAGEWISE_ADDON="$ADDON" "$NODE" --expose-gc "$ROOT/scripts/asan-stress.mjs"
status=$?
set -e

reports=("$DIR"/asan.log.*)
if [[ -e "${reports[0]}" ]]; then
  echo "asan.sh: sanitizer reports:" >&2
  cat "$DIR"/asan.log.* >&2
  exit 2
fi
if [[ $status -eq 86 ]]; then
  echo "asan.sh: a sanitizer stopped the run (exit 86): its report is above" >&2
  exit 2
fi
if [[ $status -ne 0 ]]; then
  echo "asan.sh: the stress failed (exit $status)" >&2
  exit 1
fi
echo "asan.sh: clean: no AddressSanitizer or UndefinedBehaviorSanitizer reports" >&2
