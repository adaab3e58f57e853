package dev.latchkey.client;

import java.nio.charset.StandardCharsets;

/** A file's bytes and the stat they were read with. */
public record FileContent(byte[] bytes, NodeStat stat) {

    public String text() {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    public long generation() {
        return stat.contentGeneration();
    }
}
