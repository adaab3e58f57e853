package dev.latchkey.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.TestTemplate;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test once per database, each run in a fresh database (or schema) of its own
 * that is dropped afterwards. Declare a {@link TestDatabase} parameter to reach it.
 *
 * <p>Which servers are used, and how they are reached, comes from environment variables whose
 * defaults are the local servers; see {@link TestSettings}. A server that cannot be reached is
 * started with Testcontainers when Docker is present; otherwise the run is reported as skipped
 * with the reason, except under {@code CI=true}, where it fails and names the database.
 */
@Documented
@Target({ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@TestTemplate
@ExtendWith(DatabaseTestExtension.class)
public @interface DatabaseTest {

    /** Restricts the run to these databases; empty means every configured one. */
    Database[] only() default {};
}
