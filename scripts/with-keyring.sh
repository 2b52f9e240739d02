#!/bin/sh
# Runs a command with a private D-Bus session and an unlocked gnome-keyring,
# so go-keyring talks to a real Secret Service without touching the user's.
set -eu
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install gnome-keyring dbus-x11" >&2; exit 1; }
done
KR=$(mktemp -d)
trap 'rm -rf "$KR"' EXIT
mkdir -m700 "$KR/run" "$KR/data"
XDG_DATA_HOME=$KR/data XDG_RUNTIME_DIR=$KR/run dbus-run-session -- \
  sh -c 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"' sh "$@"
