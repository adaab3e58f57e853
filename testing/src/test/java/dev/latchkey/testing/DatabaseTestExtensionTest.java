package dev.latchkey.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

class DatabaseTestExtensionTest {

    /** Names of databases seen by {@link Fixture}, keyed by engine. */
    static final Map<Database, String> SEEN = new ConcurrentHashMap<>();

    @DatabaseTest
    void eachRunGetsAnEmptyDatabaseOfItsOwn(TestDatabase db) throws SQLException {
        try (Connection c = db.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE probe (id INT PRIMARY KEY)");
            s.execute("INSERT INTO probe (id) VALUES (1)");
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM probe")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(1);
            }
        }
        // a second database in the same JVM must not see this table
        String previous = SEEN.put(db.database(), db.name());
        assertThat(previous).isNotEqualTo(db.name());
    }

    @DatabaseTest
    void theSameTableNameIsFreeAgainInTheNextRun(TestDatabase db) throws SQLException {
        try (Connection c = db.connect(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE probe (id INT PRIMARY KEY)");
        }
    }

    @Test
    void displayNamesCarryTheDatabaseName() {
        Events tests = runFixture(Map.of()).testEvents();
        assertThat(tests.started().stream().map(e -> e.getTestDescriptor().getDisplayName()))
                .contains("[PostgreSQL]", "[MariaDB]", "[H2]");
    }

    @Test
    void anUnreachableDatabaseIsSkippedWithTheReasonOutsideCi() {
        Events tests = runFixture(Map.of("CI", "false", "LATCHKEY_TEST_DATABASES", "mariadb",
                "LATCHKEY_TEST_MARIADB_URL", "jdbc:mysql://127.0.0.1:1/")).testEvents();
        assertThat(tests.skipped().count()).isEqualTo(1);
        String reason = tests.skipped().stream().findFirst().flatMap(Event::getPayload)
                .map(Object::toString).orElse("");
        assertThat(reason).contains("MariaDB skipped", "127.0.0.1:1");
    }

    @Test
    void anUnreachableDatabaseFailsUnderCiAndIsNamed() {
        Events tests = runFixture(Map.of("CI", "true", "LATCHKEY_TEST_DATABASES", "mariadb",
                "LATCHKEY_TEST_MARIADB_URL", "jdbc:mysql://127.0.0.1:1/")).testEvents();
        assertThat(tests.failed().count()).isEqualTo(1);
        Throwable failure = tests.failed().stream().findFirst().orElseThrow()
                .getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow()
                .getThrowable().orElseThrow();
        assertThat(failure).hasMessageContaining("MariaDB is unreachable").hasMessageContaining("127.0.0.1:1");
    }

    private static org.junit.platform.testkit.engine.EngineExecutionResults runFixture(Map<String, String> properties) {
        Map<String, String> saved = new java.util.HashMap<>();
        properties.forEach((k, v) -> saved.put(k, System.setProperty(k, v)));
        try {
            System.setProperty("latchkey.fixture", "true");
            return EngineTestKit.engine("junit-jupiter").selectors(selectClass(Fixture.class)).execute();
        } finally {
            System.clearProperty("latchkey.fixture");
            saved.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }

    /** Runs only inside {@link EngineTestKit}, driven by the tests above. */
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "latchkey.fixture", matches = "true")
    static class Fixture {
        @DatabaseTest
        void runs(TestDatabase db) throws SQLException {
            try (Connection c = db.connect()) {
                assertThat(c.isValid(2)).isTrue();
            }
        }
    }
}
