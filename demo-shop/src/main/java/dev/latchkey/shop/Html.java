package dev.latchkey.shop;

/** Tiny helpers for the server-rendered pages. */
final class Html {

    private Html() {
    }

    static String escape(Object value) {
        String s = String.valueOf(value);
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    static String page(String title, String banner, String body) {
        return """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>%s · Latchkey shop</title>
                <style>
                 body{font-family:system-ui,sans-serif;margin:0;color:#1a202c}
                 header{background:#2b6cb0;color:white;padding:12px 24px;display:flex;gap:24px;align-items:center}
                 header a{color:white;text-decoration:none;font-weight:600}
                 main{padding:24px;max-width:1100px}
                 .banner{background:#fefcbf;padding:8px 24px}
                 table{border-collapse:collapse}td,th{padding:6px 10px;border-bottom:1px solid #e2e8f0;text-align:right}
                 td:first-child,th:first-child{text-align:left}
                 #strategies td,#strategies th{text-align:left;vertical-align:top}
                 #verdict li{margin:4px 0}
                 .outcome{font-size:1.3em;padding:12px;border-radius:6px}
                 .ok{background:#c6f6d5}.soldout{background:#fed7d7}.busy{background:#feebc8}
                 button{background:#2b6cb0;color:white;border:0;padding:8px 16px;border-radius:4px;cursor:pointer}
                 progress{width:400px}
                </style></head>
                <body><header><a href="/">Latchkey shop</a><a href="/basket">Basket</a><a href="/arena">Arena</a><a href="/admin">Admin</a></header>
                %s<main><h1>%s</h1>%s</main></body></html>
                """.formatted(escape(title), banner == null || banner.isBlank() ? "" : "<div class=\"banner\" id=\"banner\">" + escape(banner) + "</div>",
                escape(title), body);
    }
}
