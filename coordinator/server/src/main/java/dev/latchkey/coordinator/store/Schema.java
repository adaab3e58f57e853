package dev.latchkey.coordinator.store;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import org.jooq.Field;
import org.jooq.Table;

/** The store's tables and columns as jOOQ names (quoted, lower case, as the migrations create them). */
public final class Schema {

    private Schema() {
    }

    public static final Table<?> SESSION = table(name("lk_session"));
    public static final Field<String> SESSION_ID = field(name("id"), String.class);
    public static final Field<String> SESSION_OWNER = field(name("owner"), String.class);
    public static final Field<Long> SESSION_TTL = field(name("ttl_ms"), Long.class);
    public static final Field<Long> SESSION_EXPIRES = field(name("expires_ms"), Long.class);
    public static final Field<Long> SESSION_CREATED = field(name("created_ms"), Long.class);
    public static final Field<Long> SESSION_RENEWED = field(name("renewed_ms"), Long.class);
    public static final Field<String> SESSION_IDENTITY = field(name("identity"), String.class);

    public static final Table<?> TOKEN = table(name("lk_token"));
    public static final Field<String> TOKEN_NAME = field(name("name"), String.class);
    public static final Field<String> TOKEN_HASH = field(name("token_hash"), String.class);
    public static final Field<Boolean> TOKEN_ADMIN = field(name("is_admin"), Boolean.class);
    public static final Field<Long> TOKEN_CREATED = field(name("created_ms"), Long.class);

    public static final Table<?> NODE = table(name("lk_node"));
    public static final Field<String> NODE_PATH = field(name("path"), String.class);
    public static final Field<String> NODE_PARENT = field(name("parent"), String.class);
    public static final Field<Boolean> NODE_IS_DIR = field(name("is_dir"), Boolean.class);
    public static final Field<byte[]> NODE_CONTENT = field(name("content"), byte[].class);
    public static final Field<String> NODE_EPHEMERAL = field(name("ephemeral_session"), String.class);
    public static final Field<Long> NODE_INSTANCE = field(name("instance"), Long.class);
    public static final Field<Long> NODE_CONTENT_GEN = field(name("content_gen"), Long.class);
    public static final Field<Long> NODE_LOCK_GEN = field(name("lock_gen"), Long.class);
    public static final Field<Long> NODE_ACL_GEN = field(name("acl_gen"), Long.class);
    public static final Field<Long> NODE_CHECKSUM = field(name("checksum"), Long.class);
    public static final Field<Long> NODE_CREATED_REV = field(name("created_rev"), Long.class);
    public static final Field<Long> NODE_MODIFIED_REV = field(name("modified_rev"), Long.class);
    public static final Field<Long> NODE_LOCK_DELAY_UNTIL = field(name("lock_delay_until_ms"), Long.class);

    public static final Table<?> ACL = table(name("lk_acl"));
    public static final Field<String> ACL_PATH = field(name("path"), String.class);
    public static final Field<String> ACL_READ = field(name("acl_read"), String.class);
    public static final Field<String> ACL_WRITE = field(name("acl_write"), String.class);
    public static final Field<String> ACL_LOCK = field(name("acl_lock"), String.class);
    public static final Field<String> ACL_ADMIN = field(name("acl_admin"), String.class);
    public static final Field<Long> ACL_GEN = field(name("generation"), Long.class);

    public static final Table<?> HOLDER = table(name("lk_lock_holder"));
    public static final Field<String> HOLDER_PATH = field(name("path"), String.class);
    public static final Field<String> HOLDER_SESSION = field(name("session_id"), String.class);
    public static final Field<String> HOLDER_MODE = field(name("mode"), String.class);
    public static final Field<Long> HOLDER_GENERATION = field(name("generation"), Long.class);
    public static final Field<Long> HOLDER_LOCK_DELAY = field(name("lock_delay_ms"), Long.class);
    public static final Field<Long> HOLDER_ACQUIRED = field(name("acquired_ms"), Long.class);

    public static final Table<?> WAITER = table(name("lk_lock_waiter"));
    public static final Field<Long> WAITER_ID = field(name("id"), Long.class);
    public static final Field<String> WAITER_PATH = field(name("path"), String.class);
    public static final Field<String> WAITER_SESSION = field(name("session_id"), String.class);
    public static final Field<String> WAITER_MODE = field(name("mode"), String.class);
    public static final Field<Long> WAITER_ENQUEUED = field(name("enqueued_ms"), Long.class);
    public static final Field<Long> WAITER_DEADLINE = field(name("deadline_ms"), Long.class);
    public static final Field<Long> WAITER_LOCK_DELAY = field(name("lock_delay_ms"), Long.class);
    public static final Field<byte[]> WAITER_CONTENT_ON_GRANT = field(name("content_on_grant"), byte[].class);

    public static final Table<?> EVENT = table(name("lk_event"));
    public static final Field<Long> EVENT_REV = field(name("rev"), Long.class);
    public static final Field<String> EVENT_PATH = field(name("path"), String.class);
    public static final Field<String> EVENT_KIND = field(name("kind"), String.class);
    public static final Field<String> EVENT_DETAIL = field(name("detail"), String.class);
    public static final Field<String> EVENT_SESSION = field(name("session_id"), String.class);
    public static final Field<Long> EVENT_CREATED = field(name("created_ms"), Long.class);

    public static final Table<?> CELL = table(name("lk_cell"));
    public static final Field<String> CELL_NAME = field(name("name"), String.class);
    public static final Field<Long> CELL_VALUE = field(name("value"), Long.class);
    /** On the revision row: on PostgreSQL, one more for every committed writing transaction (see {@link WriteTx#flush}). */
    public static final Field<Long> CELL_STAMP = field(name("stamp"), Long.class);
}
