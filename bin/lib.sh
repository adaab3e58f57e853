# Shared by bin/test, bin/run and .ci/run: picks a JDK 21+ and starts the local databases.
# Source it; it changes nothing but JAVA_HOME, PATH and (when they are down) the database servers.

latchkey_java_version() { # prints the feature version of the java in $1, or nothing
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}' | cut -d. -f1
}

latchkey_pick_jdk() {
  local candidate v
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    v=$(latchkey_java_version "$candidate")
    if [ -n "$v" ] && [ "$v" -ge 21 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      echo "latchkey: using JDK $v at $JAVA_HOME"
      return 0
    fi
  done
  echo "latchkey: no JDK 21 or newer found (looked at \$JAVA_HOME and /usr/lib/jvm); install one and set JAVA_HOME" >&2
  return 1
}

latchkey_wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "latchkey: $name did not come up within 60 s" >&2
  return 1
}

latchkey_start_databases() {
  if command -v pg_isready >/dev/null 2>&1; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
      echo "latchkey: starting PostgreSQL"
      if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
      fi
      latchkey_wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432 || return 1
    fi
  fi
  if [ -x /usr/sbin/mariadbd ]; then
    if ! mariadb-admin -uroot -h127.0.0.1 --connect-timeout=2 ping >/dev/null 2>&1; then
      echo "latchkey: starting MariaDB"
      start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
      latchkey_wait_for MariaDB mariadb-admin -uroot -h127.0.0.1 --connect-timeout=2 ping || return 1
    fi
  fi
}
