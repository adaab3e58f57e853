package dev.latchkey.shop;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Arena runs started from the web page or the JSON API, run one at a time in the background. */
final class ArenaJobs {

    /** One run: several rounds, with live progress. */
    static final class Job {
        final long id;
        final List<Arena.Round> rounds;
        final List<Arena.Result> results = new java.util.concurrent.CopyOnWriteArrayList<>();
        final AtomicInteger buyersDone = new AtomicInteger();
        final int buyersTotal;
        volatile String status = "queued";
        volatile String error;

        Job(long id, List<Arena.Round> rounds) {
            this.id = id;
            this.rounds = rounds;
            this.buyersTotal = rounds.stream().mapToInt(Arena.Round::buyers).sum();
        }

        Map<String, Object> json() {
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            out.put("id", id);
            out.put("status", status);
            out.put("buyersDone", buyersDone.get());
            out.put("buyersTotal", buyersTotal);
            out.put("progress", buyersTotal == 0 ? 1.0 : (double) buyersDone.get() / buyersTotal);
            if (error != null) {
                out.put("error", error);
            }
            out.put("results", results.stream().map(ArenaJobs::resultJson).toList());
            if (status.equals("done")) {
                out.put("verdict", Verdict.of(List.copyOf(results)));
            }
            return out;
        }
    }

    private final Arena arena;
    private final Map<Long, Job> jobs = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Object runLock = new Object();

    ArenaJobs(Arena arena) {
        this.arena = arena;
    }

    /** Runs waiting or running at once, at most; more are refused until one ends. */
    static final int MAX_PENDING = 8;
    /** Finished runs kept for their results; older ones are forgotten. */
    static final int KEEP_FINISHED = 100;

    /** Too many runs are waiting already. */
    static final class Busy extends RuntimeException {
        Busy(String message) {
            super(message);
        }
    }

    synchronized Job start(List<Arena.Round> rounds) {
        long pending = jobs.values().stream().filter(j -> j.status.equals("queued") || j.status.equals("running")).count();
        if (pending >= MAX_PENDING) {
            throw new Busy(pending + " arena runs are waiting or running; start another when one ends");
        }
        List<Long> finished = jobs.values().stream().filter(j -> !j.status.equals("queued") && !j.status.equals("running"))
                .map(j -> j.id).sorted().toList();
        for (int i = 0; i < finished.size() - KEEP_FINISHED + 1; i++) {
            jobs.remove(finished.get(i));
        }
        Job job = new Job(ids.incrementAndGet(), rounds);
        jobs.put(job.id, job);
        Thread.ofVirtual().name("arena-" + job.id).start(() -> {
            synchronized (runLock) {
                job.status = "running";
                try {
                    for (Arena.Round round : rounds) {
                        job.results.add(arena.run(round, 9_000 + job.id, job.buyersDone::incrementAndGet));
                    }
                    job.status = "done";
                } catch (Exception e) {
                    job.error = String.valueOf(e.getMessage());
                    job.status = "failed";
                }
            }
        });
        return job;
    }

    /** How many runs are known (waiting, running or kept). */
    int size() {
        return jobs.size();
    }

    Job get(long id) {
        return jobs.get(id);
    }

    static Map<String, Object> resultJson(Arena.Result r) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("strategy", r.round().strategy().id());
        out.put("impl", r.round().impl().id());
        out.put("buyers", r.round().buyers());
        out.put("stock", r.round().stock());
        out.put("paymentMs", r.round().payment().toMillis());
        out.put("purchased", r.purchased());
        out.put("oversold", r.oversold());
        out.put("soldOut", r.soldOut());
        out.put("busy", r.busy());
        out.put("retries", r.retries());
        out.put("errors", r.errors());
        out.put("requestsPerSecond", Math.round(r.requestsPerSecond() * 10) / 10.0);
        out.put("p50Ms", round(r.p50Millis()));
        out.put("p95Ms", round(r.p95Millis()));
        out.put("p99Ms", round(r.p99Millis()));
        out.put("label", r.round().label());
        out.put("payments", r.payments());
        out.put("wastedPayments", r.wastedPayments());
        out.put("busyShare", round(r.busyShare()));
        out.put("loserP50Ms", round(r.loserP50Millis()));
        return out;
    }

    static String csv(Job job) {
        StringBuilder sb = new StringBuilder("strategy,impl,buyers,stock,paymentMs,purchased,oversold,soldOut,busy,retries,errors,"
                + "requestsPerSecond,p50Ms,p95Ms,p99Ms,payments,wastedPayments,loserP50Ms\n");
        for (Arena.Result r : job.results) {
            sb.append(String.format(Locale.ROOT, "%s,%s,%d,%d,%d,%d,%d,%d,%d,%d,%d,%.1f,%.2f,%.2f,%.2f,%d,%d,%.2f%n", r.round().strategy().id(),
                    r.round().impl().id(),
                    r.round().buyers(), r.round().stock(), r.round().payment().toMillis(), r.purchased(), r.oversold(), r.soldOut(),
                    r.busy(), r.retries(), r.errors(), r.requestsPerSecond(), r.p50Millis(), r.p95Millis(), r.p99Millis(), r.payments(),
                    r.wastedPayments(), r.loserP50Millis()));
        }
        return sb.toString();
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    static List<Arena.Round> rounds(List<Strategy> strategies, int buyers, int stock, List<Long> paymentMillis) {
        return rounds(strategies, List.of(Arena.Impl.JDBC), buyers, stock, paymentMillis);
    }

    /** Every strategy under every implementation, implementations side by side, for each payment time. */
    static List<Arena.Round> rounds(List<Strategy> strategies, List<Arena.Impl> impls, int buyers, int stock, List<Long> paymentMillis) {
        List<Arena.Round> rounds = new ArrayList<>();
        for (long p : paymentMillis) {
            for (Strategy s : strategies) {
                for (Arena.Impl impl : impls) {
                    rounds.add(new Arena.Round(s, buyers, stock, java.time.Duration.ofMillis(p), impl));
                }
            }
        }
        return rounds;
    }
}
