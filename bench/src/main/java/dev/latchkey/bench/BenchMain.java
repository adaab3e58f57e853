package dev.latchkey.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the toolkit-overhead benchmarks in one JMH run and reports each contender as a ratio to
 * hand-written JDBC measured in the same run.
 *
 * <pre>
 * java -jar bench/target/latchkey-bench.jar [--quick] [--markdown FILE] [--svg FILE]
 * </pre>
 */
public final class BenchMain {

    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        Path markdown = null;
        Path svg = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--markdown" -> markdown = Path.of(args[++i]);
                case "--svg" -> svg = Path.of(args[++i]);
                default -> {
                    System.err.println("usage: latchkey-bench [--quick] [--markdown FILE] [--svg FILE]");
                    System.exit(2);
                }
            }
        }
        Options options = new OptionsBuilder()
                .include(ToolkitOverheadBenchmark.class.getSimpleName())
                .forks(quick ? 1 : 2)
                .warmupIterations(quick ? 1 : 2).warmupTime(TimeValue.seconds(quick ? 1 : 3))
                .measurementIterations(quick ? 3 : 6).measurementTime(TimeValue.seconds(quick ? 1 : 3))
                .build();
        Collection<RunResult> results = new Runner(options).run();
        Map<String, Result<?>> scores = new LinkedHashMap<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            scores.put(name.substring(name.lastIndexOf('.') + 1), r.getPrimaryResult());
        }
        String table = markdownTable(scores);
        System.out.println();
        System.out.println(table);
        if (markdown != null) {
            Files.writeString(markdown, table);
        }
        if (svg != null) {
            Files.writeString(svg, SvgBarChart.render("Toolkit overhead on PostgreSQL (one transaction per operation)", "ops/s",
                    bars(scores)));
        }
    }

    static String markdownTable(Map<String, Result<?>> scores) {
        StringBuilder sb = new StringBuilder("| benchmark | ops/s | ± (99.9%) | ratio to hand-written JDBC |\n|---|---:|---:|---:|\n");
        for (Map.Entry<String, Result<?>> e : scores.entrySet()) {
            Result<?> r = e.getValue();
            sb.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f | %s |%n", e.getKey(), r.getScore(), r.getScoreError(),
                    ratio(scores, e.getKey())));
        }
        return sb.toString();
    }

    private static List<SvgBarChart.Bar> bars(Map<String, Result<?>> scores) {
        List<SvgBarChart.Bar> bars = new ArrayList<>();
        for (Map.Entry<String, Result<?>> e : scores.entrySet()) {
            bars.add(new SvgBarChart.Bar(e.getKey(), e.getValue().getScore(), e.getValue().getScoreError(), "(" + ratio(scores, e.getKey()) + ")"));
        }
        return bars;
    }

    /** The score as a fraction of the hand-written baseline of the same family (cas..., lockThenUpdate...). */
    static String ratio(Map<String, Result<?>> scores, String name) {
        String family = name.startsWith("cas") ? "cas" : "lockThenUpdate";
        Result<?> baseline = scores.get(family + "HandJdbc");
        if (baseline == null || baseline.getScore() == 0) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%.3f", scores.get(name).getScore() / baseline.getScore());
    }
}
