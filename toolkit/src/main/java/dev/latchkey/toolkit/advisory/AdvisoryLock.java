package dev.latchkey.toolkit.advisory;

import java.sql.SQLException;

/** A session-scoped advisory lock that is held until {@link #close()} (or the connection closes). */
public final class AdvisoryLock implements AutoCloseable {

    interface Releaser {
        boolean release() throws SQLException;
    }

    private final String name;
    private final Releaser releaser;
    private boolean released;

    AdvisoryLock(String name, Releaser releaser) {
        this.name = name;
        this.releaser = releaser;
    }

    public String name() {
        return name;
    }

    /**
     * Releases the lock; returns whether the database still had it for this session (false when the
     * connection was lost, or the lock was already released).
     */
    public synchronized boolean release() throws SQLException {
        if (released) {
            return false;
        }
        released = true;
        return releaser.release();
    }

    @Override
    public void close() throws SQLException {
        release();
    }
}
