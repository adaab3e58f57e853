package dev.latchkey.bench;

import com.zaxxer.hikari.HikariDataSource;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Toolkit overhead on PostgreSQL: each benchmark is one transaction, single-threaded, against the
 * database named by {@code LATCHKEY_BENCH_PG_URL} (default: the local server), in a fresh schema.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ToolkitOverheadBenchmark {

    private BenchDatabase database;
    private HikariDataSource pool;
    private OverheadFixture fixture;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        database = BenchDatabase.create();
        pool = database.pool(2);
        fixture = new OverheadFixture(pool);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        database.close();
    }

    @Benchmark
    public void casHandJdbc() throws Exception {
        fixture.handCas();
    }

    @Benchmark
    public void casToolkit() throws Exception {
        fixture.toolkitCas();
    }

    @Benchmark
    public void casJooqOptimisticLocking() throws Exception {
        fixture.jooqOptimisticLocking();
    }

    @Benchmark
    public void lockThenUpdateHandJdbc() throws Exception {
        fixture.handLockThenUpdate();
    }

    @Benchmark
    public void lockThenUpdateToolkit() throws Exception {
        fixture.toolkitLockThenUpdate();
    }
}
