package dev.latchkey.client;

/**
 * One event of the coordinator's log. {@code kind} is one of contents-modified, child-added,
 * child-removed, node-deleted, lock-acquired, lock-released, conflicting-lock-request,
 * session-expired; or {@code resync} when the watcher fell behind the log's retention and must
 * re-read the state it cares about.
 */
public record WatchEvent(long rev, String path, String kind, String detail, String session) {

    public boolean isResync() {
        return kind.equals("resync");
    }
}
