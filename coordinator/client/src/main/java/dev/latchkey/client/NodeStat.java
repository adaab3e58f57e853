package dev.latchkey.client;

/** A node's metadata, as the coordinator reports it. */
public record NodeStat(String path, boolean directory, boolean ephemeral, String ephemeralSession, long instance,
        long contentGeneration, long lockGeneration, long aclGeneration, long checksum, long createdRevision,
        long modifiedRevision, int length) {
}
