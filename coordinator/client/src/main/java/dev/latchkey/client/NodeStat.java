package dev.latchkey.client;

/** A node's metadata, as the coordinator reports it (members a newer coordinator adds are ignored). */
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
public record NodeStat(String path, boolean directory, boolean ephemeral, String ephemeralSession, long instance,
        long contentGeneration, long lockGeneration, long aclGeneration, long checksum, long createdRevision,
        long modifiedRevision, int length) {
}
