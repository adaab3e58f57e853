package dev.latchkey.coordinator.http;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throwaway CA and the certificates it signs, written as PEM files (as openssl would), for TLS tests. */
final class TestCertificates {

    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    /** A certificate and its key, as PEM files. */
    record Issued(Path certificate, Path key, X509Certificate x509) {
    }

    private final Path dir;
    private final KeyPair caKeys;
    private final X509Certificate ca;
    final Path caPem;

    TestCertificates(Path dir, String caName) throws Exception {
        this.dir = dir;
        this.caKeys = keys();
        X500Name name = new X500Name("CN=" + caName);
        var builder = new JcaX509v3CertificateBuilder(name, serial(), from(), until(), name, caKeys.getPublic())
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        this.ca = sign(builder, caKeys);
        this.caPem = write(caName + "-ca.pem", ca);
    }

    /** A server certificate for localhost and 127.0.0.1. */
    Issued server(String file) throws Exception {
        KeyPair keys = keys();
        var builder = new JcaX509v3CertificateBuilder(ca, serial(), from(), until(), new X500Name("CN=localhost"), keys.getPublic())
                .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                        new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
        return issue(file, builder, keys);
    }

    /** A client certificate whose subject common name is {@code cn}. */
    Issued client(String cn) throws Exception {
        KeyPair keys = keys();
        var builder = new JcaX509v3CertificateBuilder(ca, serial(), from(), until(), new X500Name("CN=" + cn + ",O=Latchkey tests"),
                keys.getPublic());
        return issue(cn, builder, keys);
    }

    private Issued issue(String file, org.bouncycastle.cert.X509v3CertificateBuilder builder, KeyPair keys) throws Exception {
        X509Certificate cert = sign(builder, caKeys);
        return new Issued(write(file + ".pem", cert), write(file + ".key", keys.getPrivate()), cert);
    }

    private X509Certificate sign(org.bouncycastle.cert.X509v3CertificateBuilder builder, KeyPair signer) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    }

    private static KeyPair keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    private Path write(String file, Object value) throws IOException {
        StringWriter text = new StringWriter();
        try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
            pem.writeObject(value instanceof java.security.PrivateKey k ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null) : value);
        }
        Path tmp = dir.resolve(file + ".tmp");
        Files.writeString(tmp, text.toString());
        return Files.move(tmp, dir.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIAL.incrementAndGet());
    }

    private static Date from() {
        return Date.from(Instant.now().minus(Duration.ofHours(1)));
    }

    private static Date until() {
        return Date.from(Instant.now().plus(Duration.ofDays(2)));
    }
}
