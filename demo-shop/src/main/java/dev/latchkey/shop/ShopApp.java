package dev.latchkey.shop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LatchkeyException;
import dev.latchkey.client.LeaderElection;
import dev.latchkey.client.Naming;
import dev.latchkey.client.Session;
import dev.latchkey.client.Watch;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.HttpApi;
import dev.latchkey.coordinator.store.StoreConfig;
import dev.latchkey.toolkit.TableSpec;
import dev.latchkey.toolkit.Toolkit;
import dev.latchkey.toolkit.optimistic.Guard;
import dev.latchkey.toolkit.optimistic.OptimisticTable;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.jooq.impl.DSL;

/**
 * The shop as a web application: catalog, item, basket and checkout pages, the arena (page, JSON
 * API, CSV/JSON downloads, SVG charts), and an admin page. It uses the coordinator for more than
 * locks: each instance registers in the naming service, one instance (elected) runs the restock
 * job, and the settings (payment time, banner) live in a coordinator file watched by every instance.
 */
public final class ShopApp implements AutoCloseable {

    public static final String SETTINGS = "/shop/settings";
    static final ObjectMapper JSON = new ObjectMapper();

    /** How to run an instance. */
    public record Config(String bind, int port, String dbUrl, String dbUser, String dbPassword, List<String> coordinators,
            String instance, Duration restockInterval, Duration lockWait, String adminPassword) {

        /** With an admin password generated at start (printed once). */
        public Config(String bind, int port, String dbUrl, String dbUser, String dbPassword, List<String> coordinators,
                String instance, Duration restockInterval, Duration lockWait) {
            this(bind, port, dbUrl, dbUser, dbPassword, coordinators, instance, restockInterval, lockWait, null);
        }

        /** Embedded: H2 in memory, an in-process coordinator on the same database. */
        public static Config embedded(int port) {
            return new Config("127.0.0.1", port, "jdbc:h2:mem:latchkey-shop;DB_CLOSE_DELAY=-1", "sa", "", List.of(),
                    "shop-" + port, Duration.ofSeconds(5), Duration.ofSeconds(2));
        }
    }

    private final Config config;
    private final HikariDataSource dataSource;
    private final Coordinator embeddedCoordinator;
    private final HttpApi embeddedApi;
    private final LatchkeyClient client;
    private final Session session;
    private final Shop shop;
    private final ArenaJobs arenaJobs;
    private final JpaCheckout jpaCheckout;
    private final LeaderElection restockElection;
    private final Watch settingsWatch;
    private final Thread restocker;
    private final OptimisticTable items;
    private final AtomicLong restocks = new AtomicLong();
    private volatile JsonNode settings = JSON.createObjectNode().put("paymentMs", 50).put("banner", "");
    private final Javalin web;
    /** The admin pages' password (HTTP Basic, user "admin"), and the token their forms must send back (CSRF). */
    private final String adminPassword;
    private final String csrfToken = randomText(24);
    /** The most a payment may take, as the arena allows: a longer one would hold a row lock for ever. */
    static final long MAX_PAYMENT_MS = 10_000;
    private final String url;
    private volatile boolean running = true;

    public ShopApp(Config config) throws Exception {
        this.config = config;
        if (config.adminPassword() == null || config.adminPassword().isBlank()) {
            this.adminPassword = randomText(18);
            System.out.println("latchkey shop " + config.instance() + ": admin password (generated, shown once; user 'admin'): " + adminPassword);
        } else {
            this.adminPassword = config.adminPassword();
        }
        HikariConfig hikari = new HikariConfig();
        hikari.setJdbcUrl(config.dbUrl());
        hikari.setUsername(config.dbUser());
        hikari.setPassword(config.dbPassword());
        hikari.setMaximumPoolSize(70);
        hikari.setMinimumIdle(2);
        hikari.setPoolName("shop");
        this.dataSource = new HikariDataSource(hikari);
        List<String> coordinators = config.coordinators();
        if (coordinators.isEmpty()) {
            // the coordinator's store is the shop's own database: sequencers can be checked in the shop's transactions
            embeddedCoordinator = new Coordinator(new StoreConfig(config.dbUrl(), config.dbUser(), config.dbPassword(), 16),
                    Coordinator.Settings.defaults());
            embeddedApi = new HttpApi(embeddedCoordinator);
            int port = embeddedApi.start("127.0.0.1", 0);
            coordinators = List.of("http://127.0.0.1:" + port);
        } else {
            embeddedCoordinator = null;
            embeddedApi = null;
        }
        this.client = LatchkeyClient.connect(coordinators.toArray(String[]::new));
        this.session = client.openSession(Session.Options.defaults().owner(config.instance()).ttl(Duration.ofSeconds(10)));
        this.shop = new Shop(dataSource, config.lockWait(), session);
        this.items = Toolkit.create(dataSource).optimistic(TableSpec.table("shop_item").key("id").version("version"));
        this.jpaCheckout = new JpaCheckout(shop, config.lockWait());
        this.arenaJobs = new ArenaJobs(new Arena(shop, jpaCheckout));
        seedCatalog();
        this.settingsWatch = watchSettings();

        this.web = Javalin.create(c -> {
            c.showJavalinBanner = false;
            c.useVirtualThreads = true;
            c.startupWatcherEnabled = false;
        });
        routes();
        web.start(config.bind(), config.port());
        this.url = "http://" + config.bind() + ":" + web.port();

        new Naming(client).register(session, "shop", config.instance(), url);
        this.restockElection = new LeaderElection(session, "shop-restock", config.instance());
        restockElection.start();
        this.restocker = Thread.ofVirtual().name("restock " + config.instance()).start(this::restockLoop);
    }

    public String url() {
        return url;
    }

    public String instance() {
        return config.instance();
    }

    /** The coordinator URLs this instance uses (an embedded one when none was configured). */
    public List<String> coordinatorUrls() {
        return client.servers().stream().map(Object::toString).toList();
    }

    /** How many restock runs this instance has done (only the elected instance restocks). */
    public long restockRuns() {
        return restocks.get();
    }

    public boolean restockLeader() {
        return restockElection.isLeader();
    }

    /** How many arena runs the shop knows (waiting, running or kept for their results). */
    int arenaRuns() {
        return arenaJobs.size();
    }

    public JsonNode settings() {
        return settings;
    }

    public Shop shop() {
        return shop;
    }

    // ---- coordinator duties ----------------------------------------------------------------------

    private Watch watchSettings() {
        long from = client.currentRevision();
        try {
            client.mkdir("/shop");
        } catch (LatchkeyException e) {
            if (!e.is("not-a-directory")) {
                throw e;
            }
        }
        try {
            client.create(SETTINGS, JSON.writeValueAsBytes(settings));
        } catch (LatchkeyException e) {
            if (!e.is("precondition-failed")) {
                throw e;
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        loadSettings();
        return client.watch(SETTINGS, true, from, event -> loadSettings());
    }

    private void loadSettings() {
        try {
            settings = JSON.readTree(client.read(SETTINGS).bytes());
        } catch (Exception e) {
            // a malformed settings file keeps the last good settings
        }
    }

    private void restockLoop() {
        while (running) {
            try {
                Thread.sleep(config.restockInterval());
                if (restockElection.isLeader()) {
                    restock();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // the next run tries again
            }
        }
    }

    /** Puts 5 units back on every sold-out catalog item (a guarded update: never over a racing sale). */
    void restock() {
        try (Connection c = dataSource.getConnection()) {
            for (Long id : DSL.using(c).select(DSL.field(DSL.name("id"), Long.class)).from(DSL.table(DSL.name("shop_item")))
                    .where(DSL.field(DSL.name("id"), Long.class).lt(9_000L)).fetch(DSL.field(DSL.name("id"), Long.class))) {
                items.update(id).set("stock", 5).when(Guard.equalTo("stock", 0)).execute(c);
            }
            restocks.incrementAndGet();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private void seedCatalog() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            if (DSL.using(c).fetchCount(DSL.table(DSL.name("shop_item"))) > 0) {
                return;
            }
        }
        String[][] catalog = {{"Brass latch key", "1999", "1"}, {"Deadbolt", "4500", "3"}, {"Padlock", "1250", "10"},
                {"Key ring", "300", "25"}, {"Door chain", "899", "2"}, {"Skeleton key", "5000", "1"}};
        for (int i = 0; i < catalog.length; i++) {
            shop.stockItem(i + 1, catalog[i][0], Long.parseLong(catalog[i][1]), Integer.parseInt(catalog[i][2]));
        }
    }

    // ---- web ------------------------------------------------------------------------------------

    private void routes() {
        web.get("/", this::catalog);
        web.get("/items/{id}", this::item);
        web.get("/basket", this::basket);
        web.post("/basket/add", ctx -> {
            long id = Long.parseLong(required(ctx.formParam("itemId"), "itemId"));
            List<String> basket = new ArrayList<>(basketOf(ctx));
            basket.add(Long.toString(id));
            ctx.cookie("basket", String.join("-", basket));
            ctx.redirect("/basket");
        });
        web.post("/checkout", this::checkout);
        web.get("/arena", this::arenaPage);
        web.post("/api/arena", this::startArena);
        web.get("/api/arena/{id}", ctx -> ctx.json(job(ctx).json()));
        web.get("/api/arena/{id}/results.csv", ctx -> ctx.contentType("text/csv").header("Content-Disposition",
                "attachment; filename=arena-" + job(ctx).id + ".csv").result(ArenaJobs.csv(job(ctx))));
        web.get("/api/arena/{id}/results.json", ctx -> ctx.header("Content-Disposition",
                "attachment; filename=arena-" + job(ctx).id + ".json").json(job(ctx).json()));
        web.get("/api/arena/{id}/chart.svg", ctx -> ctx.contentType("image/svg+xml").result(Charts.arena(job(ctx).results)));
        web.get("/api/arena/{id}/charts/{name}.svg", ctx -> {
            List<Arena.Result> results = List.copyOf(job(ctx).results);
            String svg = switch (ctx.pathParam("name")) {
                case "outcomes" -> Charts.outcomes(results);
                case "wasted" -> Charts.wasted(results);
                case "throughput" -> Charts.throughput(results);
                case "latency" -> Charts.latency(results);
                default -> throw new NoSuchRun("no chart '" + ctx.pathParam("name") + "' (outcomes, wasted, throughput, latency)");
            };
            ctx.contentType("image/svg+xml").result(svg);
        });
        web.get("/api/arena/{id}/timeline.svg", ctx -> {
            List<Arena.Result> results = List.copyOf(job(ctx).results);
            int round;
            try {
                round = Integer.parseInt(ctx.queryParamAsClass("round", String.class).getOrDefault("0"));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("round is a number, not '" + ctx.queryParam("round") + "'");
            }
            if (round < 0 || round >= results.size()) {
                throw new NoSuchRun("run " + ctx.pathParam("id") + " has no round " + round + " (yet)");
            }
            ctx.contentType("image/svg+xml").result(Charts.timeline(results.get(round)));
        });
        web.before("/admin*", this::requireAdmin);
        web.get("/admin", this::admin);
        web.post("/admin/settings", ctx -> {
            if (!java.security.MessageDigest.isEqual(csrfToken.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    String.valueOf(ctx.formParam("csrf")).getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                ctx.status(403).result("the form's CSRF token is missing or wrong: reload the admin page and try again");
                return;
            }
            Map<String, Object> next = new LinkedHashMap<>();
            long paymentMs;
            try {
                paymentMs = Long.parseLong(required(ctx.formParam("paymentMs"), "paymentMs").trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("paymentMs must be a whole number of milliseconds, not '" + ctx.formParam("paymentMs") + "'");
            }
            if (paymentMs < 0 || paymentMs > MAX_PAYMENT_MS) {
                throw new IllegalArgumentException("paymentMs must be between 0 and " + MAX_PAYMENT_MS + ", not " + paymentMs);
            }
            String banner = ctx.formParam("banner") == null ? "" : ctx.formParam("banner");
            if (banner.length() > 200) {
                throw new IllegalArgumentException("the banner is " + banner.length() + " characters; at most 200");
            }
            next.put("paymentMs", paymentMs);
            next.put("banner", banner);
            client.write(SETTINGS, JSON.writeValueAsBytes(next), null);
            ctx.redirect("/admin");
        });
        web.exception(NoSuchRun.class, (e, ctx) -> ctx.status(404).contentType("application/problem+json")
                .result(problem("not-found", "Not found", 404, String.valueOf(e.getMessage()))));
        web.exception(IllegalArgumentException.class, (e, ctx) -> ctx.status(400).contentType("application/problem+json")
                .result(problem("bad-request", "Bad request", 400, String.valueOf(e.getMessage()))));
    }

    private void catalog(Context ctx) {
        StringBuilder body = new StringBuilder("<table id=\"catalog\"><tr><th>item</th><th>price</th><th>in stock</th></tr>");
        try (Connection c = dataSource.getConnection()) {
            for (var r : DSL.using(c).select().from(DSL.table(DSL.name("shop_item"))).where(DSL.field(DSL.name("id"), Long.class).lt(9_000L))
                    .orderBy(DSL.field(DSL.name("id"))).fetch()) {
                long id = r.get(DSL.field(DSL.name("id"), Long.class));
                body.append("<tr><td><a href=\"/items/").append(id).append("\">").append(Html.escape(r.get(DSL.field(DSL.name("name"), String.class))))
                        .append("</a></td><td>").append(price(r.get(DSL.field(DSL.name("price_cents"), Long.class))))
                        .append("</td><td>").append(r.get(DSL.field(DSL.name("stock"), Integer.class))).append("</td></tr>");
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        ctx.html(Html.page("Catalog", settings.path("banner").asText(), body.append("</table>").toString()));
    }

    private void item(Context ctx) throws SQLException {
        long id = Long.parseLong(ctx.pathParam("id"));
        try (Connection c = dataSource.getConnection()) {
            var r = DSL.using(c).select().from(DSL.table(DSL.name("shop_item"))).where(DSL.field(DSL.name("id"), Long.class).eq(id)).fetchOne();
            if (r == null) {
                ctx.status(404).html(Html.page("No such item", null, "<p>There is no item " + id + ".</p>"));
                return;
            }
            int stock = r.get(DSL.field(DSL.name("stock"), Integer.class));
            String body = "<p>Price: <b>" + price(r.get(DSL.field(DSL.name("price_cents"), Long.class))) + "</b></p>"
                    + "<p id=\"stock\">In stock: " + stock + "</p>"
                    + "<form method=\"post\" action=\"/basket/add\"><input type=\"hidden\" name=\"itemId\" value=\"" + id + "\">"
                    + "<button id=\"add\" type=\"submit\">Add to basket</button></form>";
            ctx.html(Html.page(r.get(DSL.field(DSL.name("name"), String.class)), settings.path("banner").asText(), body));
        }
    }

    private void basket(Context ctx) {
        List<String> basket = basketOf(ctx);
        StringBuilder body = new StringBuilder();
        if (basket.isEmpty()) {
            body.append("<p>Your basket is empty.</p>");
        } else {
            body.append("<ul id=\"basket\">");
            long total = 0;
            try (Connection c = dataSource.getConnection()) {
                for (String id : basket) {
                    var r = DSL.using(c).select().from(DSL.table(DSL.name("shop_item"))).where(DSL.field(DSL.name("id"), Long.class)
                            .eq(Long.parseLong(id))).fetchOne();
                    if (r == null) {
                        body.append("<li>item ").append(Html.escape(id)).append(" (no longer sold)</li>");
                        continue;
                    }
                    long cents = r.get(DSL.field(DSL.name("price_cents"), Long.class));
                    total += cents;
                    body.append("<li class=\"line\"><a href=\"/items/").append(Html.escape(id)).append("\">")
                            .append(Html.escape(r.get(DSL.field(DSL.name("name"), String.class)))).append("</a> <span class=\"price\">")
                            .append(price(cents)).append("</span></li>");
                }
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
            body.append("<li id=\"total\"><b>Total ").append(price(total)).append("</b></li>");
            body.append("</ul><form method=\"post\" action=\"/checkout\"><label>Checkout strategy <select name=\"strategy\" id=\"strategy\">");
            for (Strategy s : Strategy.values()) {
                body.append("<option value=\"").append(s.id()).append("\">").append(s.id()).append(" (").append(Html.escape(s.description()))
                        .append(")</option>");
            }
            body.append("</select></label> <button id=\"checkout\" type=\"submit\">Pay and buy</button></form>");
            body.append("<p>Paying takes ").append(settings.path("paymentMs").asLong()).append(" ms (set on the admin page).</p>");
        }
        ctx.html(Html.page("Basket", settings.path("banner").asText(), body.toString()));
    }

    private void checkout(Context ctx) {
        List<String> basket = basketOf(ctx);
        Strategy strategy = Strategy.parse(required(ctx.formParam("strategy"), "strategy"));
        Duration payment = Duration.ofMillis(settings.path("paymentMs").asLong(50));
        StringBuilder body = new StringBuilder();
        List<String> left = new ArrayList<>();
        for (String id : basket) {
            Purchase p = shop.checkout(Long.parseLong(id), "web-" + ctx.ip(), payment, strategy);
            String css = switch (p.outcome()) {
                case PURCHASED -> "ok";
                case SOLD_OUT -> "soldout";
                case BUSY -> "busy";
            };
            body.append("<p class=\"outcome ").append(css).append("\" id=\"outcome\">").append(Html.escape(p.outcome().message()))
                    .append(" <small>(item ").append(Html.escape(id)).append(", ").append(strategy.id()).append(", ")
                    .append(p.latency().toMillis()).append(" ms)</small></p>");
            if (p.outcome() == Purchase.Outcome.BUSY) {
                left.add(id);
            }
        }
        ctx.cookie("basket", String.join("-", left));
        ctx.html(Html.page("Checkout", settings.path("banner").asText(), body.toString()));
    }

    private void arenaPage(Context ctx) {
        StringBuilder strategies = new StringBuilder();
        StringBuilder explained = new StringBuilder("<table id=\"strategies\"><tr><th>strategy</th><th>what it locks</th>"
                + "<th>when the buyer gets an answer</th></tr>");
        for (Strategy s : Strategy.values()) {
            strategies.append("<label><input type=\"checkbox\" name=\"strategy\" value=\"").append(s.id()).append("\" checked> ")
                    .append(s.id()).append("</label> ");
            explained.append("<tr><td><b>").append(s.id()).append("</b></td><td>").append(Html.escape(s.locks())).append("</td><td>")
                    .append(Html.escape(s.answers())).append("</td></tr>");
        }
        explained.append("</table>");
        StringBuilder presets = new StringBuilder();
        for (int n : new int[] {8, 64}) {
            for (int p : new int[] {0, 50, 200}) {
                presets.append("<button type=\"button\" class=\"preset\" id=\"preset-").append(n).append('-').append(p).append("\" data-buyers=\"")
                        .append(n).append("\" data-payment=\"").append(p).append("\">").append(n).append(" buyers, ").append(p).append(" ms</button> ");
            }
        }
        String body = """
                <section id="question">
                <p><b>The question.</b> N buyers race for the last item; paying takes P ms. Is optimistic locking the better bet
                when a lock would be held for a long payment? Is pessimistic locking's request rate real, or inflated by buyers
                it turned away? Run the five strategies on the same item and let the numbers answer.</p>
                </section>
                %s
                <form id="arena-form">
                <p>Presets: %s</p>
                <p>%s</p>
                <p>Checkout written with
                   <label><input type="checkbox" name="impl" value="jdbc" checked> JDBC</label>
                   <label><input type="checkbox" name="impl" value="jpa"> JPA (Hibernate)</label>
                   (both: side by side)</p>
                <p><label>Buyers (N) <input name="buyers" id="buyers" value="64" size="5"></label>
                   <label>Stock <input name="stock" id="stock" value="1" size="5"></label>
                   <label>Payment ms (P, comma-separated) <input name="paymentMs" id="paymentMs" value="0,50" size="10"></label>
                   <button type="submit" id="run">Run</button></p></form>
                <p><progress id="progress" value="0" max="1"></progress> <span id="status"></span></p>
                <div id="verdict-box"></div>
                <div id="results"></div>
                <script>
                const form = document.getElementById('arena-form');
                for (const b of document.querySelectorAll('.preset')) {
                  b.addEventListener('click', () => {
                    document.getElementById('buyers').value = b.dataset.buyers;
                    document.getElementById('paymentMs').value = b.dataset.payment;
                    form.requestSubmit();
                  });
                }
                form.addEventListener('submit', async (e) => {
                  e.preventDefault();
                  const f = new FormData(form);
                  const body = {strategies: f.getAll('strategy'), impls: f.getAll('impl'), buyers: +f.get('buyers'), stock: +f.get('stock'),
                                paymentMs: String(f.get('paymentMs')).split(',').map(Number)};
                  const r = await fetch('/api/arena', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
                  const job = await r.json();
                  if (!r.ok) { document.getElementById('status').textContent = job.detail; return; }
                  document.getElementById('verdict-box').innerHTML = '';
                  poll(job.id);
                });
                async function poll(id) {
                  const job = await (await fetch('/api/arena/' + id)).json();
                  document.getElementById('progress').value = job.progress;
                  document.getElementById('status').textContent = job.status + ' (' + job.buyersDone + ' of ' + job.buyersTotal + ' buyers)';
                  render(id, job);
                  if (job.status === 'running' || job.status === 'queued') { setTimeout(() => poll(id), 300); }
                }
                const esc = s => String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'})[c]);
                const fmt = (v, d) => Number(v).toFixed(d);
                function render(id, job) {
                  if (job.verdict) {
                    document.getElementById('verdict-box').innerHTML = '<h2>Verdict</h2><ul id="verdict">'
                      + job.verdict.map(v => '<li>' + esc(v) + '</li>').join('') + '</ul>';
                  }
                  let html = '<table id="arena-table"><tr><th>strategy</th><th>pay (ms)</th><th>purchased</th><th>oversold</th><th>sold out</th>'
                    + '<th>busy</th><th>wasted payments</th><th>answers/s</th><th>busy share</th><th>p50 (ms)</th><th>p95 (ms)</th><th>p99 (ms)</th>'
                    + '<th>losers answered in (ms, median)</th></tr>';
                  for (const r of job.results) {
                    html += '<tr><td>' + esc(r.label) + '</td><td>' + r.paymentMs + '</td><td>' + r.purchased + '</td><td>' + r.oversold
                      + '</td><td>' + r.soldOut + '</td><td>' + r.busy + '</td><td>' + r.wastedPayments + '</td><td>' + fmt(r.requestsPerSecond, 0)
                      + '</td><td>' + fmt(100 * r.busyShare, 0) + '%%</td><td>' + fmt(r.p50Ms, 1) + '</td><td>' + fmt(r.p95Ms, 1) + '</td><td>'
                      + fmt(r.p99Ms, 1) + '</td><td>' + fmt(r.loserP50Ms, 1) + '</td></tr>';
                  }
                  html += '</table>';
                  if (job.results.length) {
                    const n = job.results.length;
                    const chart = name => '<p><img class="chart" id="' + name + '" alt="' + name + ' chart" src="/api/arena/' + id + '/charts/'
                      + name + '.svg?n=' + n + '"></p>';
                    html += chart('outcomes') + chart('wasted') + chart('throughput') + chart('latency');
                    html += '<h2>One round, buyer by buyer</h2><p><label>Round <select id="timeline-round">'
                      + job.results.map((r, i) => '<option value="' + i + '">' + esc(r.label) + ', ' + r.paymentMs + ' ms</option>').join('')
                      + '</select></label></p><p><img id="timeline" alt="timeline of one round" src="/api/arena/' + id + '/timeline.svg?round=0&n=' + n + '"></p>'
                      + '<p><a id="csv" href="/api/arena/' + id + '/results.csv">CSV</a> · <a id="json" href="/api/arena/' + id + '/results.json">JSON</a></p>';
                  }
                  const keep = document.getElementById('timeline-round');
                  const chosen = keep ? keep.value : null;
                  document.getElementById('results').innerHTML = html;
                  const select = document.getElementById('timeline-round');
                  if (select) {
                    if (chosen !== null && chosen < job.results.length) { select.value = chosen; }
                    const show = () => document.getElementById('timeline').src = '/api/arena/' + id + '/timeline.svg?round=' + select.value
                      + '&n=' + job.results.length;
                    select.addEventListener('change', show);
                    show();
                  }
                }
                </script>
                """.formatted(explained, presets, strategies);
        ctx.html(Html.page("Arena", settings.path("banner").asText(), body));
    }

    /** What POST /api/arena takes; every member may be left out (all strategies, JDBC, 64 buyers, 1 item, no payment time). */
    record ArenaRequest(List<String> strategies, List<String> impls, Integer buyers, Integer stock, List<Long> paymentMs) {
    }

    /** Strict JSON for the API: no unknown members, trailing data, duplicate keys or coerced types. */
    static final com.fasterxml.jackson.databind.ObjectMapper STRICT = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES,
                    com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS,
                    com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    /** The largest arena request body read. */
    static final int MAX_ARENA_BODY = 16 * 1024;

    private void startArena(Context ctx) throws Exception {
        String type = ctx.contentType() == null ? "" : ctx.contentType().split(";", 2)[0].trim().toLowerCase(java.util.Locale.ROOT);
        if (!type.equals("application/json")) {
            ctx.status(415).contentType("application/problem+json").result(problem("unsupported-media-type", "Unsupported media type", 415,
                    "POST /api/arena takes a JSON body with Content-Type: application/json"));
            return;
        }
        byte[] body = ctx.req().getInputStream().readNBytes(MAX_ARENA_BODY + 1);
        if (body.length > MAX_ARENA_BODY) {
            ctx.status(413).contentType("application/problem+json").result(problem("content-too-large", "Content too large", 413,
                    "an arena request is at most " + MAX_ARENA_BODY + " bytes"));
            return;
        }
        ArenaRequest req;
        try {
            req = STRICT.readValue(body, ArenaRequest.class);
        } catch (java.io.IOException e) {
            String why = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new IllegalArgumentException("the body is not an arena request: " + why);
        }
        if (req == null) {
            throw new IllegalArgumentException("the body must be a JSON object, not null");
        }
        List<Strategy> strategies = new ArrayList<>();
        for (String s : orEmpty(req.strategies())) {
            strategies.add(Strategy.parse(required(s, "a strategy")));
        }
        if (strategies.isEmpty()) {
            strategies.addAll(Arrays.asList(Strategy.values()));
        }
        List<Long> payments = new ArrayList<>();
        for (Long p : orEmpty(req.paymentMs())) {
            if (p == null || p < 0 || p > MAX_PAYMENT_MS) {
                throw new IllegalArgumentException("each paymentMs is between 0 and " + MAX_PAYMENT_MS + ", not " + p);
            }
            payments.add(p);
        }
        if (payments.isEmpty()) {
            payments.add(0L);
        }
        List<Arena.Impl> impls = new ArrayList<>();
        for (String i : orEmpty(req.impls())) {
            Arena.Impl impl = Arena.Impl.parse(required(i, "an implementation"));
            if (!impls.contains(impl)) {
                impls.add(impl);
            }
        }
        if (impls.isEmpty()) {
            impls.add(Arena.Impl.JDBC);
        }
        List<Arena.Round> rounds = ArenaJobs.rounds(strategies, impls, req.buyers() == null ? 64 : req.buyers(),
                req.stock() == null ? 1 : req.stock(), payments);
        if (rounds.size() > 50) {
            throw new IllegalArgumentException("at most 50 rounds per run, not " + rounds.size());
        }
        ArenaJobs.Job job;
        try {
            job = arenaJobs.start(rounds);
        } catch (ArenaJobs.Busy e) {
            ctx.status(429).header("Retry-After", "5").contentType("application/problem+json").result(problem("too-many", "Too many requests",
                    429, e.getMessage()));
            return;
        }
        ctx.status(202).json(Map.of("id", job.id, "status", job.status));
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    /** An application/problem+json body (RFC 9457), as UTF-8 bytes. */
    private static byte[] problem(String type, String title, int status, String detail) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("type", "https://latchkey.dev/problems/" + type);
        p.put("title", title);
        p.put("status", status);
        p.put("detail", detail);
        try {
            return JSON.writeValueAsBytes(p);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private ArenaJobs.Job job(Context ctx) {
        long id;
        try {
            id = Long.parseLong(ctx.pathParam("id"));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("an arena run's id is a number, not '" + ctx.pathParam("id") + "'");
        }
        ArenaJobs.Job job = arenaJobs.get(id);
        if (job == null) {
            throw new NoSuchRun("no arena run " + id);
        }
        return job;
    }

    /** An arena run that does not exist: 404. */
    static final class NoSuchRun extends RuntimeException {
        NoSuchRun(String message) {
            super(message);
        }
    }

    private void admin(Context ctx) {
        StringBuilder body = new StringBuilder("<h2>Instances (naming service)</h2><ul id=\"instances\">");
        new Naming(client).resolve("shop").forEach((name, endpoint) -> body.append("<li>").append(Html.escape(name)).append(" at ")
                .append(Html.escape(endpoint)).append("</li>"));
        body.append("</ul><h2>Restock job</h2><p id=\"restock\">");
        restockElection.leader().ifPresentOrElse(l -> body.append("Run by ").append(Html.escape(l.value())).append(" (generation ")
                .append(l.sequencer().generation()).append(")"), () -> body.append("No leader right now."));
        body.append("</p><h2>Settings</h2><form method=\"post\" action=\"/admin/settings\">")
                .append("<input type=\"hidden\" name=\"csrf\" value=\"").append(csrfToken).append("\">")
                .append("<label>Payment ms <input name=\"paymentMs\" value=\"").append(settings.path("paymentMs").asLong()).append("\"></label> ")
                .append("<label>Banner <input name=\"banner\" size=\"40\" value=\"").append(Html.escape(settings.path("banner").asText()))
                .append("\"></label> <button type=\"submit\">Save</button></form>");
        ctx.html(Html.page("Admin · " + config.instance(), settings.path("banner").asText(), body.toString()));
    }

    /** The admin pages need the admin password (HTTP Basic): they change every instance's settings. */
    private void requireAdmin(Context ctx) {
        String header = ctx.header("Authorization");
        if (header != null && header.regionMatches(true, 0, "Basic ", 0, 6)) {
            try {
                String pair = new String(java.util.Base64.getDecoder().decode(header.substring(6).trim()), java.nio.charset.StandardCharsets.UTF_8);
                if (java.security.MessageDigest.isEqual(pair.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        ("admin:" + adminPassword).getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                    return;
                }
            } catch (IllegalArgumentException notBase64) {
                // refused below
            }
        }
        ctx.header("WWW-Authenticate", "Basic realm=\"latchkey shop admin\", charset=\"UTF-8\"");
        throw new io.javalin.http.UnauthorizedResponse("the admin pages need the admin password (user 'admin')");
    }

    /** The admin password in force (for tests and for whoever started the shop). */
    public String adminPassword() {
        return adminPassword;
    }

    private static String randomText(int bytes) {
        byte[] b = new byte[bytes];
        new java.security.SecureRandom().nextBytes(b);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static List<String> basketOf(Context ctx) {
        String cookie = ctx.cookie("basket");
        if (cookie == null || cookie.isBlank()) {
            return List.of();
        }
        return Arrays.stream(cookie.split("-")).filter(s -> s.matches("\\d{1,9}")).toList();
    }

    private static String required(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " is required");
        }
        return value;
    }

    private static String price(long cents) {
        return String.format(java.util.Locale.ROOT, "€%d.%02d", cents / 100, cents % 100);
    }

    @Override
    public void close() {
        running = false;
        restocker.interrupt();
        web.stop();
        settingsWatch.close();
        restockElection.close();
        jpaCheckout.close();
        session.close();
        client.close();
        if (embeddedApi != null) {
            embeddedApi.close();
            embeddedCoordinator.close();
        }
        dataSource.close();
    }

}
