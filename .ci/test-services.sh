#!/usr/bin/env bash
# What the tests need beyond Python packages: a PostgreSQL server for the store tests and
# headless Chromium for the report test. Prints `export ...` lines for `eval`:
#
#   eval "$(.ci/test-services.sh)"
#
# As root with apt-get (CI, a fresh Debian machine) it installs what is missing, so the
# tests that need these services run and fail loudly if they are broken. Elsewhere it uses
# what is installed; what it cannot provide is left unset and those tests are skipped with
# a message saying how to run them. Messages go to stderr.
set -uo pipefail
cd "$(dirname "$0")/.."

say() { echo "test-services.sh: $*" >&2; }
can_install() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; }

chromium="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$chromium" ] && can_install; then
    say "installing Chromium (Debian package chromium) for the report test"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
    chromium="$(command -v chromium || true)"
fi
if [ -n "$chromium" ]; then
    echo "export CENTROIDS_TEST_CHROMIUM=$chromium"
else
    say "no Chromium: the browser test of the HTML report will be skipped"
fi

if postgres_line="$(.ci/postgres.sh)"; then
    echo "$postgres_line"
else
    say "no PostgreSQL server: the PostgreSQL store tests will be skipped"
fi
