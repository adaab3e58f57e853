package dev.latchkey.coordinator;

import dev.latchkey.coordinator.cli.ClientCommands;
import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.http.HttpApi;
import dev.latchkey.coordinator.store.AfterRestore;
import dev.latchkey.coordinator.store.Store;
import dev.latchkey.coordinator.store.StoreConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar latchkey-coordinator.jar serve [options]}. */
@Command(name = "latchkey-coordinator", mixinStandardHelpOptions = true, version = "latchkey-coordinator 0.1.0",
        description = "The Latchkey coordinator: Chubby-style locks, files, watches and election on a SQL database.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:the coordinator refused or failed the request (the message says why)",
                "2:usage: a malformed argument, option or path; nothing was sent", "3:busy: the lock or election was not won within --wait",
                "75:the session expired while the command ran under its lock (the command was stopped)",
                "*:lock and elect pass their command's exit code through"},
        subcommands = {Main.Serve.class, Main.AfterRestoreCommand.class, ClientCommands.Ls.class, ClientCommands.Cat.class, ClientCommands.Stat.class,
                ClientCommands.Put.class, ClientCommands.Rm.class, ClientCommands.WatchCommand.class, ClientCommands.Lock.class,
                ClientCommands.Elect.class, ClientCommands.Sessions.class, ClientCommands.TokenCommand.class,
                ClientCommands.AclCommand.class, Main.AotTraining.class})
public final class Main implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        cli.registerConverter(java.time.Duration.class, new dev.latchkey.coordinator.cli.Durations());
        java.util.Set<String> clientCommands = new java.util.HashSet<>(cli.getSubcommands().keySet());
        clientCommands.removeAll(java.util.Set.of("serve", "after-restore", "aot-training"));
        args = ClientCommands.hoistGlobalOptions(args, clientCommands);
        cli.setExpandAtFiles(false); // "put /f @file.txt" means the file's content, not picocli's argument files
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            line.getErr().println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 0;
    }

    /**
     * The training run behind bin/latchkey's AOT cache (JDK 25): the client commands a user types
     * most (ls, put, cat, stat, sessions, lock, rm), run in this process against a private
     * coordinator: a child process on a scratch data folder and a free loopback port, stopped and
     * removed afterwards. Nothing else is touched, and no coordinator need be running. The
     * coordinator runs in its own process so that the cache holds only what client commands load:
     * with Jetty, H2 and jOOQ in it too it was three times the size and every command started slower.
     */
    @Command(name = "aot-training", hidden = true, description = "Runs the client commands once against a private coordinator (for the AOT cache).")
    static final class AotTraining implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            Path data = java.nio.file.Files.createTempDirectory("latchkey-aot-training");
            String launcher = ProcessHandle.current().info().command().orElse("java");
            String jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
            Process server = new ProcessBuilder(launcher, "-XX:TieredStopAtLevel=1", "-jar", jar, "serve", "--port", "0", "--data-dir",
                    data.toString()).redirectErrorStream(true).start();
            // not closed here: a drain thread reads it to the end, which comes when the server is stopped below
            var lines = new java.io.BufferedReader(new java.io.InputStreamReader(server.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
            try {
                String url = null;
                for (String line; url == null && (line = lines.readLine()) != null; ) {
                    var m = java.util.regex.Pattern.compile("listening on (http://\\S+)").matcher(line);
                    url = m.find() ? m.group(1) : null;
                }
                if (url == null) {
                    return 1;
                }
                Thread.ofVirtual().start(() -> lines.lines().forEach(l -> { })); // keep its output drained
                PrintWriter quiet = new PrintWriter(java.io.Writer.nullWriter());
                for (String[] args : java.util.List.of(new String[] {"ls", "--server", url, "/"},
                        new String[] {"put", "--server", url, "/training", "x"}, new String[] {"cat", "--server", url, "/training"},
                        new String[] {"stat", "--server", url, "/training"}, new String[] {"sessions", "--server", url},
                        new String[] {"lock", "--server", url, "/training-lock", "--wait", "1s", "--", "true"},
                        new String[] {"-o", "json", "ls", "--server", url, "/"}, new String[] {"rm", "--server", url, "/training"})) {
                    run(args, quiet, quiet);
                }
            } finally {
                server.destroy();
                if (!server.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                }
                try (var files = java.nio.file.Files.walk(data)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                }
            }
            return 0;
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Serves the HTTP API. Without --db-url it keeps its state in an embedded H2 database in --data-dir.")
    static final class Serve implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--port", defaultValue = "${env:LATCHKEY_PORT:-7700}", description = "port (default: ${DEFAULT-VALUE})")
        int port;

        @Option(names = "--bind", defaultValue = "${env:LATCHKEY_BIND:-127.0.0.1}", description = "address (default: ${DEFAULT-VALUE})")
        String bind;

        @CommandLine.Mixin
        StoreOptions store;

        @Option(names = "--pool-size", defaultValue = "${env:LATCHKEY_POOL_SIZE:-32}", description = "store connections (default: ${DEFAULT-VALUE})")
        int poolSize;

        @Option(names = "--bootstrap-token-file", defaultValue = "${env:LATCHKEY_BOOTSTRAP_TOKEN_FILE}",
                description = "a file holding the bootstrap admin token; with it (or $LATCHKEY_BOOTSTRAP_TOKEN) every request needs a "
                        + "bearer token, and 'latchkey token create' makes more")
        Path bootstrapTokenFile;

        @Option(names = "--insecure", description = "serve without authentication on an address other than loopback (not advised)")
        boolean insecure;

        @Option(names = "--tls-cert", defaultValue = "${env:LATCHKEY_TLS_CERT}",
                description = "PEM certificate chain: serve HTTPS (and wss:// for the session channel); reloaded when it changes")
        Path tlsCert;

        @Option(names = "--tls-key", defaultValue = "${env:LATCHKEY_TLS_KEY}", description = "PEM private key of --tls-cert (PKCS#8, or RSA PKCS#1)")
        Path tlsKey;

        @Option(names = "--tls-client-ca", defaultValue = "${env:LATCHKEY_TLS_CLIENT_CA}",
                description = "PEM CA certificate(s): require client certificates signed by them (mutual TLS); a request without a token "
                        + "acts for its certificate's subject common name")
        Path tlsClientCa;

        @Option(names = "--tls-admin", split = ",", description = "certificate common name(s) that are admin identities (with --tls-client-ca)")
        java.util.Set<String> tlsAdmins = new java.util.HashSet<>();

        @Option(names = "--max-connections", defaultValue = "10000", description = "open connections in all (default: ${DEFAULT-VALUE})")
        int maxConnections;

        @Option(names = "--max-connections-per-address", defaultValue = "2000",
                description = "open connections from one client address (default: ${DEFAULT-VALUE})")
        int maxConnectionsPerAddress;

        @Option(names = "--max-sessions-per-identity", defaultValue = "50000", description = "live sessions one identity may hold (default: ${DEFAULT-VALUE})")
        int maxSessions;

        @Option(names = "--max-watches-per-identity", defaultValue = "5000", description = "open watch streams per identity (default: ${DEFAULT-VALUE})")
        int maxWatches;

        @Option(names = "--max-requests-per-second", defaultValue = "50000", description = "HTTP requests per second per identity (default: ${DEFAULT-VALUE})")
        int maxRequestsPerSecond;

        @Override
        public Integer call() throws Exception {
            if (port < 0 || port > 65535) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--port must be between 0 and 65535");
            }
            String bootstrap = bootstrapToken();
            boolean tokens = bootstrap != null;
            dev.latchkey.coordinator.http.TlsConfig tls = tls();
            boolean mutual = tls != null && tls.mutual();
            if (!tokens && !mutual && !insecure && !isLoopback(bind)) {
                spec.commandLine().getErr().printf("error: refusing to serve on %s without authentication: anyone who can reach it could "
                        + "act for any session. Give --bootstrap-token-file (or $LATCHKEY_BOOTSTRAP_TOKEN) or --tls-client-ca, "
                        + "bind to 127.0.0.1, or pass --insecure.%n", bind);
                return ClientCommands.USAGE;
            }
            dev.latchkey.coordinator.http.Limits limits;
            try {
                limits = new dev.latchkey.coordinator.http.Limits(maxSessions, maxWatches, maxRequestsPerSecond, maxConnections,
                        maxConnectionsPerAddress);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            StoreConfig config = store.config(poolSize);
            Coordinator coordinator = new Coordinator(config, Coordinator.Settings.defaults());
            if (tokens) {
                coordinator.tokens().ensure("bootstrap", bootstrap, true);
            }
            HttpApi api = new HttpApi(coordinator, tokens, limits, tls);
            int actual;
            try {
                actual = api.start(bind, port);
            } catch (io.javalin.util.JavalinBindException e) {
                api.close();
                coordinator.close();
                spec.commandLine().getErr().printf("error: port %d on %s is in use (another coordinator?); choose another with --port%n", port, bind);
                return 1;
            }
            spec.commandLine().getOut().printf("latchkey coordinator listening on %s://%s:%d (store: %s)%n", api.scheme(), bind, actual,
                    config.jdbcUrl());
            spec.commandLine().getOut().println(tokens || mutual ? "authentication: " + (tokens ? "bearer tokens (admin identity 'bootstrap')" : "")
                    + (tokens && mutual ? " or " : "") + (mutual ? "client certificates (identity = subject CN)" : "")
                    : "authentication: none; " + (isLoopback(bind) ? "serving on loopback only" : "--insecure: anyone who reaches it may act"));
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                api.close();
                coordinator.close();
                stopped.countDown();
            }));
            stopped.await();
            return 0;
        }

        private dev.latchkey.coordinator.http.TlsConfig tls() {
            if (tlsCert == null && tlsKey == null) {
                if (tlsClientCa != null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--tls-client-ca needs --tls-cert and --tls-key");
                }
                return null;
            }
            if (tlsCert == null || tlsKey == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "TLS needs both --tls-cert and --tls-key");
            }
            var tls = new dev.latchkey.coordinator.http.TlsConfig(tlsCert, tlsKey, tlsClientCa, tlsAdmins);
            try {
                tls.context(); // a clear message now rather than a failed handshake later
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            return tls;
        }

        private String bootstrapToken() throws java.io.IOException {
            if (bootstrapTokenFile != null) {
                String token = java.nio.file.Files.readString(bootstrapTokenFile).trim();
                if (token.length() < 16) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "the bootstrap token in " + bootstrapTokenFile
                            + " is shorter than 16 characters");
                }
                return token;
            }
            String env = System.getenv("LATCHKEY_BOOTSTRAP_TOKEN");
            return env == null || env.isBlank() ? null : env.trim();
        }

        static boolean isLoopback(String address) {
            try {
                return java.net.InetAddress.getByName(address).isLoopbackAddress();
            } catch (java.net.UnknownHostException e) {
                return false;
            }
        }
    }

    /** Where the store is: the same options for every command that opens it. */
    static final class StoreOptions {
        @Option(names = "--data-dir", defaultValue = "${env:LATCHKEY_DATA_DIR:-latchkey-data}",
                description = "folder of the embedded H2 store (default: ${DEFAULT-VALUE})")
        Path dataDir;

        @Option(names = "--db-url", defaultValue = "${env:LATCHKEY_DB_URL}", description = "JDBC URL of the store (PostgreSQL, MySQL/MariaDB, H2)")
        String dbUrl;

        @Option(names = "--db-user", defaultValue = "${env:LATCHKEY_DB_USER}", description = "store user")
        String dbUser;

        @Option(names = "--db-password", defaultValue = "${env:LATCHKEY_DB_PASSWORD}", description = "store password")
        String dbPassword;

        @Option(names = "--db-pooled", defaultValue = "${env:LATCHKEY_DB_POOLED:-false}",
                description = "--db-url goes through a transaction-mode pooler (PgBouncer): no server-side prepared statements, "
                        + "no session settings; LISTEN uses --db-direct-url, else the coordinator polls")
        boolean dbPooled;

        @Option(names = "--db-direct-url", defaultValue = "${env:LATCHKEY_DB_DIRECT_URL}",
                description = "with --db-pooled: a JDBC URL straight to the same database, for LISTEN and the migrations' lock")
        String dbDirectUrl;

        StoreConfig config(int poolSize) {
            if (dbUrl == null || dbUrl.isBlank()) {
                return StoreConfig.embedded(dataDir);
            }
            StoreConfig config = new StoreConfig(dbUrl, dbUser, dbPassword, poolSize);
            return dbPooled ? config.behindPooler(dbDirectUrl) : config;
        }
    }

    @Command(name = "after-restore", mixinStandardHelpOptions = true,
            description = {"Makes a store restored from a backup safe to serve again: raises every lock and file generation and the"
                    + " revision above anything issued before, ends every session, and makes watchers resync. Run it with every"
                    + " coordinator stopped, before starting them on the restored database (see docs/operations.md)."})
    static final class AfterRestoreCommand implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Mixin
        StoreOptions store;

        @Option(names = "--force", description = "repair even though a coordinator's reaper ticked within the last 10 s")
        boolean force;

        @Override
        public Integer call() {
            try (Store opened = Store.open(store.config(2))) {
                AfterRestore.Report r = AfterRestore.repair(opened, force);
                spec.commandLine().getOut().printf("repaired: generations and revisions now start at %d; %d sessions ended (%d locks, %d"
                        + " ephemeral nodes); %d nodes raised%n", r.floor(), r.sessionsEnded(), r.locksReleased(), r.ephemeralNodesDeleted(),
                        r.nodes());
                return 0;
            }
        }
    }
}
