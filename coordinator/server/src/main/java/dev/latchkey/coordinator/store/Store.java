package dev.latchkey.coordinator.store;

import static dev.latchkey.coordinator.store.Schema.*;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.latchkey.migrations.Migrations;
import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.failure.FailureClassifier;
import dev.latchkey.toolkit.retry.RetryPolicy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;

/**
 * The coordinator's store: a connection pool on the configured database with the coordinator's
 * migrations applied. Any number of coordinators may open the same store at once (Liquibase's
 * lock serialises their migrations).
 *
 * <p>Every lease, expiry and lock-delay is computed from {@link #nowMillis}, the database's clock,
 * so that coordinators on machines whose clocks disagree still agree on what has expired.
 */
public final class Store implements AutoCloseable {

    private static final Settings SETTINGS = new Settings().withExecuteLogging(false).withRenderFormatted(false);

    private final HikariDataSource dataSource;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Store.class);
    private final DatabaseKind kind;
    private final String nowSql;
    private volatile Consumer<List<Event>> onCommit = events -> { };
    private volatile long outageThresholdMs = 2_000;

    private Store(HikariDataSource dataSource, DatabaseKind kind) {
        this.dataSource = dataSource;
        this.kind = kind;
        this.nowSql = "SELECT " + kind.nowMillisExpression();
        this.writer = Thread.ofPlatform().name("latchkey-store-writer").daemon().start(this::writeLoop);
    }

    /**
     * How long a store connection may sit idle inside an open transaction before the database ends
     * it. A coordinator frozen mid-transaction (a stopped process, a long GC pause, a lost machine
     * whose socket stays open) holds the revision counter's row lock, and with it every other
     * coordinator's writes; the database cuts it loose after this long, rolling its work back.
     * Store transactions take milliseconds, so this never ends a healthy one.
     */
    public static final Duration IDLE_IN_TRANSACTION_LIMIT = Duration.ofSeconds(3);

    /** Applies the coordinator's migrations (one process at a time) and opens the pool. */
    public static Store open(StoreConfig config) {
        HikariDataSource ds = null;
        // Migrations run on a connection of their own, without the pool's idle-in-transaction limit:
        // a coordinator that starts beside others waits in a transaction while another migrates. It
        // stays open until the pool is up, so an embedded H2 file shared by several processes keeps
        // its owner meanwhile.
        try (Connection migrating = connectForMigrations(config)) {
            DatabaseKind kind = DatabaseKind.detect(migrating);
            boolean galera = galera(migrating, kind); // (before the migrations: a node that is not ready refuses them obscurely)
            // (the lock that serialises runs on a connection of its own: on PostgreSQL it is held by that connection's
            // transaction, which a transaction pooler keeps on one server connection, where a session lock could strand)
            Migrations.apply(migrating, () -> connectForMigrations(config), Migrations.Changelog.COORDINATOR);
            HikariConfig hikari = new HikariConfig();
            hikari.setJdbcUrl(config.jdbcUrl());
            hikari.setUsername(config.user());
            hikari.setPassword(config.password());
            hikari.setMaximumPoolSize(config.poolSize());
            hikari.setMinimumIdle(Math.min(2, config.poolSize()));
            hikari.setPoolName("latchkey-store");
            hikari.setConnectionTimeout(5_000);
            if (kind.isMySqlFamily()) {
                // the writer sends a batch's statements in one round trip (fixed SQL, every value bound)
                hikari.addDataSourceProperty("allowMultiQueries", "true");
            }
            String limit = config.pooled() ? null : idleInTransactionLimit(kind); // (a pooler's connections carry no session settings)
            if (galera) {
                // a read must see every write the cluster acknowledged before it (by default a node may
                // answer before applying what another node committed): causal reads on every connection
                limit = (limit == null ? "SET SESSION " : limit + ", ") + "wsrep_sync_wait = " + GALERA_SYNC_WAIT;
                LOG.info("the store is a Galera cluster node: every store connection sets wsrep_sync_wait = {} (causal reads)", GALERA_SYNC_WAIT);
            }
            if (limit != null) {
                hikari.setConnectionInitSql(limit);
            }
            ds = new HikariDataSource(hikari);
            return new Store(ds, kind);
        } catch (SQLException | RuntimeException e) {
            if (ds != null) {
                ds.close();
            }
            throw new StoreUnavailableException("cannot open the store at " + config.jdbcUrl() + ": " + e.getMessage(), e);
        }
    }

    /**
     * A plain connection for the migrations. H2 files shared by several processes (AUTO_SERVER)
     * refuse an open while another process is creating the lock file ("Lock file recently
     * modified"); that clears within moments, so an open that meets it is tried again.
     */
    private static Connection connectForMigrations(StoreConfig config) throws SQLException {
        for (int attempt = 1; ; attempt++) {
            try {
                // through a transaction pooler the migrations' advisory lock needs the direct URL, when there is one
                String url = config.pooled() && config.directUrl() != null ? config.directUrl() : config.jdbcUrl();
                return java.sql.DriverManager.getConnection(url, config.user(), config.password());
            } catch (SQLException e) {
                boolean h2FileLock = config.jdbcUrl().startsWith("jdbc:h2:file:")
                        && (e.getErrorCode() == H2_ERROR_OPENING_DATABASE || e.getErrorCode() == H2_DATABASE_ALREADY_OPEN);
                if (!h2FileLock || attempt >= 20) {
                    throw e;
                }
                try {
                    Thread.sleep(100 + java.util.concurrent.ThreadLocalRandom.current().nextInt(200));
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    /** H2's codes for a file another process is opening: {@code ERROR_OPENING_DATABASE_1} and {@code DATABASE_ALREADY_OPEN_1}. */
    private static final int H2_ERROR_OPENING_DATABASE = 8000;
    private static final int H2_DATABASE_ALREADY_OPEN = 90020;

    /** Galera's wsrep_sync_wait for reads (1: SELECT, SHOW and BEGIN wait until the node applied everything committed before). */
    static final int GALERA_SYNC_WAIT = 1;

    /**
     * Whether the store is a Galera cluster node. If so it must be ready (in the primary component,
     * synced): a node that is not refuses statements, or serves a past state, and the coordinator
     * refuses to start on it, saying why, rather than run on it unsafely.
     */
    static boolean galera(Connection c, DatabaseKind kind) throws SQLException {
        if (kind != DatabaseKind.MARIADB && kind != DatabaseKind.MYSQL) {
            return false;
        }
        try (java.sql.Statement s = c.createStatement()) {
            String on = null;
            try (java.sql.ResultSet rs = s.executeQuery("SHOW VARIABLES LIKE 'wsrep_on'")) {
                if (rs.next()) {
                    on = rs.getString(2);
                }
            }
            if (!"ON".equalsIgnoreCase(on)) {
                return false;
            }
            String ready = null;
            try (java.sql.ResultSet rs = s.executeQuery("SHOW STATUS LIKE 'wsrep_ready'")) {
                if (rs.next()) {
                    ready = rs.getString(2);
                }
            }
            if (!"ON".equalsIgnoreCase(ready)) {
                throw new SQLException("this Galera node is not ready (wsrep_ready = " + ready + "): it is not in the cluster's primary "
                        + "component or not synced, and would refuse writes or serve a past state; start the coordinator on a synced node");
            }
            s.execute("SET SESSION wsrep_sync_wait = " + GALERA_SYNC_WAIT);
            try (java.sql.ResultSet rs = s.executeQuery("SELECT @@wsrep_sync_wait")) {
                if (!rs.next() || rs.getInt(1) != GALERA_SYNC_WAIT) {
                    throw new SQLException("this Galera node does not keep wsrep_sync_wait = " + GALERA_SYNC_WAIT
                            + ", without which a read may miss a write the cluster acknowledged");
                }
            }
            return true;
        }
    }

    /** The statement that sets {@link #IDLE_IN_TRANSACTION_LIMIT} on a new connection, where the database has one. */
    static String idleInTransactionLimit(DatabaseKind kind) {
        long ms = IDLE_IN_TRANSACTION_LIMIT.toMillis();
        return switch (kind) {
            case POSTGRES -> "SET idle_in_transaction_session_timeout = " + ms;
            case MARIADB -> "SET SESSION idle_transaction_timeout = " + Math.max(1, ms / 1000);
            // MySQL has no such limit (innodb_lock_wait_timeout bounds the waiters); H2 runs in-process
            case MYSQL, H2 -> null;
        };
    }

    public DataSource dataSource() {
        return dataSource;
    }

    public DatabaseKind kind() {
        return kind;
    }

    /** The reaper's outage threshold, which writing operations need to judge leases (default 2 s). */
    public void outageThreshold(Duration threshold) {
        this.outageThresholdMs = threshold.toMillis();
    }

    public long outageThresholdMs() {
        return outageThresholdMs;
    }

    /** Called after every writing transaction commits, with the events it appended. */
    public void onCommit(Consumer<List<Event>> listener) {
        this.onCommit = listener;
    }

    public DSLContext dsl(Connection c) {
        return DSL.using(c, kind.jooqDialect(), SETTINGS);
    }

    /** The database clock in epoch milliseconds. */
    public long nowMillis(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(nowSql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The database clock in epoch milliseconds, on a connection of its own. */
    public long nowMillis() {
        return readAt((dsl, now) -> now);
    }

    /**
     * Runs a writing operation and returns its result once it has committed. Operations that
     * arrive while the previous batch commits are applied together in one store transaction
     * (revision counter first, one savepoint per operation, so a refused operation changes
     * nothing) and committed once: one WAL flush per batch, not per operation. Deadlocks and
     * serialization failures retry the whole batch; listeners hear of the events after commit.
     */
    public <T> T write(String operation, Function<WriteTx, T> work) {
        return submit(new PendingWrite<>(operation, work, null, null, new java.util.concurrent.CompletableFuture<>()));
    }

    /**
     * Commands of one kind that a batch decides together in memory and writes set-based: the writer
     * hands every run of consecutive commands of a kind to {@link #apply} at once.
     *
     * @param <C> the command type
     */
    public interface CommandKind<C> {
        /**
         * Decides and writes a run of commands in order, inside the batch's transaction. Returns one
         * entry per command: its result, or the {@link RuntimeException} that refuses it. A refused
         * command must have written nothing; an exception thrown out of this method fails (or, when
         * it is contention, retries) the whole batch.
         */
        Object[] apply(WriteTx tx, List<C> commands);

        /**
         * Decides and writes a batch of these commands from what earlier batches left in
         * {@link WriteTx#memory} instead of reading the store; {@code null} (or a
         * {@link WriteTx.NotInMemory} thrown) when it needs a row it does not remember, and the writer
         * then runs {@link #apply} instead. Called on PostgreSQL only, for batches of this kind alone.
         */
        default Object[] applyFromMemory(WriteTx tx, List<C> commands) {
            return null;
        }

        /**
         * Whether this command, by what {@code memory} (this kind's entry in {@link WriteTx#memory},
         * as the writer's last commit left it) says, will only be queued behind others, so that no
         * caller waits for its answer: a lock request on a held lock, whose caller waits for a grant
         * later. The writer holds a batch of nothing but such commands for a moment
         * ({@link #LINGER_NANOS}), so that the release that will hand the lock on commits with them
         * instead of behind them. Called on the writer's thread; a wrong guess only delays an answer.
         */
        default boolean mayLinger(Object memory, C command) {
            return false;
        }
    }

    /**
     * How long the writer holds a batch of nothing but commands that will only be queued ({@link
     * CommandKind#mayLinger}), waiting for one that is not: anything else that arrives meanwhile
     * ends the wait at once. On a hot lock the holder's release then commits in the same transaction
     * as the previous holder's next request, instead of waiting for that request's commit.
     * {@code -Dlatchkey.store.linger.us} (microseconds; 0: off).
     */
    static final long LINGER_NANOS = java.util.concurrent.TimeUnit.MICROSECONDS.toNanos(Long.getLong("latchkey.store.linger.us", 1_000));

    /** Runs a command with the others of its kind in the next batch; returns its result once committed. */
    public <C, T> T command(CommandKind<C> kind, C command) {
        return join(this.<C, T>commandAsync(kind, command));
    }

    /**
     * Queues a command for the next batch without waiting: the future completes once the batch
     * committed (or failed), <em>on the writer's thread</em>, so whatever depends on it must not
     * block (hand anything slow to another thread).
     */
    @SuppressWarnings("unchecked")
    public <C, T> java.util.concurrent.CompletableFuture<T> commandAsync(CommandKind<C> kind, C command) {
        var pending = new PendingWrite<T>(kind.getClass().getSimpleName(), null, (CommandKind<Object>) kind, command,
                new java.util.concurrent.CompletableFuture<>());
        if (!writerRunning) {
            pending.result().completeExceptionally(new StoreUnavailableException("the store is closed", null));
        } else {
            writes.add(pending);
        }
        return pending.result();
    }

    private <T> T submit(PendingWrite<T> pending) {
        if (!writerRunning) {
            throw new StoreUnavailableException("the store is closed", null);
        }
        writes.add(pending);
        return join(pending.result());
    }

    /** Waits for a write's future and throws its failure as it was raised. */
    public static <T> T join(java.util.concurrent.CompletableFuture<T> result) {
        try {
            return result.join();
        } catch (java.util.concurrent.CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw new StoreUnavailableException(String.valueOf(cause), cause);
        }
    }

    /** How many writing operations wait for the writer (for tests). */
    int queuedWrites() {
        return writes.size();
    }

    private record PendingWrite<T>(String operation, Function<WriteTx, T> work, CommandKind<Object> kind, Object command,
            java.util.concurrent.CompletableFuture<T> result) {
    }

    private final java.util.concurrent.LinkedBlockingQueue<PendingWrite<?>> writes = new java.util.concurrent.LinkedBlockingQueue<>();
    private volatile boolean writerRunning = true;
    private final Thread writer;

    private void writeLoop() {
        while (writerRunning) {
            List<PendingWrite<?>> batch = new java.util.ArrayList<>();
            try {
                PendingWrite<?> first = writes.poll(1, java.util.concurrent.TimeUnit.SECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                writes.drainTo(batch, MAX_BATCH - 1);
                linger(batch);
                runBatch(batch);
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException | Error e) {
                for (PendingWrite<?> p : batch) {
                    p.result().completeExceptionally(e);
                }
            }
        }
        dropWriterConnection();
        List<PendingWrite<?>> left = new java.util.ArrayList<>();
        writes.drainTo(left);
        left.forEach(p -> p.result().completeExceptionally(new StoreUnavailableException("the store is closed", null)));
    }

    /** The most operations one batch takes from the queue. */
    private static final int MAX_BATCH = 256;

    /** While the batch holds nothing but commands that will only be queued, waits up to {@link #LINGER_NANOS} for one that is not. */
    private void linger(List<PendingWrite<?>> batch) throws InterruptedException {
        long window = lingerNanos;
        if (window <= 0 || memoryStamp < 0) {
            return; // (without the writer's memory there is nothing to tell a queued request by)
        }
        long deadline = System.nanoTime() + window;
        int checked = 0;
        while (batch.size() < MAX_BATCH) {
            for (; checked < batch.size(); checked++) {
                PendingWrite<?> p = batch.get(checked);
                if (p.kind() == null || !p.kind().mayLinger(memory.get(p.kind()), p.command())) {
                    return;
                }
            }
            long left = deadline - System.nanoTime();
            PendingWrite<?> next = left > 0 ? writes.poll(left, java.util.concurrent.TimeUnit.NANOSECONDS) : null;
            if (next == null) {
                return;
            }
            batch.add(next);
            writes.drainTo(batch, MAX_BATCH - batch.size());
            lingered++;
        }
    }

    private volatile long lingerNanos = LINGER_NANOS;

    /**
     * Sets how long this store's writer holds a batch of commands that will only be queued
     * ({@link #LINGER_NANOS} by default). Tests widen it so that whether a command joins a held
     * batch no longer depends on how fast a loaded machine schedules two threads.
     */
    void lingerFor(Duration window) {
        lingerNanos = window.toNanos();
    }

    /** How many commands joined a batch while the writer held it (a gauge for tests and the benchmark). */
    private volatile long lingered;

    public long lingered() {
        return lingered;
    }

    private final java.util.concurrent.atomic.AtomicLong batchRetries = new java.util.concurrent.atomic.AtomicLong();

    /**
     * How many times a batch was rolled back for contention and run again: a deadlock, a
     * serialization failure, or (on Galera) a certification conflict with another node's commit.
     */
    public long batchRetries() {
        return batchRetries.get();
    }

    private void runBatch(List<PendingWrite<?>> batch) throws InterruptedException {
        RetryPolicy policy = RetryPolicy.defaults().withMaxAttempts(20).withBackoff(Duration.ofMillis(2), Duration.ofMillis(100));
        for (int attempt = 1; ; ) {
            try {
                applyBatch(batch);
                return;
            } catch (SQLException | RuntimeException e) {
                boolean contention = FailureClassifier.classify(e).isPresent();
                if (!contention || attempt >= policy.maxAttempts()) {
                    RuntimeException failure = e instanceof RuntimeException r ? failureOf(r) : unavailable(e);
                    batch.forEach(p -> p.result().completeExceptionally(failure));
                    return;
                }
                batchRetries.incrementAndGet();
                Thread.sleep(policy.backoff(attempt));
                attempt++;
            }
        }
    }

    private void applyBatch(List<PendingWrite<?>> batch) throws SQLException {
        boolean kept = writerConnection != null;
        try {
            applyBatchOnce(batch);
        } catch (StaleConnection stale) {
            // nothing reached the database: a kept connection the database or network dropped is replaced once
            if (!kept) {
                throw stale.failure;
            }
            try {
                applyBatchOnce(batch);
            } catch (StaleConnection again) {
                throw again.failure;
            }
        }
    }

    /** A batch failed before its transaction's head ran (nothing was written). */
    private static final class StaleConnection extends RuntimeException {
        final RuntimeException failure;

        StaleConnection(Exception e) {
            super(e.getMessage(), e, false, false);
            this.failure = e instanceof RuntimeException r ? r : new org.jooq.exception.DataAccessException(e.getMessage(), e);
        }
    }

    /**
     * What the writer has done since the store opened: batches committed, the operations in them,
     * and where its time went: the head (with the batch's first read, when they share a round trip),
     * the writes with the commit, and each batch from start to its callers' answers; how many batches
     * were decided from the writer's memory, and how many such decisions the guard found stale. Totals only
     * grow, so differences over an interval give means (time ÷ batches) and how busy the writer was
     * (total time ÷ the interval).
     */
    public record BatchStats(long batches, long operations, long headNanos, long commitNanos, long totalNanos, long fromMemory,
            long staleMemory) {
        public BatchStats minus(BatchStats earlier) {
            return new BatchStats(batches - earlier.batches, operations - earlier.operations, headNanos - earlier.headNanos,
                    commitNanos - earlier.commitNanos, totalNanos - earlier.totalNanos, fromMemory - earlier.fromMemory,
                    staleMemory - earlier.staleMemory);
        }
    }

    private volatile BatchStats batchStats = new BatchStats(0, 0, 0, 0, 0, 0, 0); // (written by the writer's thread only)

    public BatchStats batchStats() {
        return batchStats;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private void applyBatchOnce(List<PendingWrite<?>> batch) throws SQLException {
        long started = System.nanoTime();
        if (applyFromMemory(batch, started)) {
            return;
        }
        long commitNanos = 0;
        Object[] results = new Object[batch.size()];
        RuntimeException[] failures = new RuntimeException[batch.size()];
        List<Event> events;
        Connection c = writerConnection();
        WriteTx tx = new WriteTx(c, writerDsl(c), kind, outageThresholdMs, remembering() ? memory : null);
        tx.rememberedStamp(memoryStamp); // (its head empties the memory if another writer committed since)
        boolean worksKept = true; // (every operation that is not a command said it changed nothing remembered)
        boolean commandsRan = false;
        try {
            boolean single = batch.size() == 1;
            for (int i = 0; i < batch.size(); ) {
                PendingWrite<?> pending = batch.get(i);
                if (pending.kind() != null) {
                    // a run of commands of one kind: decided together, written set-based, refusals write nothing
                    int end = i + 1;
                    while (end < batch.size() && batch.get(end).kind() == pending.kind()) {
                        end++;
                    }
                    List<Object> commands = new java.util.ArrayList<>(end - i);
                    for (int j = i; j < end; j++) {
                        commands.add(batch.get(j).command());
                    }
                    sort(pending.kind().apply(tx, commands), i, results, failures);
                    i = end;
                    commandsRan = true;
                    continue;
                }
                tx.begin(); // (its head first, outside the operation: a connection found dead here is replaced)
                tx.runDeferred(); // (what the commands before it wrote, before it reads)
                int mark = tx.mark();
                java.sql.Savepoint savepoint = single ? null : c.setSavepoint();
                tx.operationStarts();
                try {
                    results[i] = pending.work().apply(tx);
                    if (!tx.keptRemembered()) {
                        worksKept = false;
                    }
                    // (not released: a round trip saved; every savepoint ends with the transaction)
                } catch (RuntimeException e) {
                    if (FailureClassifier.classify(e).isPresent()) {
                        throw e; // contention: the whole batch is tried again
                    }
                    failures[i] = e;
                    tx.truncate(mark);
                    if (savepoint != null) {
                        c.rollback(savepoint); // this operation changes nothing; the others go on
                    }
                }
                i++;
            }
            if (worksKept && !commandsRan) {
                tx.keepsRemembered(); // (the stamp stays, unless events were emitted)
            } else {
                tx.operationStarts(); // (commands, or an operation that did not say: the stamp moves)
            }
            if (single && failures[0] != null) {
                c.rollback();
                events = List.of();
                remembered(tx, worksKept); // (refused, it changed nothing: the stamp is the head's, what was remembered stands)
            } else {
                long committing = System.nanoTime();
                tx.flush();
                c.commit();
                commitNanos = System.nanoTime() - committing;
                events = List.copyOf(tx.events());
                remembered(tx, worksKept); // (what the commands remembered is right; an operation that did not say empties it)
            }
        } catch (SQLException | RuntimeException e) {
            abandon(c, e);
            dropWriterConnection(); // (the pool checks it before anyone uses it again)
            if (!tx.begun() && !FailureClassifier.classify(e).isPresent()) {
                throw new StaleConnection(e);
            }
            throw e;
        }
        answer(batch, results, failures, events, tx.headNanos(), commitNanos, started, false);
    }

    /** Puts a run's outcomes, from {@code offset} in the batch on, into its results or, a refusal, its failures. */
    private static void sort(Object[] outcomes, int offset, Object[] results, RuntimeException[] failures) {
        for (int k = 0; k < outcomes.length; k++) {
            if (outcomes[k] instanceof RuntimeException refused) {
                failures[offset + k] = refused;
            } else {
                results[offset + k] = outcomes[k];
            }
        }
    }

    /** A batch failed: its transaction is rolled back and the writer forgets what it remembered. */
    private void abandon(Connection c, Exception e) {
        forget();
        try {
            c.rollback();
        } catch (SQLException rollbackFailure) {
            e.addSuppressed(rollbackFailure);
        }
    }

    /** Completes a committed batch's futures, tells the listeners of its events, and counts it. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private void answer(List<PendingWrite<?>> batch, Object[] results, RuntimeException[] failures, List<Event> events, long headNanos,
            long commitNanos, long started, boolean fromMemory) {
        if (!events.isEmpty()) {
            // before any caller hears of its commit: a read that follows must wait for it
            lastCommitted.accumulateAndGet(events.get(events.size() - 1).rev(), Math::max);
        }
        if (System.nanoTime() - writerConnectionSince > WRITER_CONNECTION_LIFETIME_NANOS) {
            dropWriterConnection(); // back to the pool now and then, so that its lifetime and health rules apply
        }
        for (int i = 0; i < batch.size(); i++) {
            java.util.concurrent.CompletableFuture future = batch.get(i).result();
            if (failures[i] != null) {
                future.completeExceptionally(failureOf(failures[i]));
            } else {
                future.complete(results[i]);
            }
        }
        if (!events.isEmpty()) {
            onCommit.accept(events);
        }
        BatchStats so = batchStats;
        batchStats = new BatchStats(so.batches() + 1, so.operations() + batch.size(), so.headNanos() + headNanos,
                so.commitNanos() + commitNanos, so.totalNanos() + System.nanoTime() - started, so.fromMemory() + (fromMemory ? 1 : 0),
                so.staleMemory());
    }

    /*
     * The writer's memory (PostgreSQL). A batch's transaction normally begins with a round trip that
     * takes the counter's row lock, reads the clock and reads the rows its commands touch. But the
     * writer knows those rows already when it wrote them last and nobody wrote since: then it decides
     * the batch from what it remembers, with the clock estimated from the last head's, and sends the
     * decision in the commit's round trip behind a guard (see WriteTx#flush) that proves, under the
     * counter's lock, that nobody did write since (the write stamp is the one its own last commit left)
     * and that the clock estimate is not ahead of the database's. If the guard finds otherwise, the
     * transaction rolls back having written nothing, and the batch runs the usual way. One round trip
     * per batch instead of two; the same rows, the same decisions, the same commit order.
     *
     * Every writing transaction of every coordinator adds one to the stamp. Keep-alives write outside
     * the writer and do not: they only ever extend a lease, so a remembered lease that is still running
     * is right (one that looks run out is not trusted: the batch reads the store).
     *
     * Only the writer's thread touches these.
     */
    private final java.util.Map<Object, Object> memory = new java.util.HashMap<>();
    private long memoryStamp = -1; // the write stamp after this writer's last commit; -1: remember nothing
    private long memoryRevision;
    private long clockMillis; // the database clock at the last head, and System.nanoTime() when its answer came back
    private long clockNanos;
    private long lastNow = Long.MIN_VALUE;
    private long memoryOffUntil; // after a stale guard: the next second's batches read the store
    private long writerLastUsed;
    private static final long MEMORY_OFF_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
    private static final long IDLE_CONNECTION_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);

    /**
     * Whether the writer remembers: on PostgreSQL, unless the system property {@code latchkey.store.memory}
     * is {@code false}. (It was off for a while after a CI failure that turned out not to be the
     * memory's: the test's frozen coordinator held the counter's lock through PgBouncer, whose 30 s
     * idle-transaction limit outlasted the waiters' 30 s waits; see docs/coordinator.md.)
     */
    private final boolean remembering = !"false".equalsIgnoreCase(System.getProperty("latchkey.store.memory"));

    private boolean remembering() {
        return remembering && kind == DatabaseKind.POSTGRES;
    }

    private void forget() {
        memory.clear();
        memoryStamp = -1;
    }

    /** After a committed batch read the usual way: what it left is what the store holds now. */
    private void remembered(WriteTx tx, boolean keepsMemory) {
        if (!remembering()) {
            return;
        }
        memoryStamp = tx.stamp() + (tx.stamped() ? 1 : 0);
        memoryRevision = tx.base() + tx.events().size();
        clockMillis = tx.now();
        clockNanos = tx.headReturnedNanos();
        lastNow = Math.max(lastNow, tx.now());
        writerLastUsed = System.nanoTime();
        if (!keepsMemory) {
            memory.clear(); // an operation that is not a command may have written anything
        }
    }

    /**
     * Runs a batch of commands of one kind from the writer's memory (see above), in one round trip.
     * False when it cannot (nothing remembered, a row not remembered, another writer's commit since):
     * nothing was written, and the batch runs the usual way.
     */
    @SuppressWarnings("unchecked")
    private boolean applyFromMemory(List<PendingWrite<?>> batch, long started) throws SQLException {
        CommandKind<Object> commandKind = batch.get(0).kind();
        long at = System.nanoTime();
        if (memoryStamp < 0 || commandKind == null || writerConnection == null || at < memoryOffUntil
                || at - writerLastUsed > IDLE_CONNECTION_NANOS) { // (a connection idle that long may be dead: the usual way replaces it)
            return false;
        }
        List<Object> commands = new java.util.ArrayList<>(batch.size());
        for (PendingWrite<?> p : batch) {
            if (p.kind() != commandKind) {
                return false;
            }
            commands.add(p.command());
        }
        // the clock as of the last head, moved on by the time since its answer: never ahead of the database's
        long now = Math.max(lastNow, clockMillis + (at - clockNanos) / 1_000_000 - 1);
        Connection c = writerConnection;
        WriteTx tx = WriteTx.fromMemory(c, writerDsl(c), kind, outageThresholdMs, memory, memoryRevision, memoryStamp, now);
        Object[] outcomes;
        try {
            outcomes = commandKind.applyFromMemory(tx, commands);
        } catch (WriteTx.NotInMemory miss) {
            outcomes = null;
        }
        if (outcomes == null) {
            return false;
        }
        long committing = System.nanoTime();
        try {
            tx.flush();
            c.commit();
        } catch (SQLException | RuntimeException e) {
            abandon(c, e);
            if (WriteTx.staleMemory(e)) {
                memoryOffUntil = System.nanoTime() + MEMORY_OFF_NANOS;
                BatchStats so = batchStats;
                batchStats = new BatchStats(so.batches(), so.operations(), so.headNanos(), so.commitNanos(), so.totalNanos(), so.fromMemory(),
                        so.staleMemory() + 1);
                return false; // nothing was written: run it the usual way
            }
            dropWriterConnection();
            throw e;
        }
        long commitNanos = System.nanoTime() - committing;
        memoryStamp++;
        memoryRevision += tx.events().size();
        lastNow = now;
        writerLastUsed = System.nanoTime();
        Object[] results = new Object[batch.size()];
        RuntimeException[] failures = new RuntimeException[batch.size()];
        sort(outcomes, 0, results, failures);
        answer(batch, results, failures, List.copyOf(tx.events()), 0, commitNanos, started, true);
        return true;
    }

    /*
     * The writer keeps one connection, in manual-commit mode, from batch to batch: borrowing one from
     * the pool and switching its commit mode cost round trips on every batch (two on MySQL and
     * MariaDB). Only the writer thread touches these.
     */
    private Connection writerConnection;
    private long writerConnectionSince;
    private static final long WRITER_CONNECTION_LIFETIME_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(60);

    /** jOOQ's view of the writer's connection, made once per connection (each one copies jOOQ's settings). */
    private DSLContext writerDsl;
    private Connection writerDslFor;

    private DSLContext writerDsl(Connection c) {
        if (writerDslFor != c) {
            writerDsl = dsl(c);
            writerDslFor = c;
        }
        return writerDsl;
    }

    private Connection writerConnection() throws SQLException {
        if (writerConnection == null) {
            Connection c = dataSource.getConnection();
            try {
                c.setAutoCommit(false);
            } catch (SQLException e) {
                c.close();
                throw e;
            }
            writerConnection = c;
            writerConnectionSince = System.nanoTime();
        }
        return writerConnection;
    }

    private void dropWriterConnection() {
        Connection c = writerConnection;
        writerConnection = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // the pool discards it
            }
        }
    }

    private final java.util.concurrent.atomic.AtomicLong lastCommitted = new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);

    /** The newest revision this coordinator's writer has committed (nothing yet: {@code Long.MIN_VALUE}). */
    public long lastCommittedRevision() {
        return lastCommitted.get();
    }

    /**
     * What a failed write tells its caller: a refusal decided by the caller's own work (the core's
     * exceptions) passes through as it is; anything the database or driver threw is the store's.
     */
    private static RuntimeException failureOf(RuntimeException e) {
        return e instanceof StoreUnavailableException || e instanceof ValueRefusedException || !fromDatabase(e) ? e : unavailable(e);
    }

    private static boolean fromDatabase(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException || t instanceof org.jooq.exception.DataAccessException) {
                return true;
            }
        }
        return FailureClassifier.classify(e).isPresent();
    }

    /** A read that needs the database clock: the work gets a DSL context and "now" in epoch ms. */
    public <T> T readAt(java.util.function.BiFunction<DSLContext, Long, T> work) {
        return read(c -> {
            try {
                return work.apply(dsl(c), nowMillis(c));
            } catch (SQLException e) {
                throw new StoreUnavailableException("cannot read the database clock: " + e.getMessage(), e);
            }
        });
    }

    /** Runs a read on a connection in auto-commit mode. */
    public <T> T read(Function<Connection, T> work) {
        return run(() -> {
            try (Connection c = dataSource.getConnection()) {
                return work.apply(c);
            } catch (SQLException e) {
                throw unavailable(e);
            }
        });
    }

    private static <T> T run(java.util.function.Supplier<T> body) {
        try {
            return body.get();
        } catch (StoreUnavailableException | ValueRefusedException e) {
            throw e;
        } catch (org.jooq.exception.DataAccessException e) {
            throw unavailable(e);
        } catch (RuntimeException e) {
            if (e.getCause() instanceof SQLException || FailureClassifier.classify(e).isPresent()) {
                throw unavailable(e);
            }
            throw e;
        }
    }

    /**
     * What a failed statement means to the caller: a value the database would not take (SQLSTATE
     * class 22, data exception: a NUL character, a string too long) is the request's fault, and
     * a refusal; anything else is the store failing.
     */
    private static RuntimeException unavailable(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("22")) {
                return new ValueRefusedException("the store would not take a value of this request: " + sql.getMessage(), e);
            }
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        boolean connection = root instanceof SQLTransientConnectionException || root instanceof java.net.ConnectException;
        return new StoreUnavailableException((connection ? "the store is unreachable: " : "the store failed: ") + root.getMessage(), e);
    }

    /** Whether the store answers a trivial query within the pool's validation timeout. */
    public boolean healthy() {
        try (Connection c = dataSource.getConnection()) {
            return c.isValid(2);
        } catch (SQLException e) {
            return false;
        }
    }

    @Override
    public void close() {
        writerRunning = false;
        writer.interrupt();
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        dataSource.close();
    }

    /** The store could not be reached or used. */
    public static final class StoreUnavailableException extends RuntimeException {
        public StoreUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * The database refused a value of the request (SQLSTATE class 22, data exception: a NUL
     * character, a string too long): the request's fault, not the store's, and nothing was written.
     */
    public static final class ValueRefusedException extends RuntimeException {
        public ValueRefusedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
