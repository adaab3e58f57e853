package dev.latchkey.toolkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import dev.latchkey.toolkit.pessimistic.LockMode;
import dev.latchkey.toolkit.pessimistic.WaitPolicy;
import dev.latchkey.toolkit.repository.LockRows;
import dev.latchkey.toolkit.repository.Repositories;
import dev.latchkey.toolkit.repository.Retry;
import dev.latchkey.toolkit.retry.RetryPolicy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;

class RepositoriesTest {

    /** An existing DAO interface; the implementation below knows nothing of Latchkey but its data source. */
    interface StockDao {
        @Retry(attempts = 500, initialBackoffMillis = 1, maxBackoffMillis = 20)
        boolean buyOptimistically(long itemId);

        @LockRows(table = "item", key = "id")
        boolean buyUnderLock(long itemId);

        boolean buyPlain(long itemId);

        int stock(long itemId);
    }

    static final class JdbcStockDao implements StockDao {
        private final DataSource ds;
        private final OptimisticTable items;

        JdbcStockDao(DataSource ds, OptimisticTable items) {
            this.ds = ds;
            this.items = items;
        }

        @Override
        public boolean buyOptimistically(long itemId) {
            try (Connection c = ds.getConnection();
                    PreparedStatement ps = c.prepareStatement("SELECT stock, version FROM item WHERE id = ?")) {
                ps.setLong(1, itemId);
                int stock;
                long version;
                try (ResultSet rs = ps.executeQuery()) { // stock and version from one read, or the CAS guards nothing
                    rs.next();
                    stock = rs.getInt(1);
                    version = rs.getLong(2);
                }
                if (stock == 0) {
                    return false;
                }
                items.update(itemId).expectVersion(version).set("stock", stock - 1).execute(c).orThrow();
                return true;
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public boolean buyUnderLock(long itemId) {
            return buyPlain(itemId);
        }

        @Override
        public boolean buyPlain(long itemId) {
            try (Connection c = ds.getConnection()) {
                int stock = read(c, itemId, "stock");
                if (stock == 0) {
                    return false;
                }
                Thread.onSpinWait();
                try (PreparedStatement ps = c.prepareStatement("UPDATE item SET stock = ? WHERE id = ?")) {
                    ps.setInt(1, stock - 1);
                    ps.setLong(2, itemId);
                    ps.executeUpdate();
                }
                return true;
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public int stock(long itemId) {
            try (Connection c = ds.getConnection()) {
                return read(c, itemId, "stock");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }

        private static int read(Connection c, long id, String column) throws SQLException {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + column + " FROM item WHERE id = ?")) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                }
            }
        }
    }

    private static StockDao wrapped(TestDatabase db, int stock) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, stock);
        Toolkit toolkit = Toolkit.create(db.dataSource());
        DataSource bound = toolkit.transactor(RetryPolicy.none()).dataSource();
        return Repositories.wrap(StockDao.class, new JdbcStockDao(bound, toolkit.optimistic(Fixtures.ITEM)), toolkit).build();
    }

    private static int buyConcurrently(int threads, int attemptsEach, java.util.function.LongPredicate buy) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> bought = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                bought.add(pool.submit(() -> {
                    int n = 0;
                    for (int i = 0; i < attemptsEach; i++) {
                        n += buy.test(1L) ? 1 : 0;
                    }
                    return n;
                }));
            }
            int total = 0;
            for (Future<Integer> f : bought) {
                total += f.get();
            }
            return total;
        } finally {
            pool.shutdownNow();
        }
    }

    @DatabaseTest
    void anAnnotatedMethodRunsWithOptimisticRetryAndNeverOversells(TestDatabase db) throws Exception {
        StockDao dao = wrapped(db, 20);
        assertThat(buyConcurrently(8, 5, dao::buyOptimistically)).isEqualTo(20);
        assertThat(dao.stock(1L)).isZero();
    }

    @DatabaseTest
    void anAnnotatedMethodRunsHoldingTheRowLock(TestDatabase db) throws Exception {
        StockDao dao = wrapped(db, 20);
        assertThat(buyConcurrently(8, 5, dao::buyUnderLock)).isEqualTo(20);
        assertThat(dao.stock(1L)).isZero();
    }

    @DatabaseTest
    void theBuilderConfiguresMethodsByName(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Fixtures.insertItem(db.dataSource(), 1, 20);
        Toolkit toolkit = Toolkit.create(db.dataSource());
        DataSource bound = toolkit.transactor(RetryPolicy.none()).dataSource();
        StockDao dao = Repositories.wrap(StockDao.class, new JdbcStockDao(bound, toolkit.optimistic(Fixtures.ITEM)), toolkit)
                .lockRows("buyPlain", Fixtures.ITEM, args -> List.of(args[0]), LockMode.UPDATE, WaitPolicy.databaseDefault())
                .retry("buyPlain", RetryPolicy.defaults())
                .build();
        assertThat(buyConcurrently(8, 5, dao::buyPlain)).isEqualTo(20);
        assertThat(dao.stock(1L)).isZero();
        assertThat(dao.toString()).startsWith("wrapped ");
    }

    @DatabaseTest
    void misconfigurationIsReportedWhenWrapping(TestDatabase db) throws Exception {
        Fixtures.createTables(db);
        Toolkit toolkit = Toolkit.create(db.dataSource());
        StockDao target = new JdbcStockDao(db.dataSource(), toolkit.optimistic(Fixtures.ITEM));
        assertThatThrownBy(() -> Repositories.wrap(StockDao.class, target, toolkit).retry("nope", RetryPolicy.defaults()))
                .hasMessageContaining("has no method 'nope'");
        assertThatThrownBy(() -> Repositories.wrap(StockDao.class, target, toolkit)
                .lockRows("buyPlain", TableSpec.table("no_such_table").key("id"), a -> List.of(a[0]), LockMode.UPDATE,
                        WaitPolicy.noWait()))
                .hasMessageContaining("unknown table 'no_such_table'");
    }
}
