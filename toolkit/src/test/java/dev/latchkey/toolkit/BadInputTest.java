package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.optimistic.Guard;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import dev.latchkey.toolkit.pessimistic.RowLocker;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/** Bad input gets a clear exception, and no SQL statement reaches the database. */
class BadInputTest {

    @DatabaseTest
    void badInputIsRefusedBeforeAnyStatement(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        AtomicInteger statements = new AtomicInteger();
        DataSource counted = Fixtures.counting(db.dataSource(), statements);
        Toolkit toolkit = Toolkit.create(counted);

        assertThatThrownBy(() -> toolkit.optimistic(TableSpec.table("no_such_table").key("id").version("version")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown table 'no_such_table'");
        assertThatThrownBy(() -> toolkit.optimistic(TableSpec.table("item").key("id").version("revision")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown column 'revision'")
                .hasMessageContaining("(columns: ");
        assertThatThrownBy(() -> TableSpec.table("item\"; DROP TABLE item; --"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a plain SQL identifier");
        assertThatThrownBy(() -> TableSpec.table("item").key("id` OR 1=1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a plain SQL identifier");
        assertThatThrownBy(() -> toolkit.optimistic(TableSpec.table("item")))
                .hasMessageContaining("no key column");

        OptimisticTable items = toolkit.optimistic(Fixtures.ITEM);
        RowLocker locker = toolkit.rowLocks(Fixtures.ITEM);
        try (Connection c = counted.getConnection()) {
            c.setAutoCommit(false);
            assertThatThrownBy(() -> items.update(null)).isInstanceOf(NullPointerException.class).hasMessageContaining("key");
            assertThatThrownBy(() -> items.update(1L).set("price", 3)).hasMessageContaining("unknown column 'price'");
            assertThatThrownBy(() -> items.update(1L).set("sto'ck", 3)).hasMessageContaining("not a plain SQL identifier");
            assertThatThrownBy(() -> items.update(1L).set("version", 3)).hasMessageContaining("the toolkit manages it");
            assertThatThrownBy(() -> items.update(1L).expectVersion(0).execute(c)).hasMessageContaining("sets no column");
            assertThatThrownBy(() -> items.update(1L).expectVersion("seven")).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> items.update(1L).set("stock", 1).when(Guard.greaterThan("bogus", 0)).execute(c))
                    .hasMessageContaining("unknown column 'bogus'");
            assertThatThrownBy(() -> items.update(1L).expectVersion("seven").set("stock", 1).execute(c))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> locker.lock(1L, null)).hasMessageContaining("null");
            assertThatThrownBy(() -> locker.lock()).hasMessageContaining("at least one key");
            assertThatThrownBy(() -> locker.lock(1L).waitAtMost(Duration.ofMillis(-5))).hasMessageContaining("negative");
            assertThatThrownBy(() -> locker.lock(1L).columns("stock; DELETE FROM item")).hasMessageContaining("not a plain SQL identifier");
            assertThatThrownBy(() -> locker.lock(1L, "two").execute(c)).hasMessageContaining("one type");
            c.rollback();
        }
        assertThat(statements).as("statements prepared for bad input").hasValue(0);
    }

    @DatabaseTest
    void namesMatchTheCatalogWhateverTheCaseTheDatabaseFoldedThemTo(TestDatabase db) throws Exception {
        Fixtures.createTables(db); // created unquoted: H2 stores ITEM, PostgreSQL item
        OptimisticTable items = Toolkit.create(db.dataSource()).optimistic(TableSpec.table("Item").key("ID").version("Version"));
        Fixtures.insertItem(db.dataSource(), 1, 3);
        try (Connection c = db.dataSource().getConnection()) {
            assertThat(items.update(1L).expectVersion(0).set("STOCK", 2).execute(c).applied()).isTrue();
        }
    }
}
