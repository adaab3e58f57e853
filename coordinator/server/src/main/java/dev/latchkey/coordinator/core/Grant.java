package dev.latchkey.coordinator.core;

/**
 * A lock grant as the core knows it: which lock, in which mode, at which lock generation, to which
 * session. Its wire form (the client's sequencer text) belongs to the protocol layers.
 */
public record Grant(String path, Mode mode, long generation, String session) {

    /** Lock modes. */
    public enum Mode {
        EXCLUSIVE,
        SHARED
    }
}
