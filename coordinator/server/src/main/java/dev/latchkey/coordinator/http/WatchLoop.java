package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.core.Tokens;
import dev.latchkey.coordinator.core.Watches;
import dev.latchkey.coordinator.store.Event;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One watcher, followed from its cursor until it goes away: the loop behind both the Server-Sent
 * Events stream ({@code GET /v1/watch}) and a watch on the session channel, which differ only in
 * how they write (a {@link Sink}). Every event the watcher may read is written once, in revision
 * order; a watcher that fell behind retention is told to resync; a quiet one hears a progress mark
 * (or a ping) every 1.5 s, so that its cursor keeps up and a dead connection is noticed.
 */
final class WatchLoop {

    /** Where the loop writes. Writes happen on the loop's thread only. */
    interface Sink {
        /** Whether the watcher went away (the loop then ends within one wait, at most 2 s). */
        boolean ended();

        void event(Event event);

        /** Nothing matched through {@code rev}, but everything up to it was examined. */
        void progress(long rev);

        /** Nothing to say, and no progress either: notices a client that went away. */
        void ping();

        void resync(long fromRev, long horizon, long currentRev);
    }

    /** What a watch follows: a subtree, or one node ({@code exact}). */
    record Target(String path, boolean exact) {

        /** From the request's {@code prefix} or {@code path} (not both); the whole tree when neither is given. */
        static Target of(String prefix, String path) {
            if (prefix != null && path != null) {
                throw new CoordinatorException(Problem.BAD_REQUEST, "give prefix or path, not both");
            }
            return path != null ? new Target(path, true) : new Target(prefix == null ? "/" : prefix, false);
        }
    }

    /** A watch that sent nothing for this long says something: a progress mark or a ping. */
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(1_500);
    private static final Duration WAIT = Duration.ofSeconds(2);
    private static final int BATCH = 500;

    private WatchLoop() {
    }

    /** Follows {@code target} for {@code who} from after revision {@code cursor} until the sink ends; a failure is thrown. */
    static void run(Coordinator coordinator, Access access, Tokens.Identity who, Target target, long cursor, Sink sink)
            throws InterruptedException {
        long lastSent = System.nanoTime();
        long lastId = cursor; // the newest revision the watcher has been sent
        while (!sink.ended()) {
            switch (coordinator.watches().next(target.path(), target.exact(), cursor, WAIT, BATCH)) {
                case Watches.Batch.Events e -> {
                    boolean sent = false;
                    for (Event ev : e.events()) {
                        if (!access.mayRead(who, ev.path())) {
                            continue; // under a narrower ACL than the watched path: the progress mark moves the cursor on
                        }
                        sink.event(ev);
                        lastSent = System.nanoTime();
                        lastId = ev.rev();
                        sent = true;
                    }
                    // when quiet, say something every 1.5 s (not on every unrelated commit)
                    if (!sent && System.nanoTime() - lastSent >= QUIET_NANOS) {
                        lastSent = System.nanoTime();
                        if (e.scannedTo() > lastId) {
                            lastId = e.scannedTo();
                            // a reconnect then resumes from here, not from far behind
                            sink.progress(e.scannedTo());
                        } else {
                            sink.ping();
                        }
                    }
                    cursor = e.scannedTo();
                }
                case Watches.Batch.Resync r -> {
                    lastSent = System.nanoTime();
                    lastId = r.currentRev();
                    sink.resync(r.fromRev(), r.horizon(), r.currentRev());
                    cursor = r.currentRev();
                }
            }
        }
    }
}
