package dev.latchkey.shop;

import java.util.List;
import java.util.Locale;

/** Server-side SVG charts of arena results, so the pages need no chart library from the network. */
final class Charts {

    private Charts() {
    }

    /** Two panels: requests per second, and latency p50/p95/p99, one group of bars per round. */
    static String arena(List<Arena.Result> results) {
        int rows = Math.max(1, results.size());
        int rowHeight = 34;
        int labelWidth = 230;
        int panelWidth = 330;
        int height = 60 + rows * rowHeight + 30;
        double maxRps = results.stream().mapToDouble(Arena.Result::requestsPerSecond).max().orElse(1);
        double maxLatency = results.stream().mapToDouble(Arena.Result::p99Millis).max().orElse(1);
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"arena-chart\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">", labelWidth + 2 * panelWidth + 130, height));
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        svg.append(text(labelWidth, 20, "requests per second", "bold"));
        svg.append(text(labelWidth + panelWidth + 40, 20, "latency ms (p50, p95, p99)", "bold"));
        for (int i = 0; i < results.size(); i++) {
            Arena.Result r = results.get(i);
            int y = 40 + i * rowHeight;
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s, %d ms</text>", labelWidth - 8, y + 16,
                    Html.escape(r.round().label()), r.round().payment().toMillis()));
            double w = r.requestsPerSecond() / Math.max(1e-9, maxRps) * (panelWidth - 70);
            svg.append(String.format(Locale.ROOT, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"#2b6cb0\"/>", labelWidth, y + 3, w));
            svg.append(text(labelWidth + w + 4, y + 17, String.format(Locale.ROOT, "%.0f", r.requestsPerSecond()), "normal"));
            int x0 = labelWidth + panelWidth + 40;
            double[] values = {r.p50Millis(), r.p95Millis(), r.p99Millis()};
            String[] colours = {"#9ae6b4", "#f6ad55", "#e53e3e"};
            for (int k = 2; k >= 0; k--) {
                double lw = values[k] / Math.max(1e-9, maxLatency) * (panelWidth - 70);
                svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>", x0, y + 3, lw, colours[k]));
            }
            double lw = values[2] / Math.max(1e-9, maxLatency) * (panelWidth - 70);
            svg.append(text(x0 + lw + 4, y + 17, String.format(Locale.ROOT, "%.0f / %.0f / %.0f", values[0], values[1], values[2]), "normal"));
        }
        svg.append("</svg>");
        return svg.toString();
    }

    private static String text(double x, int y, String s, String weight) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-weight=\"%s\">%s</text>", x, y, weight, Html.escape(s));
    }
}
