package dev.latchkey.bench;

import java.util.List;
import java.util.Locale;

/** A small horizontal bar chart as SVG, so benchmark results can be looked at in the docs. */
public final class SvgBarChart {

    /** One bar: a label, a value, its error (half-width of the confidence interval) and a note drawn after it. */
    public record Bar(String label, double value, double error, String note) {
    }

    private SvgBarChart() {
    }

    public static String render(String title, String unit, List<Bar> bars) {
        int labelWidth = 260;
        int chartWidth = 460;
        int rowHeight = 30;
        int top = 50;
        int height = top + bars.size() * rowHeight + 40;
        double max = bars.stream().mapToDouble(b -> b.value() + b.error()).max().orElse(1);
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"13\">%n", labelWidth + chartWidth + 220, height));
        svg.append(String.format(Locale.ROOT, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n"));
        svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">%s</text>%n", escape(title)));
        for (int i = 0; i < bars.size(); i++) {
            Bar b = bars.get(i);
            int y = top + i * rowHeight;
            double w = b.value() / max * chartWidth;
            double e = b.error() / max * chartWidth;
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n", labelWidth - 8, y + 17,
                    escape(b.label())));
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\"/>%n", labelWidth, y + 3,
                    w, (b.label().toLowerCase(Locale.ROOT).contains("toolkit") || b.label().startsWith("latchkey")) ? "#2b6cb0" : "#a0aec0"));
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>%n",
                    labelWidth + w - e, labelWidth + w + e, y + 13, y + 13));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%s</text>%n", labelWidth + w + e + 6, y + 17,
                    escape(String.format(Locale.ROOT, "%,.0f %s %s", b.value(), unit, b.note()))));
        }
        if (bars.stream().anyMatch(b -> b.error() > 0)) {
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#555\">bars: mean; whiskers: 99.9%% confidence interval</text>%n",
                    labelWidth, height - 12));
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
