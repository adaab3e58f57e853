package dev.latchkey.client;

/** Chubby's session states, as the client sees them. */
public enum SessionState {
    /** The client's conservative lease has not run out: locks and cache may be trusted. */
    SAFE,
    /**
     * The client's lease ran out without a keep-alive answer: the session may or may not still be
     * alive. Locks report not held and the cache is off until the session is safe again.
     */
    JEOPARDY,
    /** The coordinator says the session is gone, or the grace period passed: nothing it held is valid. */
    EXPIRED
}
