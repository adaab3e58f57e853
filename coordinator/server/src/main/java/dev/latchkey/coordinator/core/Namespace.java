package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.store.Event;
import static dev.latchkey.coordinator.store.Schema.*;

import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.WriteTx;
import java.util.List;
import java.util.zip.CRC32;
import org.jooq.Record;

/**
 * The namespace of small files and directories. "/" is an implicit directory; everything else is a
 * row. Writes are whole-file, optionally compare-and-set on the content generation.
 */
public final class Namespace {

    public static final int MAX_CONTENT = 256 * 1024;

    /** A node's metadata, as Chubby's stat. */
    public record Stat(String path, boolean directory, boolean ephemeral, String ephemeralSession, long instance,
            long contentGeneration, long lockGeneration, long aclGeneration, long checksum, long createdRevision,
            long modifiedRevision, int length) {
    }

    /** A node with its content (empty for a directory). */
    public record Node(Stat stat, byte[] content) {
    }

    /** What a write expects to find. */
    public sealed interface Expect {
        /** Write whatever is there (create or overwrite). */
        record Anything() implements Expect {
        }

        /** Create only: fail if the node exists ({@code If-None-Match: *}). */
        record Absent() implements Expect {
        }

        /** Overwrite only this content generation ({@code If-Match}). */
        record Generation(long generation) implements Expect {
        }
    }

    private final Store store;

    public Namespace(Store store) {
        this.store = store;
    }

    public Node read(String path) {
        Paths.require(path);
        if (path.equals("/")) {
            return new Node(rootStat(), new byte[0]);
        }
        return store.read(c -> {
            Record r = store.dsl(c).select().from(NODE).where(NODE_PATH.eq(path)).fetchOne();
            if (r == null) {
                throw new CoordinatorException(Problem.NODE_NOT_FOUND, "no node at '" + path + "'");
            }
            byte[] content = r.get(NODE_CONTENT);
            return new Node(stat(r), content == null ? new byte[0] : content);
        });
    }

    public List<Stat> children(String path) {
        return children(path, null, Page.MAX).items();
    }

    /** Up to {@code limit} children of a directory in path order, after the child path {@code after} ({@code null}: from the first). */
    public Page<Stat> children(String path, String after, int limit) {
        Paths.require(path);
        int n = Math.max(1, Math.min(limit, Page.MAX));
        return store.read(c -> {
            var dsl = store.dsl(c);
            if (!path.equals("/")) {
                Boolean dir = dsl.select(NODE_IS_DIR).from(NODE).where(NODE_PATH.eq(path)).fetchOne(NODE_IS_DIR);
                if (dir == null) {
                    throw new CoordinatorException(Problem.NODE_NOT_FOUND, "no node at '" + path + "'");
                }
                if (!dir) {
                    throw new CoordinatorException(Problem.NOT_A_DIRECTORY, "'" + path + "' is a file");
                }
            }
            var rows = dsl.select().from(NODE).where(NODE_PARENT.eq(path))
                    .and(after == null ? org.jooq.impl.DSL.noCondition() : NODE_PATH.gt(after)).orderBy(NODE_PATH).limit(n + 1)
                    .fetch(Namespace::stat);
            return Page.of(rows, n, Stat::path);
        });
    }

    /** Creates a directory (if absent; an existing directory is returned as it is). */
    public Stat mkdir(String path) {
        Paths.require(path);
        if (path.equals("/")) {
            return rootStat();
        }
        return store.write("mkdir", tx -> {
            Record existing = tx.dsl().select().from(NODE).where(NODE_PATH.eq(path)).forUpdate().fetchOne();
            if (existing != null) {
                if (!existing.get(NODE_IS_DIR)) {
                    throw new CoordinatorException(Problem.NOT_A_DIRECTORY, "'" + path + "' exists and is a file");
                }
                return stat(existing);
            }
            requireParentDirectory(tx, path);
            return insert(tx, path, true, null, null);
        });
    }

    /** Writes a whole file, creating it if the expectation allows. */
    public Stat write(String path, byte[] content, Expect expect, String ephemeralSession) {
        Paths.require(path);
        if (path.equals("/")) {
            throw new CoordinatorException(Problem.IS_A_DIRECTORY, "'/' is the root directory");
        }
        if (content.length > MAX_CONTENT) {
            throw new CoordinatorException(Problem.CONTENT_TOO_LARGE,
                    "content is " + content.length + " bytes; a file holds at most " + MAX_CONTENT);
        }
        return store.write("write", tx -> {
            if (ephemeralSession != null) {
                Sessions.requireLive(tx, ephemeralSession);
            }
            Record existing = tx.dsl().select().from(NODE).where(NODE_PATH.eq(path)).forUpdate().fetchOne();
            if (existing == null) {
                if (expect instanceof Expect.Generation g) {
                    throw new CoordinatorException(Problem.PRECONDITION_FAILED,
                            "'" + path + "' does not exist, so it is not at generation " + g.generation());
                }
                requireParentDirectory(tx, path);
                return insert(tx, path, false, content, ephemeralSession);
            }
            if (expect instanceof Expect.Absent) {
                throw new CoordinatorException(Problem.PRECONDITION_FAILED, "'" + path + "' already exists");
            }
            if (existing.get(NODE_IS_DIR)) {
                throw new CoordinatorException(Problem.IS_A_DIRECTORY, "'" + path + "' is a directory");
            }
            long generation = existing.get(NODE_CONTENT_GEN);
            if (expect instanceof Expect.Generation g && g.generation() != generation) {
                throw new CoordinatorException(Problem.PRECONDITION_FAILED,
                        "'" + path + "' is at generation " + generation + ", not " + g.generation());
            }
            overwrite(tx, path, generation, content);
            return stat(tx.dsl().select().from(NODE).where(NODE_PATH.eq(path)).fetchOne());
        });
    }

    /** Deletes a node: refused while it has children or its lock is held; honours a generation. */
    public void delete(String path, Long expectedGeneration) {
        Paths.require(path);
        if (path.equals("/")) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "the root directory cannot be deleted");
        }
        store.write("delete", tx -> {
            Record existing = tx.dsl().select().from(NODE).where(NODE_PATH.eq(path)).forUpdate().fetchOne();
            if (existing == null) {
                throw new CoordinatorException(Problem.NODE_NOT_FOUND, "no node at '" + path + "'");
            }
            if (expectedGeneration != null && existing.get(NODE_CONTENT_GEN) != expectedGeneration.longValue()) {
                throw new CoordinatorException(Problem.PRECONDITION_FAILED,
                        "'" + path + "' is at generation " + existing.get(NODE_CONTENT_GEN) + ", not " + expectedGeneration);
            }
            if (tx.dsl().fetchExists(NODE, NODE_PARENT.eq(path))) {
                throw new CoordinatorException(Problem.HAS_CHILDREN, "'" + path + "' has children; delete them first");
            }
            if (tx.dsl().fetchExists(HOLDER, HOLDER_PATH.eq(path))) {
                throw new CoordinatorException(Problem.NODE_LOCKED, "'" + path + "' is locked; release the lock first");
            }
            deleteNode(tx, path);
            return null;
        });
    }

    /** Replaces an existing file's content, now at {@code generation}, inside the caller's transaction. */
    static void overwrite(WriteTx tx, String path, long generation, byte[] content) {
        long rev = tx.emit(path, Event.Kind.CONTENTS_MODIFIED, Long.toString(generation + 1), null).rev();
        tx.dsl().update(NODE).set(NODE_CONTENT, content).set(NODE_CONTENT_GEN, generation + 1).set(NODE_CHECKSUM, checksum(content))
                .set(NODE_MODIFIED_REV, rev).where(NODE_PATH.eq(path)).execute();
    }

    static void deleteNode(WriteTx tx, String path) {
        tx.dsl().deleteFrom(HOLDER).where(HOLDER_PATH.eq(path)).execute();
        tx.dsl().deleteFrom(WAITER).where(WAITER_PATH.eq(path)).execute();
        tx.dsl().deleteFrom(NODE).where(NODE_PATH.eq(path)).execute();
        tx.dsl().deleteFrom(ACL).where(ACL_PATH.eq(path)).execute(); // a node made again here inherits, as a new one does
        tx.emit(path, Event.Kind.NODE_DELETED, null, null);
        tx.emit(Paths.parent(path), Event.Kind.CHILD_REMOVED, Paths.name(path), null);
    }

    /**
     * Creates a file node if absent, with any missing parent directories (a lock on
     * {@code /locks/jobs/nightly} needs no set-up); a parent that is a file is refused.
     */
    static void ensureFile(WriteTx tx, String path) {
        if (tx.dsl().fetchExists(NODE, NODE_PATH.eq(path))) {
            return;
        }
        java.util.Deque<String> missing = new java.util.ArrayDeque<>();
        for (String dir = Paths.parent(path); !dir.equals("/"); dir = Paths.parent(dir)) {
            Boolean isDir = tx.dsl().select(NODE_IS_DIR).from(NODE).where(NODE_PATH.eq(dir)).forUpdate().fetchOne(NODE_IS_DIR);
            if (isDir == null) {
                missing.push(dir);
            } else if (!isDir) {
                throw new CoordinatorException(Problem.NOT_A_DIRECTORY, "the parent '" + dir + "' is a file");
            } else {
                break;
            }
        }
        while (!missing.isEmpty()) {
            insert(tx, missing.pop(), true, null, null);
        }
        insert(tx, path, false, new byte[0], null);
    }

    private static void requireParentDirectory(WriteTx tx, String path) {
        String parent = Paths.parent(path);
        if (parent.equals("/")) {
            return;
        }
        Boolean dir = tx.dsl().select(NODE_IS_DIR).from(NODE).where(NODE_PATH.eq(parent)).forUpdate().fetchOne(NODE_IS_DIR);
        if (dir == null) {
            throw new CoordinatorException(Problem.NODE_NOT_FOUND, "the parent directory '" + parent + "' does not exist");
        }
        if (!dir) {
            throw new CoordinatorException(Problem.NOT_A_DIRECTORY, "the parent '" + parent + "' is a file");
        }
    }

    private static Stat insert(WriteTx tx, String path, boolean directory, byte[] content, String ephemeralSession) {
        long rev = tx.emit(path, Event.Kind.CONTENTS_MODIFIED, directory ? "directory" : "1", ephemeralSession).rev();
        tx.emit(Paths.parent(path), Event.Kind.CHILD_ADDED, Paths.name(path), ephemeralSession);
        byte[] body = content == null ? new byte[0] : content;
        tx.dsl().insertInto(NODE, NODE_PATH, NODE_PARENT, NODE_IS_DIR, NODE_CONTENT, NODE_EPHEMERAL, NODE_INSTANCE, NODE_CONTENT_GEN,
                        NODE_LOCK_GEN, NODE_ACL_GEN, NODE_CHECKSUM, NODE_CREATED_REV, NODE_MODIFIED_REV, NODE_LOCK_DELAY_UNTIL)
                .values(path, Paths.parent(path), directory, directory ? null : body, ephemeralSession, rev, 1L, 0L, 0L, checksum(body), rev,
                        rev, 0L)
                .execute();
        return new Stat(path, directory, ephemeralSession != null, ephemeralSession, rev, 1, 0, 0, checksum(body), rev, rev,
                directory ? 0 : body.length);
    }

    static Stat stat(Record r) {
        byte[] content = r.get(NODE_CONTENT);
        String eph = r.get(NODE_EPHEMERAL);
        return new Stat(r.get(NODE_PATH), r.get(NODE_IS_DIR), eph != null, eph, r.get(NODE_INSTANCE), r.get(NODE_CONTENT_GEN),
                r.get(NODE_LOCK_GEN), r.get(NODE_ACL_GEN), r.get(NODE_CHECKSUM), r.get(NODE_CREATED_REV), r.get(NODE_MODIFIED_REV),
                content == null ? 0 : content.length);
    }

    private static Stat rootStat() {
        return new Stat("/", true, false, null, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    static long checksum(byte[] content) {
        CRC32 crc = new CRC32();
        crc.update(content);
        return crc.getValue();
    }
}
