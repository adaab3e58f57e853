package dev.latchkey.toolkit.fencing;

/**
 * A number that grows each time a lock changes hands, so a write from an old holder can be told
 * from a write by the current one. Any source will do: a coordinator sequencer's generation, a
 * database sequence, a ZooKeeper zxid.
 */
@FunctionalInterface
public interface FencingToken {

    long value();

    static FencingToken of(long value) {
        return () -> value;
    }
}
