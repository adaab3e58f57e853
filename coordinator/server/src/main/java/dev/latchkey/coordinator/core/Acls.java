package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.store.Event;
import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.core.Tokens.Identity;
import dev.latchkey.coordinator.store.Store;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Access control lists on nodes, as Chubby keeps them. A node may name, for each of four
 * permissions, an ACL: the file {@code /acl/NAME}, whose lines are the identities it admits
 * ({@code *} admits every authenticated identity). A permission a node does not name is inherited
 * from the nearest ancestor that names one; where no ancestor does, the default applies:
 *
 * <ul>
 *   <li>read, write and lock: every identity (as before ACLs existed);</li>
 *   <li>admin (changing ACLs), and write and lock anywhere under {@code /acl}: admin identities
 *       only, so nobody edits the lists that grant them rights unless an admin allowed it.</li>
 * </ul>
 *
 * <p>Admin identities pass every check, as ZooKeeper's super user does; on a coordinator without
 * authentication everyone is the one anonymous admin, so nothing here costs anything there.
 *
 * <p>The ACL rows and the ACL files are small, and every check reads them from memory: a coordinator
 * re-reads them when it commits a change to either, and otherwise at most {@link #CACHE_MILLIS}
 * after another coordinator did (the same bound as a revoked token's).
 */
public final class Acls {

    /** What an ACL grants. */
    public enum Permission {
        READ, WRITE, LOCK, ADMIN;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The directory whose files are the ACLs. */
    public static final String DIR = "/acl";

    /** How long another coordinator's ACL change may go unseen here. */
    public static final long CACHE_MILLIS = 2_000;

    /** The ACL names a node sets itself, by permission; a permission it does not set is inherited. */
    public record Names(Map<Permission, String> byPermission) {
        public Names {
            byPermission = Map.copyOf(byPermission);
        }

        public String get(Permission p) {
            return byPermission.get(p);
        }
    }

    /** One permission's effective ACL at a path: its name and the path that set it ({@code null} for the default). */
    public record Entry(String acl, String setAt) {
        public boolean isDefault() {
            return acl == null;
        }
    }

    /** The effective ACL of a path, with the generation of the path's own ACL. */
    public record Effective(String path, long aclGeneration, Map<Permission, Entry> entries) {
    }

    /** A refusal that names the permission missing and the ACL that withheld it. */
    public static final class Denied extends CoordinatorException {
        private final Permission permission;
        private final String acl;

        Denied(Permission permission, String acl, String path, String who) {
            super(Problem.FORBIDDEN, "'" + who + "' lacks " + permission.label() + " permission on '" + path + "' ("
                    + (acl == null ? "only admin identities have it there" : "granted by the ACL " + DIR + "/" + acl) + ")");
            this.permission = permission;
            this.acl = acl;
        }

        public Permission permission() {
            return permission;
        }

        /** The ACL that was consulted, or {@code null} where only admins hold the permission. */
        public String acl() {
            return acl;
        }
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

    private record Snapshot(Map<String, Map<Permission, String>> rows, Map<String, Long> generations, Map<String, Set<String>> members,
            long loadedAt) {
    }

    private final Store store;
    private volatile Snapshot snapshot;

    Acls(Store store) {
        this.store = store;
    }

    /** Refuses ({@link Denied}) an identity that lacks {@code permission} on {@code path}. */
    public void require(Identity who, String path, Permission permission) {
        if (who.admin()) {
            return;
        }
        Snapshot s = current();
        Entry entry = entry(s, path, permission);
        if (entry.isDefault()) {
            if (permission == Permission.ADMIN || (permission != Permission.READ && underAclDir(path))) {
                throw new Denied(permission, null, path, who.name());
            }
            return;
        }
        Set<String> members = s.members().getOrDefault(entry.acl(), Set.of());
        if (!members.contains(who.name()) && !members.contains("*")) {
            throw new Denied(permission, entry.acl(), path, who.name());
        }
    }

    /** Whether an identity may read {@code path} (for filtering what a watch sends). */
    public boolean mayRead(Identity who, String path) {
        if (who.admin()) {
            return true;
        }
        try {
            require(who, path, Permission.READ);
            return true;
        } catch (Denied e) {
            return false;
        }
    }

    /** The ACL in force at {@code path}, permission by permission, and where each comes from. */
    public Effective effective(String path) {
        Paths.require(path);
        Snapshot s = current();
        Map<Permission, Entry> entries = new EnumMap<>(Permission.class);
        for (Permission p : Permission.values()) {
            entries.put(p, entry(s, path, p));
        }
        return new Effective(path, s.generations().getOrDefault(path, 0L), entries);
    }

    /**
     * Sets the ACL names a node carries (a {@code null} name inherits), moving its ACL generation on;
     * the node must exist ("/" always does). Callers check the admin permission first.
     */
    public Effective set(String path, Names names) {
        Paths.require(path);
        names.byPermission().values().forEach(Acls::requireName);
        store.write("set-acl", tx -> {
            var dsl = tx.dsl();
            long generation;
            if (path.equals("/")) {
                Long current = dsl.select(ACL_GEN).from(ACL).where(ACL_PATH.eq(path)).forUpdate().fetchOne(ACL_GEN);
                generation = (current == null ? 0 : current) + 1;
            } else {
                Long current = dsl.select(NODE_ACL_GEN).from(NODE).where(NODE_PATH.eq(path)).forUpdate().fetchOne(NODE_ACL_GEN);
                if (current == null) {
                    throw new CoordinatorException(Problem.NODE_NOT_FOUND, "no node at '" + path + "'");
                }
                generation = current + 1;
                dsl.update(NODE).set(NODE_ACL_GEN, generation).where(NODE_PATH.eq(path)).execute();
            }
            dsl.deleteFrom(ACL).where(ACL_PATH.eq(path)).execute();
            dsl.insertInto(ACL, ACL_PATH, ACL_READ, ACL_WRITE, ACL_LOCK, ACL_ADMIN, ACL_GEN)
                    .values(path, names.get(Permission.READ), names.get(Permission.WRITE), names.get(Permission.LOCK),
                            names.get(Permission.ADMIN), generation)
                    .execute();
            tx.emit(path, Event.Kind.ACL_CHANGED, Long.toString(generation), null);
            return null;
        });
        snapshot = null;
        return effective(path);
    }

    /** Forgets what was read, so the next check reads the store (after this coordinator committed an ACL change). */
    void onCommitted(List<Event> events) {
        if (snapshot == null) {
            return; // nothing read yet (or already forgotten): the writer's commit path pays nothing, as without authentication
        }
        for (Event e : events) {
            if (e.kind() == Event.Kind.ACL_CHANGED || e.kind() == Event.Kind.NODE_DELETED || underAclDir(e.path())) {
                snapshot = null;
                return;
            }
        }
    }

    static boolean underAclDir(String path) {
        return path.equals(DIR) || path.startsWith(DIR + "/");
    }

    private static void requireName(String name) {
        if (name != null && !NAME.matcher(name).matches()) {
            throw new CoordinatorException(Problem.BAD_REQUEST,
                    "an ACL name is the name of a file in /acl: 1-100 letters, digits, '.', '_' or '-', not '" + name + "'");
        }
    }

    private static Entry entry(Snapshot s, String path, Permission p) {
        for (String at = path; ; at = Paths.parent(at)) {
            Map<Permission, String> row = s.rows().get(at);
            if (row != null && row.get(p) != null) {
                return new Entry(row.get(p), at);
            }
            if (at.equals("/")) {
                return new Entry(null, null);
            }
        }
    }

    private Snapshot current() {
        Snapshot s = snapshot;
        if (s != null && System.currentTimeMillis() - s.loadedAt() < CACHE_MILLIS) {
            return s;
        }
        long started = System.currentTimeMillis();
        Snapshot loaded = store.read(c -> {
            var dsl = store.dsl(c);
            Map<String, Map<Permission, String>> rows = new HashMap<>();
            Map<String, Long> generations = new HashMap<>();
            dsl.select(ACL_PATH, ACL_READ, ACL_WRITE, ACL_LOCK, ACL_ADMIN, ACL_GEN).from(ACL).fetch().forEach(r -> {
                Map<Permission, String> row = new EnumMap<>(Permission.class);
                putIfSet(row, Permission.READ, r.value2());
                putIfSet(row, Permission.WRITE, r.value3());
                putIfSet(row, Permission.LOCK, r.value4());
                putIfSet(row, Permission.ADMIN, r.value5());
                rows.put(r.value1(), row);
                generations.put(r.value1(), r.value6());
            });
            Map<String, Set<String>> members = new HashMap<>();
            dsl.select(NODE_PATH, NODE_CONTENT).from(NODE).where(NODE_PARENT.eq(DIR)).and(NODE_IS_DIR.isFalse()).fetch()
                    .forEach(r -> members.put(Paths.name(r.value1()), parseMembers(r.value2())));
            return new Snapshot(rows, generations, members, started);
        });
        snapshot = loaded;
        return loaded;
    }

    private static void putIfSet(Map<Permission, String> row, Permission p, String name) {
        if (name != null) {
            row.put(p, name);
        }
    }

    /** An ACL file's identities: one per line (or separated by spaces or commas); '#' starts a comment. */
    static Set<String> parseMembers(byte[] content) {
        if (content == null) {
            return Set.of();
        }
        java.util.HashSet<String> out = new java.util.HashSet<>();
        for (String line : new String(content, StandardCharsets.UTF_8).split("\n")) {
            int hash = line.indexOf('#');
            String text = hash >= 0 ? line.substring(0, hash) : line;
            for (String name : text.split("[\\s,]+")) {
                if (!name.isEmpty()) {
                    out.add(name);
                }
            }
        }
        return Set.copyOf(out);
    }
}
