package dev.latchkey.shop;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Server-side SVG charts of arena results, so the pages need no chart library from the network:
 * one row per round, a legend on each, units on every axis.
 */
final class Charts {

    static final String PURCHASED = "#2f855a";
    static final String SOLD_OUT = "#a0aec0";
    static final String BUSY = "#dd6b20";
    static final String ERROR = "#c53030";
    static final String PAID = "#2b6cb0";
    static final String WAITING = "#e2e8f0";

    private static final int LABEL = 250;
    private static final int PLOT = 420;
    private static final int ROW = 30;

    private Charts() {
    }

    /** One stacked segment of a row: its value and colour. */
    private record Segment(double value, String colour) {
    }

    /** A legend entry. */
    private record Key(String label, String colour) {
    }

    /** Outcomes per round, stacked: purchased, sold out, busy, error (in buyers). */
    static String outcomes(List<Arena.Result> results) {
        return stacked("outcomes-chart", "What each buyer was told", "buyers", results,
                r -> List.of(new Segment(r.purchased(), PURCHASED), new Segment(r.soldOut(), SOLD_OUT), new Segment(r.busy(), BUSY),
                        new Segment(r.errors(), ERROR)),
                r -> String.format(Locale.ROOT, "%d / %d / %d / %d", r.purchased(), r.soldOut(), r.busy(), r.errors()),
                List.of(new Key("purchased", PURCHASED), new Key("sold out", SOLD_OUT), new Key("busy (try again)", BUSY), new Key("error", ERROR)));
    }

    /** Payments that bought nothing, per round. */
    static String wasted(List<Arena.Result> results) {
        return stacked("wasted-chart", "Wasted payments: paid, then lost the item (and paid again)", "payments", results,
                r -> List.of(new Segment(r.purchased(), PAID), new Segment(r.wastedPayments(), BUSY)),
                r -> String.format(Locale.ROOT, "%d wasted of %d", r.wastedPayments(), r.payments()),
                List.of(new Key("payment that bought the item", PAID), new Key("wasted payment", BUSY)));
    }

    /** Answers per second, with the share that was "busy" marked. */
    static String throughput(List<Arena.Result> results) {
        return stacked("throughput-chart", "Answers per second (the orange part: told 'busy')", "answers per second", results,
                r -> List.of(new Segment(r.requestsPerSecond() * (1 - r.busyShare()), PAID), new Segment(r.requestsPerSecond() * r.busyShare(), BUSY)),
                r -> String.format(Locale.ROOT, "%.0f/s, %.0f%% busy", r.requestsPerSecond(), 100 * r.busyShare()),
                List.of(new Key("purchased or sold out", PAID), new Key("busy", BUSY)));
    }

    /** Latency p50, p95 and p99 of every buyer's answer, in milliseconds. */
    static String latency(List<Arena.Result> results) {
        double max = Math.max(1e-9, results.stream().mapToDouble(Arena.Result::p99Millis).max().orElse(1));
        StringBuilder svg = header("latency-chart", "Time to an answer (ms)", results.size(), List.of(new Key("p50", "#9ae6b4"),
                new Key("p95", "#f6ad55"), new Key("p99", "#e53e3e")));
        for (int i = 0; i < results.size(); i++) {
            Arena.Result r = results.get(i);
            int y = top(i);
            label(svg, y, r);
            double[] values = {r.p50Millis(), r.p95Millis(), r.p99Millis()};
            String[] colours = {"#9ae6b4", "#f6ad55", "#e53e3e"};
            for (int k = 2; k >= 0; k--) {
                svg.append(rect(LABEL, y, values[k] / max * PLOT, colours[k]));
            }
            svg.append(text(LABEL + values[2] / max * PLOT + 6, y + 15, String.format(Locale.ROOT, "%.1f / %.1f / %.1f ms", values[0], values[1],
                    values[2]), "normal", "start"));
        }
        axis(svg, results.size(), max, "ms");
        return svg.append("</svg>").toString();
    }

    /** The old two-panel chart (requests per second and latency), kept for links made before. */
    static String arena(List<Arena.Result> results) {
        return throughput(results).replace("id=\"throughput-chart\"", "id=\"arena-chart\"");
    }

    /**
     * One round as a trace view: a row per buyer on one time axis; grey while waiting or working,
     * blue while paying for the item it got, orange while paying for one it then lost; the mark at
     * the end is the answer (green purchased, grey sold out, orange busy).
     */
    static String timeline(Arena.Result r) {
        List<BuyerTrace> buyers = r.timeline();
        int rowHeight = buyers.size() > 100 ? 3 : buyers.size() > 40 ? 6 : 12;
        double end = Math.max(1e-9, buyers.stream().mapToDouble(BuyerTrace::endMs).max().orElse(1));
        int width = 80 + 720 + 40;
        int height = 70 + buyers.size() * rowHeight + 40;
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline-chart\" "
                + "width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\"><rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>",
                width, height));
        svg.append(text(80, 18, "One round, buyer by buyer: " + r.round().label() + ", " + r.round().buyers() + " buyers, "
                + r.round().payment().toMillis() + " ms payment", "bold", "start"));
        legend(svg, 80, 36, List.of(new Key("waiting or working", WAITING), new Key("paying (bought)", PAID), new Key("paying (wasted)", BUSY),
                new Key("purchased", PURCHASED), new Key("sold out", SOLD_OUT), new Key("busy", BUSY)));
        double scale = 720 / end;
        for (int i = 0; i < buyers.size(); i++) {
            BuyerTrace b = buyers.get(i);
            double y = 60 + i * rowHeight;
            double h = Math.max(2, rowHeight - 1);
            svg.append(String.format(Locale.ROOT, "<rect class=\"buyer\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %s after %.1f ms, %d attempt(s)</title></rect>",
                    80 + b.startMs() * scale, y, Math.max(1, (b.endMs() - b.startMs()) * scale), h, WAITING, b.buyer(),
                    b.outcome().name().toLowerCase(Locale.ROOT).replace('_', ' '), b.endMs() - b.startMs(), b.attempts()));
            for (int k = 0; k < b.paymentsMs().size(); k++) {
                double[] p = b.paymentsMs().get(k);
                boolean bought = b.outcome() == Purchase.Outcome.PURCHASED && k == b.paymentsMs().size() - 1;
                svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", 80 + p[0] * scale, y,
                        Math.max(1, (p[1] - p[0]) * scale), h, bought ? PAID : BUSY));
            }
            String mark = switch (b.outcome()) {
                case PURCHASED -> PURCHASED;
                case SOLD_OUT -> SOLD_OUT;
                case BUSY -> BUSY;
            };
            svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"3\" height=\"%.1f\" fill=\"%s\"/>", 80 + b.endMs() * scale, y, h, mark));
        }
        double axisY = 60 + buyers.size() * rowHeight + 4;
        svg.append(String.format(Locale.ROOT, "<line x1=\"80\" y1=\"%.1f\" x2=\"800\" y2=\"%.1f\" stroke=\"#4a5568\"/>", axisY, axisY));
        for (int t = 0; t <= 4; t++) {
            double x = 80 + t * 180;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#4a5568\"/>", x, axisY, x, axisY + 4));
            svg.append(text(x, (int) axisY + 18, String.format(Locale.ROOT, "%.0f ms", end * t / 4), "normal", "middle"));
        }
        svg.append(text(60, 70, "buyers", "normal", "end"));
        return svg.append("</svg>").toString();
    }

    // ---- the parts -----------------------------------------------------------------------------------

    private static String stacked(String id, String title, String unit, List<Arena.Result> results,
            Function<Arena.Result, List<Segment>> segments, Function<Arena.Result, String> valueLabel, List<Key> keys) {
        double max = Math.max(1e-9, results.stream().mapToDouble(r -> segments.apply(r).stream().mapToDouble(Segment::value).sum()).max().orElse(1));
        StringBuilder svg = header(id, title, results.size(), keys);
        for (int i = 0; i < results.size(); i++) {
            Arena.Result r = results.get(i);
            int y = top(i);
            label(svg, y, r);
            double x = LABEL;
            for (Segment s : segments.apply(r)) {
                double w = s.value() / max * PLOT;
                if (w > 0) {
                    svg.append(rect(x, y, w, s.colour()));
                    x += w;
                }
            }
            svg.append(text(x + 6, y + 15, valueLabel.apply(r), "normal", "start"));
        }
        axis(svg, results.size(), max, unit);
        return svg.append("</svg>").toString();
    }

    private static StringBuilder header(String id, String title, int rows, List<Key> keys) {
        int height = 64 + Math.max(1, rows) * ROW + 52;
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"%s\" class=\"chart\" "
                + "width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\"><rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>",
                id, LABEL + PLOT + 190, height));
        svg.append(text(10, 18, title, "bold", "start"));
        legend(svg, 10, 36, keys);
        return svg;
    }

    private static void legend(StringBuilder svg, int x0, int y, List<Key> keys) {
        int x = x0;
        for (Key k : keys) {
            svg.append(String.format(Locale.ROOT, "<rect class=\"legend\" x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y - 10,
                    k.colour()));
            svg.append(text(x + 16, y, k.label(), "normal", "start"));
            x += 26 + k.label().length() * 7;
        }
    }

    private static int top(int i) {
        return 54 + i * ROW;
    }

    private static void label(StringBuilder svg, int y, Arena.Result r) {
        svg.append(text(LABEL - 8, y + 15, r.round().label() + ", " + r.round().payment().toMillis() + " ms pay", "normal", "end"));
    }

    private static void axis(StringBuilder svg, int rows, double max, String unit) {
        int y = top(Math.max(1, rows)) + 2;
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#4a5568\"/>", LABEL, y, LABEL + PLOT, y));
        for (int t = 0; t <= 4; t++) {
            double x = LABEL + t * PLOT / 4.0;
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#4a5568\"/>", x, y, x, y + 4));
            svg.append(text(x, y + 17, number(max * t / 4), "normal", "middle"));
        }
        svg.append(text(LABEL + PLOT / 2.0, y + 33, unit, "normal", "middle"));
    }

    private static String number(double v) {
        return v >= 100 || v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String rect(double x, int y, double w, String colour) {
        return String.format(Locale.ROOT, "<rect class=\"bar\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>", x, y + 2, w, colour);
    }

    private static String text(double x, int y, String s, String weight, String anchor) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-weight=\"%s\" text-anchor=\"%s\">%s</text>", x, y, weight, anchor,
                Html.escape(s));
    }
}
