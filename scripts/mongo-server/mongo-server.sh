#!/usr/bin/env bash
# Starts the local database (see DurableMongoServer.java); installed as .tools/bin/mongo-server by setup-tools.sh.
# Arguments: --file PATH [--host HOST] [--port PORT] [--fsync]. MONGO_SERVER_JAVA_OPTS replaces the JVM's options.
set -euo pipefail
home="$(cd "$(dirname "$(readlink -f "$0")")/../mongo-server" && pwd)"
# A small serial collector: the server's heap is a cache of the file, and a parallel collector would take both cores.
# Only the quick compiler (C1): C2's compilations cost as much CPU as the work itself over a test run or a benchmark,
# and at the local stack's load C1's code is not measurably slower (bench:databases, about half the CPU per delivery).
read -r -a java_opts <<< "${MONGO_SERVER_JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xms32m -Xmx768m -XX:+ExitOnOutOfMemoryError}"
exec java "${java_opts[@]}" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true \
  -cp "$home/durable-mongo-server.jar:$home/lib/*" engine.mongo.DurableMongoServer "$@"
