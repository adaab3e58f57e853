package dev.latchkey.coordinator.clienttest;

import dev.latchkey.client.SessionListener;
import dev.latchkey.client.SessionState;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records the state changes a session reports, in order. */
public final class StateRecorder implements SessionListener {
    public final List<SessionState> states = new CopyOnWriteArrayList<>();

    @Override
    public void onJeopardy() {
        states.add(SessionState.JEOPARDY);
    }

    @Override
    public void onSafe() {
        states.add(SessionState.SAFE);
    }

    @Override
    public void onExpired() {
        states.add(SessionState.EXPIRED);
    }
}
