package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LatchkeyException;
import dev.latchkey.client.Session;
import dev.latchkey.client.Tls;
import dev.latchkey.coordinator.Main;
import dev.latchkey.testing.Database;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.io.TempDir;

/** TLS and mutual TLS on the API and the session channel; the connection caps. */
class TlsTest {

    @TempDir
    Path dir;

    @DatabaseTest
    void withMutualTlsAClientCertificateIsTheIdentityAndSessionsStayTheirOwners(TestDatabase db) throws Exception {
        TestCertificates pki = new TestCertificates(dir, "latchkey-test");
        TestCertificates.Issued server = pki.server("server");
        TestCertificates.Issued alice = pki.client("alice");
        TestCertificates.Issued bob = pki.client("bob");
        TestCertificates.Issued ops = pki.client("ops");
        TestCertificates stranger = new TestCertificates(Files.createDirectory(dir.resolve("elsewhere")), "someone-else");
        TestCertificates.Issued mallory = stranger.client("alice"); // the right name, from a CA the coordinator does not trust

        TlsConfig tls = new TlsConfig(server.certificate(), server.key(), pki.caPem, Set.of("ops"));
        try (Harness h = Harness.with(db, false, Limits.defaults(), tls);
                LatchkeyClient asAlice = LatchkeyClient.connect(h.api.base).withTls(Tls.context(pki.caPem, alice.certificate(), alice.key()));
                LatchkeyClient asBob = LatchkeyClient.connect(h.api.base).withTls(Tls.context(pki.caPem, bob.certificate(), bob.key()));
                LatchkeyClient asOps = LatchkeyClient.connect(h.api.base).withTls(Tls.context(pki.caPem, ops.certificate(), ops.key()))) {
            assertThat(h.api.base).startsWith("https://");
            Session session = asAlice.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(20)));
            session.acquire("/jobs/payroll", Duration.ZERO);
            assertThat(session.usesChannel()).as("the session channel runs over wss://").isTrue();
            assertThat(h.coordinator.sessions().identityOf(session.id())).contains("alice");

            // bob's certificate is valid, but the session is not his
            long revision = h.coordinator.events().currentRevision();
            assertThat(asBob.stat("/jobs/payroll").lockGeneration()).isEqualTo(1); // reading is fine
            var bobSessionClose = catchStatus(() -> sessionClose(asBob, session.id()));
            assertThat(bobSessionClose).isEqualTo(403);
            assertThat(h.coordinator.events().currentRevision()).isEqualTo(revision);

            // no certificate, or one from another CA: the handshake itself fails
            for (SSLContext context : List.of(Tls.context(pki.caPem, null, null),
                    Tls.context(pki.caPem, mallory.certificate(), mallory.key()))) {
                try (LatchkeyClient anonymous = LatchkeyClient.connect(h.api.base).withTls(context)) {
                    assertThatThrownBy(() -> anonymous.stat("/")).isInstanceOf(LatchkeyException.class);
                }
            }
            // a client that does not trust the coordinator's CA does not talk to it
            try (LatchkeyClient trusting = LatchkeyClient.connect(h.api.base)) {
                assertThatThrownBy(() -> trusting.stat("/")).isInstanceOf(LatchkeyException.class);
            }

            // ops is named an admin by --tls-admin: it may end anyone's session
            sessionClose(asOps, session.id());
            assertThat(h.coordinator.locks().holders("/jobs/payroll")).isEmpty();
            session.abandon();
        }
    }

    @DatabaseTest(only = Database.H2)
    void tokensWorkOverTlsAndARenewedCertificateIsTakenUpWithoutARestart(TestDatabase db) throws Exception {
        TestCertificates pki = new TestCertificates(dir, "latchkey-test");
        TestCertificates.Issued first = pki.server("server");
        TlsConfig tls = new TlsConfig(first.certificate(), first.key(), null, Set.of());
        try (Harness h = Harness.with(db, true, Limits.defaults(), tls);
                LatchkeyClient client = LatchkeyClient.connect(h.api.base).withTls(Tls.context(pki.caPem, null, null)).withToken(Harness.BOOTSTRAP);
                LatchkeyClient noToken = LatchkeyClient.connect(h.api.base).withTls(Tls.context(pki.caPem, null, null))) {
            client.write("/motd", "hello".getBytes(), null);
            assertThat(new String(client.read("/motd").bytes())).isEqualTo("hello");
            assertThatThrownBy(() -> noToken.stat("/motd")).isInstanceOfSatisfying(LatchkeyException.class,
                    e -> assertThat(e.status()).isEqualTo(401));
            int port = java.net.URI.create(h.api.base).getPort();
            assertThat(servedSerial(pki, port)).isEqualTo(first.x509().getSerialNumber());

            TestCertificates.Issued renewed = pki.server("server"); // written over the same files
            await().atMost(Duration.ofSeconds(10)).until(() -> servedSerial(pki, port).equals(renewed.x509().getSerialNumber()));
            assertThat(new String(client.read("/motd").bytes())).isEqualTo("hello");
        }
    }

    @DatabaseTest(only = Database.H2)
    void aClientAddressPastItsConnectionCapIsCutOffAndServedAgainOnceItClosesSome(TestDatabase db) throws Exception {
        Limits limits = new Limits(1_000, 100, 10_000, 100, 3);
        try (Harness h = Harness.with(db, false, limits, null)) {
            int port = java.net.URI.create(h.api.base).getPort();
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    held.add(new Socket("127.0.0.1", port));
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> h.http.connectionsFrom(InetAddress.getByName("127.0.0.1")) == 3);
                try (Socket fourth = new Socket("127.0.0.1", port)) {
                    fourth.setSoTimeout(5_000);
                    fourth.getOutputStream().write("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes());
                    assertThat(readAll(fourth)).as("closed without an answer").isEmpty();
                }
                held.remove(0).close();
                await().atMost(Duration.ofSeconds(5)).until(() -> h.http.connectionsFrom(InetAddress.getByName("127.0.0.1")) <= 2);
                assertThat(h.api.call("GET", "/v1/health", null).status()).isEqualTo(200);
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    @org.junit.jupiter.api.Test
    void serveRefusesHalfATlsConfigurationOrAKeyThatIsNotTheCertificates() throws Exception {
        TestCertificates pki = new TestCertificates(dir, "latchkey-test");
        TestCertificates.Issued one = pki.server("one");
        TestCertificates.Issued two = pki.server("two");
        assertThat(serve("--tls-cert", one.certificate().toString())).contains("needs both --tls-cert and --tls-key");
        assertThat(serve("--tls-cert", one.certificate().toString(), "--tls-key", two.key().toString())).contains("is not the key of the certificate");
        assertThat(serve("--tls-client-ca", pki.caPem.toString())).contains("--tls-client-ca needs --tls-cert");
    }

    private static String serve(String... tlsArgs) {
        StringWriter err = new StringWriter();
        List<String> args = new ArrayList<>(List.of("serve", "--port", "0", "--data-dir", "target/never-used"));
        args.addAll(List.of(tlsArgs));
        int code = Main.run(args.toArray(String[]::new), new PrintWriter(new StringWriter()), new PrintWriter(err, true));
        assertThat(code).isEqualTo(2);
        return err.toString();
    }

    private static void sessionClose(LatchkeyClient client, String id) {
        client.closeSession(id);
    }

    private static int catchStatus(Runnable r) {
        try {
            r.run();
            return 200;
        } catch (LatchkeyException e) {
            return e.status();
        }
    }

    private static BigInteger servedSerial(TestCertificates pki, int port) throws Exception {
        SSLContext trusting = Tls.context(pki.caPem, null, null);
        try (SSLSocket s = (SSLSocket) trusting.getSocketFactory().createSocket("127.0.0.1", port)) {
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSerialNumber();
        }
    }

    private static byte[] readAll(Socket s) {
        try {
            return s.getInputStream().readAllBytes();
        } catch (java.io.IOException e) {
            return new byte[0]; // reset: closed all the same
        }
    }
}
