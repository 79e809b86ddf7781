# Sourced by ./mvnw before Maven starts. Elasticsearch 9 needs a JDK 21+; many machines default to an
# older java. Keep JAVA_HOME when it already points to 21+, else pick the newest JDK 21+ found in the
# usual install folders, else stop with one line that says what to do.
mvnw_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}
mvnw_jdk_ok() {
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  major=$(mvnw_java_major "$1")
  [ -n "$major" ] && [ "$major" -ge 21 ]
}
if [ -n "${JAVA_HOME-}" ] && mvnw_jdk_ok "$JAVA_HOME"; then
  :
else
  set +f  # mvnw runs with globbing off; the search below needs it
  mvnw_found=""
  mvnw_best=0
  for candidate in "${JAVA_HOME-}" "$(dirname "$(dirname "$(readlink -f "$(command -v javac 2>/dev/null || echo /nonexistent)")")")" \
      /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* \
      /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -n "$candidate" ] && mvnw_jdk_ok "$candidate" || continue
    major=$(mvnw_java_major "$candidate")
    if [ "$major" -gt "$mvnw_best" ]; then mvnw_best=$major; mvnw_found=$candidate; fi
  done
  if [ -z "$mvnw_found" ]; then
    echo "ERROR: no JDK 21 or newer found (Elasticsearch 9 needs one): install one and set JAVA_HOME to it, e.g. JAVA_HOME=/path/to/jdk-21 ./mvnw ..." >&2
    exit 1
  fi
  set -f
  JAVA_HOME=$mvnw_found
  export JAVA_HOME
fi
