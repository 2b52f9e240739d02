#!/bin/sh
# Generates the shell completions and man pages that release archives carry.
set -eu
rm -rf completions manpages
mkdir -p completions manpages
for sh in bash zsh fish powershell; do
  go run ./cmd/authdev completion "$sh" > "completions/authdev.$sh"
done
go run ./cmd/authdev man manpages
gzip -9n manpages/*.1
