package dev.latchkey.toolkit.fencing;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.pessimistic.LockClause;
import dev.latchkey.toolkit.pessimistic.LockMode;
import dev.latchkey.toolkit.pessimistic.WaitPolicy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Objects;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.impl.DSL;

/**
 * Checks a coordinator sequencer inside the caller's own transaction, when the coordinator's store
 * shares the caller's database. The check takes a share lock on the lock-holder row, so the
 * coordinator cannot release or reap the lock (and grant it to someone else) before the caller's
 * transaction ends: what the caller writes in that transaction is written under the lock.
 *
 * <pre>{@code
 * c.setAutoCommit(false);
 * if (!CoordinatorFence.holds(c, kind, s.path(), s.mode().name(), s.generation(), s.session())) {
 *     c.rollback();   // the lock was lost: do not write
 * }
 * ... writes ...
 * c.commit();
 * }</pre>
 */
public final class CoordinatorFence {

    private CoordinatorFence() {
    }

    /**
     * Whether the session still holds the lock at {@code path} with this mode and generation, and its
     * lease has not run out by the database clock. Needs a transaction (auto-commit off).
     */
    public static boolean holds(Connection connection, DatabaseKind kind, String path, String mode, long generation, String session)
            throws SQLException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(session, "session");
        if (connection.getAutoCommit()) {
            throw new IllegalStateException("the check must run in the caller's transaction: auto-commit is on");
        }
        DSLContext dsl = DSL.using(kind.jooqDialect());
        Field<Object> p = DSL.field(DSL.name("path"));
        Field<Object> s = DSL.field(DSL.name("session_id"));
        Field<Object> m = DSL.field(DSL.name("mode"));
        Field<Object> g = DSL.field(DSL.name("generation"));
        String holder = dsl.render(dsl.select(g).from(DSL.table(DSL.name("lk_lock_holder")))
                .where(p.eq(DSL.param("p", (Object) null))).and(s.eq(DSL.param("s", (Object) null)))
                .and(m.eq(DSL.param("m", (Object) null))).and(g.eq(DSL.param("g", (Object) null))))
                + LockClause.render(kind, LockMode.SHARE, WaitPolicy.databaseDefault());
        try (PreparedStatement ps = connection.prepareStatement(holder)) {
            ps.setString(1, path);
            ps.setString(2, session);
            ps.setString(3, mode.toUpperCase(Locale.ROOT));
            ps.setLong(4, generation);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
            }
        }
        String live = dsl.render(dsl.select(DSL.field(DSL.name("id"))).from(DSL.table(DSL.name("lk_session")))
                .where(DSL.field(DSL.name("id")).eq(DSL.param("i", (Object) null)))
                .and(DSL.field(DSL.name("expires_ms")).ge(DSL.field(kind.nowMillisExpression(), Long.class))));
        try (PreparedStatement ps = connection.prepareStatement(live)) {
            ps.setString(1, session);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }
}
