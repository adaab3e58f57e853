package dev.latchkey.bench;

import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UniqueKey;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;

/**
 * The same two units of work done five ways, one transaction each, on a table of {@link #ROWS} rows
 * visited round-robin (so no single row collects dead versions):
 * <ul>
 *   <li>version compare-and-set: by hand in JDBC, with the toolkit, with jOOQ's
 *       {@code UpdatableRecord} and {@code executeWithOptimisticLocking};</li>
 *   <li>lock the row, then update it: by hand in JDBC, with the toolkit's row locker.</li>
 * </ul>
 * Not thread-safe: one fixture per benchmark thread.
 */
public final class OverheadFixture {

    public static final int ROWS = 1000;

    private final DataSource dataSource;
    private final OptimisticTable items;
    private final RowLocker locker;
    private final long[] versions = new long[ROWS];
    private final Settings jooqSettings = new Settings().withExecuteWithOptimisticLocking(true).withExecuteLogging(false);
    private int next;

    public OverheadFixture(DataSource dataSource) throws SQLException {
        this.dataSource = dataSource;
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE bench_item (id BIGINT PRIMARY KEY, stock INT NOT NULL, version BIGINT NOT NULL)");
            s.execute("INSERT INTO bench_item (id, stock, version) SELECT g, 1000000, 0 FROM generate_series(0, " + (ROWS - 1) + ") g");
        }
        Toolkit toolkit = Toolkit.create(dataSource);
        TableSpec spec = TableSpec.table("bench_item").key("id").version("version");
        this.items = toolkit.optimistic(spec);
        this.locker = toolkit.rowLocks(spec);
    }

    private int nextRow() {
        int row = next;
        next = (next + 1) % ROWS;
        return row;
    }

    public void handCas() throws SQLException {
        int row = nextRow();
        try (Connection c = begin();
                PreparedStatement ps = c.prepareStatement("UPDATE bench_item SET stock = ?, version = version + 1 WHERE id = ? AND version = ?")) {
            ps.setInt(1, row);
            ps.setLong(2, row);
            ps.setLong(3, versions[row]);
            if (ps.executeUpdate() != 1) {
                throw new IllegalStateException("hand CAS missed row " + row);
            }
            c.commit();
            versions[row]++;
        }
    }

    public void toolkitCas() throws SQLException {
        int row = nextRow();
        try (Connection c = begin()) {
            items.update((long) row).expectVersion(versions[row]).set("stock", row).execute(c).orThrow();
            c.commit();
            versions[row]++;
        }
    }

    public void jooqOptimisticLocking() throws SQLException {
        int row = nextRow();
        try (Connection c = begin()) {
            DSLContext ctx = DSL.using(c, SQLDialect.POSTGRES, jooqSettings);
            ItemRecord record = ctx.newRecord(ItemTable.ITEM);
            record.setValue(ItemTable.ITEM.ID, (long) row);
            record.setValue(ItemTable.ITEM.VERSION, versions[row]);
            record.changed(false); // as if fetched: id and version are what the database holds
            record.setValue(ItemTable.ITEM.STOCK, row);
            if (record.update() != 1) {
                throw new IllegalStateException("jOOQ update missed row " + row);
            }
            c.commit();
            versions[row]++;
        }
    }

    public void handLockThenUpdate() throws SQLException {
        int row = nextRow();
        try (Connection c = begin()) {
            int stock;
            try (PreparedStatement ps = c.prepareStatement("SELECT id, stock FROM bench_item WHERE id = ? FOR UPDATE")) {
                ps.setLong(1, row);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    stock = rs.getInt(2);
                }
            }
            decrement(c, row, stock);
            c.commit();
        }
    }

    public void toolkitLockThenUpdate() throws SQLException {
        int row = nextRow();
        try (Connection c = begin()) {
            int stock = ((Number) locker.lock((long) row).columns("stock").execute(c).orThrow().rows().get(0).get("stock")).intValue();
            decrement(c, row, stock);
            c.commit();
        }
    }

    private static void decrement(Connection c, int row, int stock) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE bench_item SET stock = ? WHERE id = ?")) {
            ps.setInt(1, stock - 1);
            ps.setLong(2, row);
            ps.executeUpdate();
        }
    }

    private Connection begin() throws SQLException {
        Connection c = dataSource.getConnection();
        c.setAutoCommit(false);
        return c;
    }

    /** The table as jOOQ's code generator would describe it, so jOOQ knows the key and the version column. */
    static final class ItemTable extends TableImpl<ItemRecord> {
        static final ItemTable ITEM = new ItemTable();

        final TableField<ItemRecord, Long> ID = createField(DSL.name("id"), SQLDataType.BIGINT.nullable(false), this, "");
        final TableField<ItemRecord, Integer> STOCK = createField(DSL.name("stock"), SQLDataType.INTEGER.nullable(false), this, "");
        final TableField<ItemRecord, Long> VERSION = createField(DSL.name("version"), SQLDataType.BIGINT.nullable(false), this, "");

        private ItemTable() {
            super(DSL.name("bench_item"));
        }

        @Override
        public Class<ItemRecord> getRecordType() {
            return ItemRecord.class;
        }

        @Override
        public UniqueKey<ItemRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, DSL.name("bench_item_pkey"), new TableField[] {ID}, true);
        }

        @Override
        public TableField<ItemRecord, Long> getRecordVersion() {
            return VERSION;
        }
    }

    /** A row of bench_item. */
    public static final class ItemRecord extends UpdatableRecordImpl<ItemRecord> {
        public ItemRecord() {
            super(ItemTable.ITEM);
        }
    }
}
