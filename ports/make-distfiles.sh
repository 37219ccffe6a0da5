#!/bin/sh
# Makes the two distfiles of ports/devel/procdesc from a git ref, and a distinfo for them:
#   procdesc-VERSION.tar.gz        the source tree at REF (git archive)
#   procdesc-VERSION-nuget.tar.gz  the .nupkg files the tool's build restores, as a folder feed,
#                                  so that the port's build phase needs no network
# Usage: ports/make-distfiles.sh [REF [OUTDIR]]    (REF defaults to HEAD, OUTDIR to ports/distfiles)
# Needs git, the .NET 10 SDK and network access (NuGet) on the machine that runs it; the
# archives are built the same way on FreeBSD (bsdtar, sha256) and Linux (GNU tar, sha256sum).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
ref=${1:-HEAD}
out=${2:-$here/distfiles}
version=$(sed -n 's/^DISTVERSION=[[:space:]]*//p' "$here/devel/procdesc/Makefile")
name=procdesc-$version

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Owner, group, order and times fixed, so the same inputs give the same archive.
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    pack() { tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - "$2"; }
else
    pack() { find "$1/$2" -exec touch -h -t 197001010000 {} + && tar -C "$1" --uid 0 --gid 0 --numeric-owner -cf - "$2"; }
fi
if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | cut -d' ' -f1; }
else
    sha256() { command sha256 -q "$1"; }
fi

# 1. The source tree: tracked files only.
git -C "$repo" archive --format=tar --prefix="$name/" "$ref" | gzip -n9 > "$out/$name.tar.gz"

# 2. The NuGet feed: restore the tool exactly as the port builds it (no runtime identifier, no
#    apphost) into an empty package cache, and keep every .nupkg that landed there.
mkdir "$work/src"
git -C "$repo" archive --format=tar "$ref" | tar -xf - -C "$work/src"
NUGET_PACKAGES="$work/packages" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    dotnet restore "$work/src/src/Procdesc.Cli/Procdesc.Cli.csproj" -p:UseAppHost=false
mkdir "$work/$name-nuget"
find "$work/packages" -name '*.nupkg' -exec cp {} "$work/$name-nuget/" \;
pack "$work" "$name-nuget" | gzip -n9 > "$out/$name-nuget.tar.gz"

# 3. The distinfo, in the form `make makesum` writes (DIST_SUBDIR is procdesc).
{
    echo "TIMESTAMP = $(date +%s)"
    for file in "$name.tar.gz" "$name-nuget.tar.gz"; do
        echo "SHA256 (procdesc/$file) = $(sha256 "$out/$file")"
        echo "SIZE (procdesc/$file) = $(wc -c < "$out/$file" | tr -d ' ')"
    done
} > "$out/distinfo"

echo "made $out/$name.tar.gz, $out/$name-nuget.tar.gz and $out/distinfo (from $(git -C "$repo" rev-parse "$ref"))"
ls "$work/$name-nuget"
