package dev.latchkey.coordinator.store;

/**
 * One entry of the event log. Revisions are gap-free and become visible in order: every writing
 * transaction takes the revision counter's row lock first and holds it until it commits.
 */
public record Event(long rev, String path, Kind kind, String detail, String session, long createdMillis) {

    /** What happened. */
    public enum Kind {
        /** A file's contents were written (or the file was created). */
        CONTENTS_MODIFIED,
        /** A child was added to the directory at {@code path}; {@code detail} is its name. */
        CHILD_ADDED,
        /** A child was removed from the directory at {@code path}; {@code detail} is its name. */
        CHILD_REMOVED,
        /** The node at {@code path} was deleted. */
        NODE_DELETED,
        /** The lock at {@code path} was granted; {@code detail} is the mode and generation. */
        LOCK_ACQUIRED,
        /** The lock at {@code path} was released (or taken from an expired session). */
        LOCK_RELEASED,
        /** Someone queued for the lock at {@code path} that others hold. */
        CONFLICTING_LOCK_REQUEST,
        /** The session in {@code session} expired; {@code path} is "/". */
        SESSION_EXPIRED,
        /** The ACL names the node at {@code path} carries were set; {@code detail} is its new ACL generation. */
        ACL_CHANGED
    }
}
