#!/usr/bin/env bash
# Fetches the ORAS CLI for the end-to-end suite: Debian trixie's `oras` package (a static Go binary),
# from the Debian mirror this system already uses, without changing the system's apt sources.
# Unpacks it into .cache/tools/oras-root; the suite runs .cache/tools/oras-root/usr/bin/oras.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$PWD/.cache/tools"
ORAS="$WORK/oras-root/usr/bin/oras"
if [ -x "$ORAS" ]; then "$ORAS" version | sed -n 1p; exit 0; fi
A="$WORK/apt-trixie"
mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$A/etc/sources.list.d" "$A/etc/preferences.d" "$A/debs"
touch "$A/state/status"
MIRROR=$(grep -h -m1 -E '^URIs: .*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true)
[ -n "$MIRROR" ] || MIRROR=$(grep -h -m1 -E '^deb .*/debian/? ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' || true)
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$A/etc/sources.list"
printf '%s\n' "Dir::State \"$A/state\"; Dir::State::status \"$A/state/status\"; Dir::Cache \"$A/cache\";" \
  "Dir::Etc::SourceList \"$A/etc/sources.list\"; Dir::Etc::SourceParts \"$A/etc/sources.list.d\";" \
  "Dir::Etc::Preferences \"$A/etc/preferences\"; Dir::Etc::PreferencesParts \"$A/etc/preferences.d\";" > "$A/apt.conf"
(cd "$A/debs" && APT_CONFIG="$A/apt.conf" apt-get update -qq && APT_CONFIG="$A/apt.conf" apt-get download -qq oras)
rm -rf "$WORK/oras-root"
dpkg-deb -x "$A"/debs/oras_*.deb "$WORK/oras-root"
"$ORAS" version | sed -n 1p
