package dev.latchkey.toolkit.pessimistic;

/** How strongly a row is locked. */
public enum LockMode {
    /** {@code FOR UPDATE}: excludes every other lock on the row. */
    UPDATE,
    /**
     * {@code FOR SHARE} ({@code LOCK IN SHARE MODE} on MariaDB): other sharers may hold it too. H2 has
     * no shared row lock, so there a share request takes an exclusive lock (stronger, never weaker).
     */
    SHARE
}
