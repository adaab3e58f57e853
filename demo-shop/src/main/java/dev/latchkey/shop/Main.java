package dev.latchkey.shop;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The demo shop's command line. With no arguments (or only options) it serves the shop on embedded H2. */
@Command(name = "latchkey-demo-shop", mixinStandardHelpOptions = true, version = "latchkey-demo-shop 0.1.0",
        description = {"The Latchkey demo shop: a web shop whose last item in stock can be bought under five checkout strategies "
                + "(optimistic, pessimistic-wait, pessimistic-nowait, conditional-update, coordinator-lock).",
                "With no command (or only serve's options) it serves the shop on http://127.0.0.1:8080: catalog, basket, checkout, "
                + "the arena page (the strategies raced side by side, with a verdict and charts) and the admin page; on an "
                + "embedded H2 database and an in-process coordinator unless told otherwise.",
                "'arena' runs the race from the command line and prints the table (--json, --svg)."},
        subcommands = {Main.ServeCommand.class, Main.ArenaCommand.class})
public final class Main implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line with the given output streams; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        });
        // serving is the default command: "bin/run --port 9090" means "serve --port 9090"
        boolean serveOptions = args.length == 0
                || (args[0].startsWith("-") && !List.of("-h", "--help", "-V", "--version").contains(args[0]));
        if (serveOptions) {
            String[] withCommand = new String[args.length + 1];
            withCommand[0] = "serve";
            System.arraycopy(args, 0, withCommand, 1, args.length);
            return cli.execute(withCommand);
        }
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /** Where the shop's data lives. */
    static final class DatabaseOptions {
        @Option(names = "--db-url", defaultValue = "${env:LATCHKEY_DB_URL:-jdbc:h2:mem:latchkey-shop;DB_CLOSE_DELAY=-1}",
                description = "JDBC URL of the shop's database (default: embedded H2 in memory)")
        String url;

        @Option(names = "--db-user", defaultValue = "${env:LATCHKEY_DB_USER:-sa}", description = "database user")
        String user;

        @Option(names = "--db-password", defaultValue = "${env:LATCHKEY_DB_PASSWORD:-}", description = "database password")
        String password;

        HikariDataSource open(int poolSize) {
            HikariConfig config = new HikariConfig();
            config.setJdbcUrl(url);
            config.setUsername(user);
            config.setPassword(password);
            config.setMaximumPoolSize(poolSize);
            config.setMinimumIdle(poolSize); // open every connection up front, so no round pays for it
            config.setPoolName("shop");
            return new HikariDataSource(config);
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Serves the shop: catalog, basket, checkout, the arena and the admin page.")
    static final class ServeCommand implements Callable<Integer> {
        @CommandLine.Mixin
        DatabaseOptions database = new DatabaseOptions();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--port", defaultValue = "${env:LATCHKEY_SHOP_PORT:-8080}", description = "port (default: ${DEFAULT-VALUE})")
        int port;

        @Option(names = "--bind", defaultValue = "127.0.0.1", description = "address (default: ${DEFAULT-VALUE})")
        String bind;

        @Option(names = "--coordinator", split = ",", defaultValue = "${env:LATCHKEY_SERVER:-}",
                description = "coordinator URL(s); none: an in-process coordinator on the shop's database")
        List<String> coordinators;

        @Option(names = "--instance", description = "this instance's name in the naming service (default: shop-PORT)")
        String instance;

        @Option(names = "--restock-seconds", defaultValue = "5", description = "how often the elected instance restocks")
        long restockSeconds;

        @Option(names = "--admin-password", defaultValue = "${env:LATCHKEY_SHOP_ADMIN_PASSWORD}",
                description = "password of the admin pages (user 'admin'; default: $LATCHKEY_SHOP_ADMIN_PASSWORD, or generated and printed once)")
        String adminPassword;

        @Override
        public Integer call() throws Exception {
            List<String> coords = coordinators == null ? List.of() : coordinators.stream().filter(c -> !c.isBlank()).toList();
            ShopApp.Config config = new ShopApp.Config(bind, port, database.url, database.user, database.password, coords,
                    instance == null ? "shop-" + port : instance, Duration.ofSeconds(restockSeconds), Duration.ofSeconds(2), adminPassword);
            ShopApp app = new ShopApp(config);
            spec.commandLine().getOut().printf("Latchkey shop %s at %s (coordinator %s)%n", app.instance(), app.url(),
                    String.join(",", app.coordinatorUrls()));
            spec.commandLine().getOut().flush();
            java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                app.close();
                stopped.countDown();
            }));
            stopped.await();
            return 0;
        }
    }

    @Command(name = "arena", mixinStandardHelpOptions = true,
            description = "Sends N concurrent buyers at one item with stock K, per strategy, and prints the results.")
    static final class ArenaCommand implements Callable<Integer> {
        @CommandLine.Mixin
        DatabaseOptions database = new DatabaseOptions();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--buyers", defaultValue = "64", description = "concurrent buyers (default: ${DEFAULT-VALUE})")
        int buyers;

        @Option(names = "--stock", defaultValue = "1", description = "units in stock (default: ${DEFAULT-VALUE})")
        int stock;

        @Option(names = "--payment-ms", defaultValue = "0,50", split = ",",
                description = "payment times to try, in ms (default: ${DEFAULT-VALUE})")
        List<Long> paymentMillis;

        @Option(names = "--strategy", split = ",",
                description = "strategies to run: optimistic, pessimistic-wait, pessimistic-nowait, conditional-update, "
                        + "coordinator-lock (default: all; coordinator-lock runs an in-process coordinator on the same database)")
        List<String> strategies;

        @Option(names = "--lock-wait-ms", defaultValue = "2000",
                description = "how long a pessimistic buyer waits for the lock (default: ${DEFAULT-VALUE})")
        long lockWaitMillis;

        @Option(names = "--impl", split = ",", defaultValue = "jdbc",
                description = "checkout implementations to race side by side: jdbc, jpa (default: ${DEFAULT-VALUE})")
        List<String> impls;

        @Option(names = "--json", description = "print the results as JSON lines instead of a table")
        boolean json;

        @Option(names = "--svg", description = "also write the results as an SVG chart to this file")
        java.nio.file.Path svg;

        @Override
        public Integer call() throws Exception {
            if (lockWaitMillis < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--lock-wait-ms cannot be negative");
            }
            List<Strategy> chosen = new ArrayList<>();
            if (strategies == null || strategies.isEmpty()) {
                chosen.addAll(List.of(Strategy.values()));
            } else {
                for (String s : strategies) {
                    try {
                        chosen.add(Strategy.parse(s));
                    } catch (IllegalArgumentException e) {
                        throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
                    }
                }
            }
            List<Arena.Impl> chosenImpls = new ArrayList<>();
            List<Arena.Round> rounds;
            try {
                for (String i : impls) {
                    if (!chosenImpls.contains(Arena.Impl.parse(i))) {
                        chosenImpls.add(Arena.Impl.parse(i));
                    }
                }
                rounds = ArenaJobs.rounds(chosen, chosenImpls, buyers, stock, paymentMillis);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            try (HikariDataSource ds = database.open(Math.min(buyers, 60) + 4);
                    EmbeddedCoordinator coordinator = chosen.contains(Strategy.COORDINATOR_LOCK)
                            ? new EmbeddedCoordinator(database.url, database.user, database.password) : null) {
                Shop shop = new Shop(ds, Duration.ofMillis(lockWaitMillis), coordinator == null ? null : coordinator.session);
                JpaCheckout jpa = chosenImpls.contains(Arena.Impl.JPA) ? new JpaCheckout(shop, Duration.ofMillis(lockWaitMillis)) : null;
                Arena arena = new Arena(shop, jpa);
                arena.warmUp(buyers);
                if (!json) {
                    out.printf("%d buyers, stock %d, on %s%n%n", buyers, stock, ds.getJdbcUrl());
                    out.println(Report.HEADER);
                }
                boolean oversold = false;
                List<Arena.Result> results = new ArrayList<>();
                for (Arena.Round round : rounds) {
                    Arena.Result r = arena.run(round, 1);
                    results.add(r);
                    oversold |= r.oversold() > 0;
                    out.println(json ? Report.json(r) : Report.row(r));
                }
                if (svg != null) {
                    java.nio.file.Files.writeString(svg, Charts.arena(results));
                }
                if (jpa != null) {
                    jpa.close();
                }
                if (oversold) {
                    spec.commandLine().getErr().println("error: a strategy oversold: this is a bug");
                    return 2;
                }
            }
            return 0;
        }
    }

    /** A coordinator in this process, on the shop's database, with a session for the coordinator-lock strategy. */
    static final class EmbeddedCoordinator implements AutoCloseable {
        final dev.latchkey.coordinator.core.Coordinator coordinator;
        final dev.latchkey.coordinator.http.HttpApi api;
        final dev.latchkey.client.LatchkeyClient client;
        final dev.latchkey.client.Session session;

        EmbeddedCoordinator(String url, String user, String password) {
            coordinator = new dev.latchkey.coordinator.core.Coordinator(
                    new dev.latchkey.coordinator.store.StoreConfig(url, user, password, 16),
                    dev.latchkey.coordinator.core.Coordinator.Settings.defaults());
            api = new dev.latchkey.coordinator.http.HttpApi(coordinator);
            client = dev.latchkey.client.LatchkeyClient.connect("http://127.0.0.1:" + api.start("127.0.0.1", 0));
            session = client.openSession(dev.latchkey.client.Session.Options.defaults().owner("arena").cache(false));
        }

        @Override
        public void close() {
            session.close();
            client.close();
            api.close();
            coordinator.close();
        }
    }

    /** Formats results. */
    static final class Report {
        static final String HEADER = String.format(Locale.ROOT, "%-26s %8s %9s %9s %8s %5s %8s %8s %9s %9s %9s",
                "strategy", "pay ms", "purchased", "oversold", "sold out", "busy", "retries", "req/s", "p50 ms", "p95 ms", "p99 ms");

        static String row(Arena.Result r) {
            return String.format(Locale.ROOT, "%-26s %8d %9d %9d %8d %5d %8d %8.0f %9.1f %9.1f %9.1f",
                    r.round().label(), r.round().payment().toMillis(), r.purchased(), r.oversold(), r.soldOut(), r.busy(),
                    r.retries(), r.requestsPerSecond(), r.p50Millis(), r.p95Millis(), r.p99Millis());
        }

        static String json(Arena.Result r) {
            return String.format(Locale.ROOT, "{\"strategy\":\"%s\",\"impl\":\"%s\",\"buyers\":%d,\"stock\":%d,\"paymentMs\":%d,\"purchased\":%d,"
                    + "\"oversold\":%d,\"soldOut\":%d,\"busy\":%d,\"retries\":%d,\"errors\":%d,\"requestsPerSecond\":%.1f,"
                    + "\"p50Ms\":%.2f,\"p95Ms\":%.2f,\"p99Ms\":%.2f}",
                    r.round().strategy().id(), r.round().impl().id(), r.round().buyers(), r.round().stock(), r.round().payment().toMillis(), r.purchased(),
                    r.oversold(), r.soldOut(), r.busy(), r.retries(), r.errors(), r.requestsPerSecond(), r.p50Millis(),
                    r.p95Millis(), r.p99Millis());
        }
    }
}
