package dev.latchkey.coordinator.http;

import dev.latchkey.client.Tls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS for the HTTP API and the session channel, from PEM files. With {@code clientCa} the
 * coordinator asks every client for a certificate signed by one of those CAs (mutual TLS) and a
 * request without a bearer token acts for the certificate's subject common name; {@code admins}
 * names the subjects that are admin identities.
 *
 * <p>The files are checked every two seconds, and a changed pair (a renewed certificate) is taken
 * up without a restart; connections open at the time keep the old one.
 *
 * @param certificate PEM certificate chain, the coordinator's own certificate first
 * @param key         PEM private key (PKCS#8, or PKCS#1 RSA)
 * @param clientCa    PEM CA certificates that sign client certificates, or {@code null} for no mutual TLS
 * @param admins      certificate common names that are admin identities
 */
public record TlsConfig(Path certificate, Path key, Path clientCa, Set<String> admins) {

    private static final Logger LOG = LoggerFactory.getLogger(TlsConfig.class);

    public TlsConfig {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
        admins = admins == null ? Set.of() : Set.copyOf(admins);
    }

    public boolean mutual() {
        return clientCa != null;
    }

    /** Checks the files can be used (for a clear message at start rather than on the first connection). */
    public SSLContext context() {
        return Tls.context(clientCa, certificate, key);
    }

    /** Jetty's factory for this configuration, and a thread that reloads it when the files change. */
    SslContextFactory.Server factory() {
        SslContextFactory.Server factory = new SslContextFactory.Server();
        factory.setSslContext(context());
        if (mutual()) {
            factory.setNeedClientAuth(true);
        }
        return factory;
    }

    /** Polls the files' modification times; returns the thread, which stops when interrupted. */
    Thread watch(SslContextFactory.Server factory) {
        return Thread.ofVirtual().name("latchkey-tls-reload").start(() -> {
            long seen = stamp();
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    TimeUnit.SECONDS.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
                long now = stamp();
                if (now != seen) {
                    seen = now;
                    try {
                        SSLContext fresh = context();
                        factory.reload(f -> f.setSslContext(fresh));
                        LOG.info("TLS certificate reloaded from {}", certificate);
                    } catch (Exception e) { // a half-written pair: keep serving the old one, try again on the next change
                        LOG.warn("TLS files changed but cannot be used yet ({}); still serving the previous certificate", e.getMessage());
                    }
                }
            }
        });
    }

    private long stamp() {
        long sum = 0;
        for (Path p : clientCa == null ? new Path[] {certificate, key} : new Path[] {certificate, key, clientCa}) {
            try {
                sum = sum * 31 + Files.getLastModifiedTime(p).toMillis() + Files.size(p);
            } catch (java.io.IOException e) {
                sum = sum * 31 - 1;
            }
        }
        return sum;
    }
}
