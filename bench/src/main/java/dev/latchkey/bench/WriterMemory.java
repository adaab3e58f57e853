package dev.latchkey.bench;

import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.Grant;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.StoreConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The store writer with its memory on and off (issue #19, fifth part), in one JVM, alternating:
 * one thread acquires and releases one lock through the coordinator's core (no HTTP, no channel),
 * so what is compared is the writer's batches alone. Each round opens a coordinator on a fresh
 * PostgreSQL schema ({@code LATCHKEY_BENCH_PG_URL}) with {@code latchkey.store.memory} set either way.
 *
 * <p>{@code java -cp bench/target/latchkey-bench.jar dev.latchkey.bench.WriterMemory [pairs per round] [rounds]}
 */
public final class WriterMemory {

    private WriterMemory() {
    }

    /** One round: milliseconds per acquire + release, and the writer's counters over it. */
    record Round(boolean memory, double pairMs, Store.BatchStats writer) {
    }

    public static void main(String[] args) throws Exception {
        int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 3_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        List<Round> results = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            for (boolean memory : r % 2 == 0 ? new boolean[] {false, true} : new boolean[] {true, false}) {
                results.add(round(memory, pairs));
            }
        }
        System.out.println("| writer's memory | acquire + release, ms (per round) | median | from memory | head and first read, ms | writes and commit, ms | whole batch, ms |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|");
        double off = 0;
        for (boolean memory : new boolean[] {false, true}) {
            List<Round> mine = results.stream().filter(x -> x.memory() == memory).toList();
            double median = median(mine.stream().map(Round::pairMs).toList());
            if (!memory) {
                off = median;
            }
            System.out.printf(Locale.ROOT, "| %s | %s | %.3f%s | %.1f %% | %.3f | %.3f | %.3f |%n", memory ? "on" : "off",
                    String.join(", ", mine.stream().map(x -> String.format(Locale.ROOT, "%.3f", x.pairMs())).toList()), median,
                    memory ? String.format(Locale.ROOT, " (%.2f×)", median / off) : "",
                    median(mine.stream().map(x -> 100.0 * x.writer().fromMemory() / x.writer().batches()).toList()),
                    median(mine.stream().map(x -> x.writer().headNanos() / 1e6 / x.writer().batches()).toList()),
                    median(mine.stream().map(x -> x.writer().commitNanos() / 1e6 / x.writer().batches()).toList()),
                    median(mine.stream().map(x -> x.writer().totalNanos() / 1e6 / x.writer().batches()).toList()));
        }
    }

    private static Round round(boolean memory, int pairs) throws Exception {
        try (BenchDatabase db = BenchDatabase.create()) {
            return round(memory, pairs, new StoreConfig(db.url(), db.user(), db.password(), 4));
        }
    }

    /** One round on the store {@code config} names (package-private for the smoke test). */
    static Round round(boolean memory, int pairs, StoreConfig config) {
        System.setProperty("latchkey.store.memory", Boolean.toString(memory)); // (read when the store opens)
        try (Coordinator coordinator = new Coordinator(config, Coordinator.Settings.defaults())) {
            String session = coordinator.sessions().open("writer-memory", 60_000).id();
            for (int i = 0; i < pairs / 10; i++) { // (warm-up)
                coordinator.locks().acquire("/bench", session, Grant.Mode.EXCLUSIVE, Duration.ZERO, 0);
                coordinator.locks().release("/bench", session);
            }
            Store.BatchStats before = coordinator.store().batchStats();
            long started = System.nanoTime();
            for (int i = 0; i < pairs; i++) {
                coordinator.locks().acquire("/bench", session, Grant.Mode.EXCLUSIVE, Duration.ZERO, 0);
                coordinator.locks().release("/bench", session);
            }
            double pairMs = (System.nanoTime() - started) / 1e6 / pairs;
            return new Round(memory, pairMs, coordinator.store().batchStats().minus(before));
        } finally {
            System.clearProperty("latchkey.store.memory");
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
