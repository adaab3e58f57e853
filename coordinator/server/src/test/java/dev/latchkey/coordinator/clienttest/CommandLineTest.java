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

    @DatabaseTest(only = {Database.POSTGRESQL, Database.H2})
    void everySubcommandWorksAndFailuresExitNonZero(TestDatabase db) throws Exception {
        Path tmp = Files.createTempDirectory("latchkey-cli");
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
            assertThat(bad.code()).isEqualTo(1);
        }
        StringWriter err = new StringWriter();
        assertThat(Main.run(new String[] {"ls", "--server=http://127.0.0.1:1"}, new PrintWriter(new StringWriter()), new PrintWriter(err, true)))
                .isEqualTo(1);
        assertThat(err.toString()).contains("unreachable");
        assertThat(Main.run(new String[] {"frobnicate"}, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter(), true)))
                .isNotZero();
    }
}
