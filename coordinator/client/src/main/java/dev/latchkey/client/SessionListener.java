package dev.latchkey.client;

/** Hears a session's state changes; called on the session's keep-alive thread, so keep it short. */
public interface SessionListener {

    default void onJeopardy() {
    }

    default void onSafe() {
    }

    default void onExpired() {
    }
}
