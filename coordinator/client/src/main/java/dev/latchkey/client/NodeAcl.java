package dev.latchkey.client;

import java.util.Map;

/**
 * The ACL in force at a path: for each permission (read, write, lock, admin) the name of the ACL
 * file in {@code /acl} that grants it, and the path that set it; a {@code null} name means the
 * default (everyone for read, write and lock; admin identities only for admin).
 */
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
public record NodeAcl(String path, long aclGeneration, Map<String, Entry> acl) {

    /** One permission's ACL name and where it was set ({@code null}s: the default). */
    @com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
    public record Entry(String acl, String setAt) {
    }

    /** The ACL name in force for a permission ("read", "write", "lock" or "admin"), or {@code null} for the default. */
    public String name(String permission) {
        Entry e = acl.get(permission);
        return e == null ? null : e.acl();
    }
}
