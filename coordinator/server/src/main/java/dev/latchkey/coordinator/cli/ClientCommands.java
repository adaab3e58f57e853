package dev.latchkey.coordinator.cli;

import dev.latchkey.client.FileContent;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LatchkeyException;
import dev.latchkey.client.LeaderElection;
import dev.latchkey.client.Lease;
import dev.latchkey.client.NodeStat;
import dev.latchkey.client.Sequencer;
import dev.latchkey.client.Session;
import dev.latchkey.client.SessionListener;
import dev.latchkey.client.Watch;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The command-line tool's subcommands: clients of a running coordinator. */
public final class ClientCommands {

    private ClientCommands() {
    }

    /** Exit code for a malformed argument (a path that is not a node path): nothing was sent. */
    public static final int USAGE = 2;
    /** Exit code when the coordinator refused or failed the request (the message says why). */
    public static final int ERROR = 1;
    /** Exit code when a lock or an election could not be won within the wait. */
    public static final int BUSY = 3;
    /** Exit code when the session expired while a command ran under its lock (the command is stopped). */
    public static final int SESSION_LOST = 75;

    /** Options every client subcommand shares. */
    static final class Server {
        @Option(names = "--server", defaultValue = "${env:LATCHKEY_SERVER:-http://127.0.0.1:7700}",
                description = "coordinator URL(s), comma-separated (default: $LATCHKEY_SERVER or ${DEFAULT-VALUE})")
        String urls;

        @Option(names = "--token", defaultValue = "${env:LATCHKEY_TOKEN}",
                description = "bearer token, for a coordinator that requires one (default: $LATCHKEY_TOKEN)")
        String token;

        @Option(names = {"-o", "--output"}, defaultValue = "${env:LATCHKEY_OUTPUT:-text}",
                description = "text or json (default: ${DEFAULT-VALUE})")
        Output output;

        @Option(names = "--cacert", defaultValue = "${env:LATCHKEY_CACERT}",
                description = "PEM CA certificate(s) to trust for an https:// coordinator (default: $LATCHKEY_CACERT, else the JDK's CAs)")
        java.nio.file.Path cacert;

        @Option(names = "--cert", defaultValue = "${env:LATCHKEY_CERT}",
                description = "PEM client certificate, for a coordinator that asks for one (mutual TLS; default: $LATCHKEY_CERT)")
        java.nio.file.Path cert;

        @Option(names = "--key", defaultValue = "${env:LATCHKEY_KEY}", description = "PEM private key of --cert (default: $LATCHKEY_KEY)")
        java.nio.file.Path key;

        LatchkeyClient connect() {
            LatchkeyClient client = LatchkeyClient.connect(urls);
            if (cacert != null || cert != null || key != null) {
                LatchkeyClient secured = client.withTls(dev.latchkey.client.Tls.context(cacert, cert, key));
                client.close();
                client = secured;
            }
            if (token == null || token.isBlank()) {
                return client;
            }
            LatchkeyClient authenticated = client.withToken(token);
            client.close();
            return authenticated;
        }
    }

    /** How results are printed. */
    public enum Output {
        text,
        json
    }

    /** The options that may come before the subcommand as well as after it (see {@link #hoistGlobalOptions}). */
    static final java.util.Set<String> GLOBAL_OPTIONS = java.util.Set.of("--server", "--token", "--output", "-o", "--cacert", "--cert",
            "--key");

    /**
     * Moves the client options given before the subcommand ({@code latchkey --server URL cat /a})
     * to just after it, where picocli reads them: global options go on either side, as in etcdctl.
     */
    public static String[] hoistGlobalOptions(String[] args, java.util.Set<String> clientCommands) {
        int command = -1;
        List<String> hoisted = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            if (GLOBAL_OPTIONS.contains(name)) {
                hoisted.add(a);
                if (!a.contains("=") && i + 1 < args.length) {
                    hoisted.add(args[++i]);
                }
                continue;
            }
            if (clientCommands.contains(a)) {
                command = i;
            }
            break;
        }
        if (command < 0 || hoisted.isEmpty()) {
            return args;
        }
        List<String> out = new java.util.ArrayList<>();
        out.add(args[command]);
        out.addAll(hoisted);
        out.addAll(List.of(args).subList(command + 1, args.length));
        return out.toArray(String[]::new);
    }

    /** JSON for --output json. */
    static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    abstract static class Base implements Callable<Integer> {
        @CommandLine.Mixin
        Server server = new Server();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        boolean json() {
            return server.output == Output.json;
        }

        /** Prints a value as one line of JSON. */
        void printJson(Object value) throws IOException {
            out().println(JSON.writeValueAsString(value));
        }

        @Override
        public Integer call() throws Exception {
            try (LatchkeyClient client = server.connect()) {
                return run(client);
            } catch (LatchkeyException e) {
                spec.commandLine().getErr().println("error: " + e.getMessage() + (e.status() > 0 ? " (" + e.type() + ")" : ""));
                return e.is("lock-busy") ? BUSY : 1;
            } catch (IllegalArgumentException e) { // a malformed path or option value: nothing was sent
                spec.commandLine().getErr().println("error: " + e.getMessage());
                return USAGE;
            }
        }

        abstract int run(LatchkeyClient client) throws Exception;
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "Lists a directory.")
    public static final class Ls extends Base {
        @Parameters(index = "0", defaultValue = "/", description = "directory (default: /)")
        String path;

        @Option(names = "-l", description = "long listing: generation, length, ephemeral owner")
        boolean longFormat;

        @Override
        int run(LatchkeyClient client) throws IOException {
            List<NodeStat> children = client.list(path);
            if (json()) {
                printJson(children);
                return 0;
            }
            for (NodeStat s : children) {
                String name = s.path().substring(s.path().lastIndexOf('/') + 1) + (s.directory() ? "/" : "");
                out().println(longFormat ? String.format(Locale.ROOT, "%s %6d %8d %s%s", s.directory() ? "d" : "-",
                        s.contentGeneration(), s.length(), name, s.ephemeral() ? "  (ephemeral " + s.ephemeralSession() + ")" : "") : name);
            }
            return 0;
        }
    }

    @Command(name = "cat", mixinStandardHelpOptions = true, description = "Prints a file's contents.")
    public static final class Cat extends Base {
        @Parameters(index = "0")
        String path;

        @Override
        int run(LatchkeyClient client) {
            FileContent f = client.read(path);
            out().print(f.text());
            out().flush();
            return 0;
        }
    }

    @Command(name = "stat", mixinStandardHelpOptions = true, description = "Prints a node's stat as JSON.")
    public static final class Stat extends Base {
        @Parameters(index = "0")
        String path;

        @Override
        int run(LatchkeyClient client) throws Exception {
            var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
            com.fasterxml.jackson.databind.node.ObjectNode stat = mapper.valueToTree(client.stat(path));
            stat.set("acl", mapper.valueToTree(client.acl(path).acl())); // the effective ACL, and where each permission is set
            out().println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(stat));
            return 0;
        }
    }

    @Command(name = "put", mixinStandardHelpOptions = true, description = "Writes a file from an argument, a file (@FILE) or standard input (-).")
    public static final class Put extends Base {
        @Parameters(index = "0")
        String path;

        @Parameters(index = "1", defaultValue = "-", description = "content, @FILE, or - for standard input")
        String content;

        @Option(names = "--if-generation", description = "write only over this content generation (compare-and-set)")
        Long ifGeneration;

        @Option(names = "--create", description = "fail if the file exists")
        boolean create;

        @Option(names = "--mkdir", description = "create a directory instead")
        boolean mkdir;

        @Override
        int run(LatchkeyClient client) throws IOException {
            if (mkdir) {
                NodeStat made = client.mkdir(path);
                if (json()) {
                    printJson(made);
                } else {
                    out().println("created " + path);
                }
                return 0;
            }
            byte[] bytes = content.equals("-") ? readAll(System.in)
                    : content.startsWith("@") ? Files.readAllBytes(Path.of(content.substring(1))) : content.getBytes(StandardCharsets.UTF_8);
            NodeStat s = create ? client.create(path, bytes) : client.write(path, bytes, ifGeneration);
            if (json()) {
                printJson(s);
            } else {
                out().println("wrote " + path + ", generation " + s.contentGeneration());
            }
            return 0;
        }

        private static byte[] readAll(InputStream in) throws IOException {
            return in.readAllBytes();
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Deletes a node (a directory must be empty).")
    public static final class Rm extends Base {
        @Parameters(index = "0")
        String path;

        @Option(names = "--if-generation")
        Long ifGeneration;

        @Override
        int run(LatchkeyClient client) throws IOException {
            client.delete(path, ifGeneration);
            if (json()) {
                printJson(java.util.Map.of("removed", path));
            } else {
                out().println("removed " + path);
            }
            return 0;
        }
    }

    @Command(name = "token", mixinStandardHelpOptions = true, description = "Manages bearer tokens (needs an admin token): create NAME [--admin], list, revoke NAME.")
    public static final class TokenCommand extends Base {
        @Parameters(index = "0", description = "create, list or revoke")
        String action;

        @Parameters(index = "1", arity = "0..1", description = "the identity's name (create, revoke)")
        String name;

        @Option(names = "--admin", description = "create an admin identity (may manage tokens and end any session)")
        boolean admin;

        @Override
        int run(LatchkeyClient client) {
            switch (action) {
                case "create" -> {
                    String token = client.createToken(requireName(), admin);
                    out().println(token);
                    spec.commandLine().getErr().println("created " + (admin ? "admin " : "") + "identity '" + name
                            + "'; the token above is shown only now");
                }
                case "list" -> {
                    var tokens = client.tokens();
                    if (json()) {
                        out().println(tokens.toString());
                        return 0;
                    }
                    if (tokens.isEmpty()) {
                        out().println("no tokens");
                    }
                    tokens.forEach(t -> out().println(t.get("name").asText() + (t.get("admin").asBoolean() ? " (admin)" : "")));
                }
                case "revoke" -> {
                    client.revokeToken(requireName());
                    out().println("revoked '" + name + "'");
                }
                default -> throw new IllegalArgumentException("unknown action '" + action + "' (create, list, revoke)");
            }
            return 0;
        }

        private String requireName() {
            if (name == null) {
                throw new IllegalArgumentException(action + " needs the identity's name");
            }
            return name;
        }
    }

    @Command(name = "acl", mixinStandardHelpOptions = true, description = {
            "Shows or sets a node's ACL: get PATH, or set PATH [--read NAME] [--write NAME] [--lock NAME] [--admin NAME].",
            "Each NAME is a file in /acl listing identities, one per line ('*' for everyone); a permission not set is inherited."})
    public static final class AclCommand extends Base {
        @Parameters(index = "0", description = "get or set")
        String action;

        @Parameters(index = "1", description = "the node's path")
        String path;

        @Option(names = "--read", description = "the ACL that may read the node (and watch it)")
        String read;

        @Option(names = "--write", description = "the ACL that may write, create under and delete it")
        String write;

        @Option(names = "--lock", description = "the ACL that may lock it (and campaign there)")
        String lock;

        @Option(names = "--admin", description = "the ACL that may change these names")
        String admin;

        @Override
        int run(LatchkeyClient client) throws IOException {
            dev.latchkey.client.NodeAcl acl = switch (action) {
                case "get" -> client.acl(path);
                case "set" -> client.setAcl(path, read, write, lock, admin);
                default -> throw new IllegalArgumentException("unknown action '" + action + "' (get, set)");
            };
            if (json()) {
                printJson(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(acl));
                return 0;
            }
            out().println(acl.path() + "  (ACL generation " + acl.aclGeneration() + ")");
            acl.acl().forEach((permission, entry) -> out().printf(Locale.ROOT, "%-6s %s%n", permission, entry.acl() == null
                    ? (permission.equals("admin") ? "default: admin identities only" : "default: every identity")
                    : "/acl/" + entry.acl() + "  (set at " + entry.setAt() + ")"));
            return 0;
        }
    }

    @Command(name = "sessions", mixinStandardHelpOptions = true, description = "Lists the sessions the coordinator knows.")
    public static final class Sessions extends Base {
        @Override
        int run(LatchkeyClient client) throws IOException {
            var sessions = client.sessions();
            if (json()) {
                printJson(sessions);
                return 0;
            }
            if (sessions.isEmpty()) {
                out().println("no sessions");
            }
            sessions.forEach(s -> out().printf(Locale.ROOT, "%s  owner=%s  ttl=%dms  remaining=%dms%n", s.get("id").asText(),
                    s.get("owner").asText(), s.get("ttlMs").asLong(), s.get("remainingMs").asLong()));
            return 0;
        }
    }

    @Command(name = "watch", mixinStandardHelpOptions = true, description = "Prints events under a path as they happen (one line each) until interrupted.")
    public static final class WatchCommand extends Base {
        @Parameters(index = "0", defaultValue = "/")
        String path;

        @Option(names = "--from-rev", defaultValue = "-1", description = "start after this revision (default: now)")
        long fromRev;

        @Option(names = "--count", defaultValue = "0", description = "stop after this many events (0: never)")
        int count;

        @Override
        int run(LatchkeyClient client) throws InterruptedException {
            CountDownLatch done = new CountDownLatch(count > 0 ? count : 1);
            java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(count > 0 ? count : Integer.MAX_VALUE);
            try (Watch ignored = client.watch(path, false, fromRev, e -> {
                if (left.getAndDecrement() <= 0) {
                    return; // --count reached: the rest of this page is not printed
                }
                synchronized (this) {
                    if (json()) {
                        try {
                            out().println(JSON.writeValueAsString(e));
                        } catch (com.fasterxml.jackson.core.JsonProcessingException notJson) {
                            throw new IllegalStateException(notJson);
                        }
                    } else {
                        out().printf(Locale.ROOT, "%d %s %s%s%s%n", e.rev(), e.kind(), e.path(), e.detail() == null ? "" : " " + e.detail(),
                                e.session() == null ? "" : " session=" + e.session());
                    }
                    out().flush();
                }
                if (count > 0) {
                    done.countDown();
                }
            })) {
                done.await();
            }
            return 0;
        }
    }

    /** Runs a command while holding something, like flock: its exit code passes through. */
    abstract static class Holding extends Base {
        @Option(names = "--wait", defaultValue = "87600h", description = "how long to wait: 500ms, 30s, 2m, 1h (default: for ever)")
        Duration wait;

        @Option(names = "--ttl", defaultValue = "12s", description = "session TTL (default: ${DEFAULT-VALUE})")
        Duration ttl;

        @Parameters(index = "1..*", arity = "1..*", description = "the command to run, after --")
        List<String> command;

        int runHolding(Session session, Sequencer sequencer) throws Exception {
            ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
            pb.environment().put("LATCHKEY_SEQUENCER", sequencer.encode());
            pb.environment().put("LATCHKEY_GENERATION", Long.toString(sequencer.generation()));
            pb.environment().put("LATCHKEY_SESSION", session.id());
            Process process = pb.start();
            boolean[] lost = new boolean[1];
            session.addListener(new SessionListener() {
                @Override
                public void onExpired() {
                    lost[0] = true;
                    process.destroy();
                }
            });
            int code = process.waitFor();
            if (lost[0]) {
                spec.commandLine().getErr().println("error: the session expired while the command ran; it was stopped");
                return SESSION_LOST;
            }
            return code;
        }
    }

    @Command(name = "lock", mixinStandardHelpOptions = true, description = "Runs a command while holding a lock; LATCHKEY_SEQUENCER holds the sequencer.")
    public static final class Lock extends Holding {
        @Parameters(index = "0", description = "the lock's path")
        String path;

        @Option(names = "--shared", description = "take the lock in shared mode")
        boolean shared;

        @Override
        int run(LatchkeyClient client) throws Exception {
            try (Session session = client.openSession(Session.Options.defaults().ttl(ttl).owner("latchkey lock").cache(false).channel(false));
                    Lease lease = session.acquire(path, shared ? Sequencer.Mode.SHARED : Sequencer.Mode.EXCLUSIVE, wait, Duration.ZERO)) {
                return runHolding(session, lease.sequencer());
            }
        }
    }

    @Command(name = "elect", mixinStandardHelpOptions = true, description = "Campaigns in an election and runs a command as the leader.")
    public static final class Elect extends Holding {
        @Parameters(index = "0", description = "the election's name")
        String name;

        @Option(names = "--value", defaultValue = "", description = "what observers read as the leader's value")
        String value;

        @Override
        int run(LatchkeyClient client) throws Exception {
            try (Session session = client.openSession(Session.Options.defaults().ttl(ttl).owner("latchkey elect").cache(false).channel(false));
                    LeaderElection election = new LeaderElection(session, name, value)) {
                election.start();
                if (!election.awaitLeadership(wait)) {
                    spec.commandLine().getErr().println("error: not elected within " + wait);
                    return BUSY;
                }
                return runHolding(session, election.sequencer().orElseThrow());
            }
        }
    }
}
