package dev.latchkey.coordinator.clienttest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.latchkey.coordinator.Main;
import dev.latchkey.coordinator.cli.ClientCommands;
import dev.latchkey.coordinator.http.Harness;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Every subcommand of the command-line tool, against a running coordinator. */
class CommandLineTest {

    private record Run(int code, String out, String err) {
    }

    private static Run cli(Harness h, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = args[0];
        all[1] = "--server=" + h.api.base;
        System.arraycopy(args, 1, all, 2, args.length - 1);
        int code = Main.run(all, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    /** A scratch folder per test, removed after it. */
    @org.junit.jupiter.api.io.TempDir
    Path tmp;

    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2})
    void everySubcommandWorksAndFailuresExitNonZero(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Run mkdir = cli(h, "put", "/cfg", "--mkdir");
            assertThat(mkdir.code()).as(mkdir.err()).isZero();
            Run put = cli(h, "put", "/cfg/banner", "Hello");
            assertThat(put.code()).isZero();
            assertThat(put.out()).contains("generation 1");
            Files.writeString(tmp.resolve("motd.txt"), "from a file");
            assertThat(cli(h, "put", "/cfg/motd", "@" + tmp.resolve("motd.txt")).code()).isZero();
            assertThat(cli(h, "cat", "/cfg/motd").out()).isEqualTo("from a file");

            Run stale = cli(h, "put", "/cfg/banner", "stale", "--if-generation", "7");
            assertThat(stale.code()).isEqualTo(1);
            assertThat(stale.err()).contains("precondition-failed");
            assertThat(cli(h, "put", "/cfg/banner", "World", "--if-generation", "1").code()).isZero();
            assertThat(cli(h, "cat", "/cfg/banner").out()).isEqualTo("World");
            assertThat(cli(h, "stat", "/cfg/banner").out()).contains("\"contentGeneration\" : 2");
            assertThat(cli(h, "ls", "/cfg").out()).contains("banner", "motd");
            assertThat(cli(h, "ls", "-l", "/").out()).contains("d", "cfg/");

            Run watch = cli(h, "watch", "/cfg", "--from-rev", "0", "--count", "3");
            assertThat(watch.code()).isZero();
            assertThat(watch.out().lines()).hasSize(3).allMatch(l -> l.matches("\\d+ [a-z-]+ /cfg.*"));

            Path marker = tmp.resolve("sequencer.txt");
            Run lock = cli(h, "lock", "/jobs/nightly", "--", "sh", "-c", "echo \"$LATCHKEY_SEQUENCER\" > '" + marker + "'; exit 7");
            assertThat(lock.code()).as("the command's exit code passes through").isEqualTo(7);
            assertThat(Files.readString(marker)).startsWith("/jobs/nightly:exclusive:");
            assertThat(cli(h, "lock", "/jobs/nightly", "--", "true").code()).as("released after the command").isZero();

            String holder = h.api.openSession(30_000);
            h.api.acquire("/busy", holder, "exclusive", 0, 0);
            Run busy = cli(h, "lock", "/busy", "--wait", "PT0.2S", "--", "true");
            assertThat(busy.code()).isEqualTo(ClientCommands.BUSY);
            assertThat(busy.err()).contains("lock-busy");

            Path leader = tmp.resolve("leader.txt");
            Run elect = cli(h, "elect", "restock", "--value", "node-a", "--", "sh", "-c", "echo \"$LATCHKEY_GENERATION\" > '" + leader + "'");
            assertThat(elect.code()).isZero();
            assertThat(Files.readString(leader).trim()).matches("\\d+");

            assertThat(cli(h, "sessions").out()).contains(holder);
            assertThat(cli(h, "rm", "/cfg").err()).contains("has-children");
            assertThat(cli(h, "rm", "/cfg/banner").code()).isZero();
            Run missing = cli(h, "cat", "/cfg/banner");
            assertThat(missing.code()).isEqualTo(1);
            assertThat(missing.err()).startsWith("error: ").contains("node-not-found");
            Run bad = cli(h, "cat", "not-a-path");
            assertThat(bad.code()).isEqualTo(ClientCommands.USAGE);
        }
        StringWriter err = new StringWriter();
        assertThat(Main.run(new String[] {"ls", "--server=http://127.0.0.1:1"}, new PrintWriter(new StringWriter()), new PrintWriter(err, true)))
                .isEqualTo(1);
        assertThat(err.toString()).contains("unreachable");
        assertThat(Main.run(new String[] {"frobnicate"}, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter(), true)))
                .isNotZero();
    }

    /** Regression: "put hello world" sent PUT /v1/nodeshello; "lock locks/x" sent /v1/lockslocks/x. */
    @DatabaseTest(only = Database.H2)
    void aPathWithoutALeadingSlashIsRefusedBeforeAnythingIsSent(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            long before = h.coordinator.events().currentRevision();
            Run put = cli(h, "put", "hello", "world");
            assertThat(put.code()).isEqualTo(ClientCommands.USAGE);
            assertThat(put.err()).startsWith("error: 'hello' is not a valid path: it must start with '/'").doesNotContain("Endpoint");
            Path ran = tmp.resolve("ran");
            Run lock = cli(h, "lock", "locks/x", "--", "touch", ran.toString());
            assertThat(lock.code()).isEqualTo(ClientCommands.USAGE);
            assertThat(lock.err()).contains("'locks/x' is not a valid path");
            assertThat(ran).as("the command does not run without its lock").doesNotExist();
            for (String[] args : new String[][] {{"cat", "a//b"}, {"ls", "/a/"}, {"rm", "/a/.."}, {"watch", "x"}, {"stat", "/a b"}}) {
                Run r = cli(h, args);
                assertThat(r.code()).as(String.join(" ", args)).isEqualTo(ClientCommands.USAGE);
            }
            assertThat(h.coordinator.events().currentRevision()).as("nothing changed").isEqualTo(before);
            try (dev.latchkey.client.LatchkeyClient client = dev.latchkey.client.LatchkeyClient.connect(h.api.base)) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.write("hello", new byte[0], null))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must start with '/'");
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> client.watch("cfg", false, -1, e -> { }))
                        .isInstanceOf(IllegalArgumentException.class);
            }
        }
    }

    /** Regression: "watch /" with no coordinator running waited in silence for ever. */
    @org.junit.jupiter.api.Test
    void watchWithNoCoordinatorFailsAtOnceLikeEveryOtherCommand() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nobody listens there
        }
        StringWriter err = new StringWriter();
        int[] code = new int[1];
        Thread run = Thread.ofPlatform().daemon().start(() -> code[0] = Main.run(new String[] {"watch", "/", "--server=http://127.0.0.1:" + port},
                new PrintWriter(new StringWriter()), new PrintWriter(err, true)));
        run.join(java.time.Duration.ofSeconds(20));
        assertThat(run.isAlive()).as("watch returned").isFalse();
        assertThat(code[0]).isEqualTo(1);
        assertThat(err.toString()).startsWith("error: ").contains("unreachable");
    }

    private static Run raw(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @org.junit.jupiter.api.Test
    void everySubcommandAnswersHelpAndTheToolListsItsExitCodes() {
        for (String command : java.util.List.of("ls", "cat", "stat", "put", "rm", "sessions", "watch", "lock", "elect", "token", "acl", "serve",
                "after-restore")) {
            Run help = raw(command, "--help");
            assertThat(help.code()).as(command + " --help: " + help.err()).isZero();
            assertThat(help.out()).as(command).contains("Usage: latchkey-coordinator " + command);
        }
        Run top = raw("--help");
        assertThat(top.out()).contains("Exit codes:", "3", "busy");
    }

    @DatabaseTest(only = Database.H2)
    void globalOptionsGoEitherSideDurationsReadAsWrittenAndSilentCommandsSayWhatTheyDid(TestDatabase db) throws Exception {
        try (Harness h = new Harness(db)) {
            Run none = raw("--server", h.api.base, "sessions");
            assertThat(none.code()).as(none.err()).isZero();
            assertThat(none.out()).isEqualTo("no sessions" + System.lineSeparator());

            Run mkdir = raw("--server=" + h.api.base, "put", "/jobs", "--mkdir");
            assertThat(mkdir.out()).contains("created /jobs");
            Run put = raw("put", "/jobs/a", "x", "--server", h.api.base);
            assertThat(put.out()).contains("wrote /jobs/a, generation 1");
            Run json = raw("-o", "json", "--server", h.api.base, "ls", "/jobs");
            assertThat(json.code()).as(json.err()).isZero();
            assertThat(json.out().trim()).startsWith("[").contains("\"path\":\"/jobs/a\"");
            assertThat(raw("rm", "/jobs/a", "--server", h.api.base).out()).contains("removed /jobs/a");

            Run lock = raw("--server", h.api.base, "lock", "/jobs/nightly", "--wait", "1s", "--ttl", "2s", "--", "true");
            assertThat(lock.code()).as(lock.err()).isZero();
            Run badDuration = raw("--server", h.api.base, "lock", "/jobs/nightly", "--wait", "1 fortnight", "--", "true");
            assertThat(badDuration.code()).isEqualTo(2);
            assertThat(badDuration.err()).contains("is not a duration", "500ms");

            try (dev.latchkey.client.LatchkeyClient client = dev.latchkey.client.LatchkeyClient.connect(h.api.base);
                    dev.latchkey.client.Session holder = client.openSession(dev.latchkey.client.Session.Options.defaults());
                    dev.latchkey.client.Lease held = holder.acquire("/jobs/nightly", java.time.Duration.ZERO)) {
                long start = System.nanoTime();
                Run busy = raw("--server", h.api.base, "lock", "/jobs/nightly", "--wait", "500ms", "--", "true");
                assertThat(busy.code()).as(busy.err()).isEqualTo(ClientCommands.BUSY);
                assertThat((System.nanoTime() - start) / 1_000_000).as("waited about the 500 ms asked for").isLessThan(5_000);
            }
        }
    }

    @DatabaseTest(only = Database.H2)
    void aclSetsAndShowsANodesAclAndStatShowsTheEffectiveOne(TestDatabase db) {
        try (Harness h = new Harness(db)) {
            assertThat(raw("--server", h.api.base, "put", "/payroll", "--mkdir").code()).isZero();
            Run set = raw("--server", h.api.base, "acl", "set", "/payroll", "--read", "ops", "--admin", "ops");
            assertThat(set.code()).as(set.err()).isZero();
            assertThat(set.out()).contains("/payroll  (ACL generation 1)", "read   /acl/ops  (set at /payroll)", "write  default: every identity",
                    "admin  /acl/ops");
            assertThat(raw("--server", h.api.base, "put", "/payroll/march", "x").code()).isZero();
            Run stat = raw("--server", h.api.base, "stat", "/payroll/march");
            assertThat(stat.out()).contains("\"acl\"", "\"setAt\" : \"/payroll\"");
            Run get = raw("-o", "json", "--server", h.api.base, "acl", "get", "/payroll/march");
            assertThat(get.out()).contains("\"aclGeneration\":0", "\"acl\":\"ops\"");
            Run bad = raw("--server", h.api.base, "acl", "set", "/payroll", "--read", "../x");
            assertThat(bad.code()).isEqualTo(1);
            assertThat(bad.err()).contains("an ACL name is");
        }
    }
}
