package dev.latchkey.client;

/**
 * A lock held by a session. It carries the grant's {@link Sequencer} and says whether the lock
 * may still be trusted: not after release, not while the session is in jeopardy, never after it
 * expired. Closing it releases the lock.
 */
public final class Lease implements AutoCloseable {

    private final Session session;
    private final Sequencer sequencer;
    private volatile boolean released;

    Lease(Session session, Sequencer sequencer) {
        this.session = session;
        this.sequencer = sequencer;
    }

    public Sequencer sequencer() {
        return sequencer;
    }

    public String path() {
        return sequencer.path();
    }

    /** True while the lock is held and the session is safe. */
    public boolean isHeld() {
        return !released && session.state() == SessionState.SAFE;
    }

    /** Releases the lock (idempotent). A lock of an expired session is already gone. */
    public void release() {
        if (released) {
            return;
        }
        released = true;
        session.release(this);
    }

    @Override
    public void close() {
        release();
    }

    @Override
    public String toString() {
        return "Lease[" + sequencer.encode() + (isHeld() ? ", held]" : ", not held]");
    }
}
