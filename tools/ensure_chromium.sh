#!/usr/bin/env bash
# The browser tier's browser (tests/browser, ADR 0022): Debian's `chromium` package, driven by
# Playwright. Playwright's own browser download is never used. Installs the package with apt-get
# when it is missing and we are root; otherwise says why the browser tests will be skipped.
# Exits non-zero only when an install it could attempt failed. Idempotent: a found browser costs
# one `command -v`.
set -euo pipefail

# The executables the tests look for, in this order (tests/support/browser.py).
for browser in ${REFERRALS_CHROMIUM:-/usr/lib/chromium/chromium chromium chromium-browser}; do
	if found=$(command -v "$browser"); then
		echo "chromium: $found ($("$found" --version 2>/dev/null || echo 'version unknown'))"
		exit 0
	fi
done

skip() {
	echo "SKIPPED browser tests (tests/browser): $1"
	echo "        Install Debian's chromium (apt-get install chromium) or set REFERRALS_CHROMIUM to a"
	echo "        Chromium executable; tests/browser is skipped until one is found."
	exit 0
}

[ -n "${REFERRALS_CHROMIUM:-}" ] && skip "REFERRALS_CHROMIUM=$REFERRALS_CHROMIUM is not an executable."
[ "$(id -u)" -eq 0 ] || skip "chromium is missing and installing it needs root (this is uid $(id -u))."
command -v apt-get >/dev/null || skip "chromium is missing and there is no apt-get to install it with."

echo "chromium is missing: installing Debian's chromium package with apt-get (once, ~20 s)"
start=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
	cat "$log"
	echo "FAILED to install chromium with apt-get (output above)." >&2
	exit 1
fi
echo "chromium: $(command -v chromium) ($(chromium --version 2>/dev/null)), installed in $((SECONDS - start))s"
