package dev.latchkey.client;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS from PEM files, the form certificates come in from every CA and from {@code openssl}: a
 * certificate chain, a private key (PKCS#8 {@code BEGIN PRIVATE KEY}, or RSA's PKCS#1
 * {@code BEGIN RSA PRIVATE KEY}), and CA certificates to trust. No key store to build by hand.
 *
 * <pre>{@code
 * SSLContext tls = Tls.context(Path.of("ca.pem"), null, null);                  // trust the coordinator's CA
 * SSLContext mtls = Tls.context(Path.of("ca.pem"), Path.of("me.pem"), Path.of("me.key")); // and present a certificate
 * LatchkeyClient client = LatchkeyClient.connect("https://coord:7700").withTls(mtls);
 * }</pre>
 */
public final class Tls {

    private static final Pattern KEY = Pattern.compile("-----BEGIN ([A-Z ]*)PRIVATE KEY-----([^-]+)-----END \\1PRIVATE KEY-----");
    private static final char[] NO_PASSWORD = new char[0];

    private Tls() {
    }

    /**
     * An SSL context that trusts the CA certificates in {@code trustPem} (the JDK's own CAs when
     * {@code null}) and, when {@code certPem} and {@code keyPem} are given, presents that certificate
     * chain (a server's certificate, or a client's for mutual TLS).
     */
    public static SSLContext context(Path trustPem, Path certPem, Path keyPem) {
        if ((certPem == null) != (keyPem == null)) {
            throw new IllegalArgumentException("a certificate needs its private key, and a key its certificate");
        }
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            KeyManagerFactory keys = null;
            if (certPem != null) {
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                List<X509Certificate> chain = certificates(certPem);
                PrivateKey key = privateKey(keyPem);
                requireMatch(key, chain.get(0), certPem, keyPem);
                store.setKeyEntry("key", key, NO_PASSWORD, chain.toArray(new X509Certificate[0]));
                keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, NO_PASSWORD);
            }
            TrustManagerFactory trust = null;
            if (trustPem != null) {
                trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                trust.init(trustStore(trustPem));
            }
            context.init(keys == null ? null : keys.getKeyManagers(), trust == null ? null : trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalArgumentException("cannot use these TLS files: " + e.getMessage(), e);
        }
    }

    /** Refuses a key that is not the certificate's (a pair caught half-way through being replaced, or mixed up). */
    private static void requireMatch(PrivateKey key, X509Certificate certificate, Path certPem, Path keyPem) throws GeneralSecurityException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "RSASSA-PSS" -> null;
            default -> key.getAlgorithm(); // Ed25519, Ed448, EdDSA
        };
        if (algorithm == null) {
            return;
        }
        byte[] probe = "latchkey".getBytes(StandardCharsets.US_ASCII);
        java.security.Signature signer = java.security.Signature.getInstance(algorithm);
        signer.initSign(key);
        signer.update(probe);
        byte[] signature = signer.sign();
        java.security.Signature verifier = java.security.Signature.getInstance(algorithm);
        try {
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(probe);
            if (verifier.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // a key of another kind than the certificate's: not its key either
        }
        throw new GeneralSecurityException("the key in " + keyPem + " is not the key of the certificate in " + certPem);
    }

    /** A key store holding the CA certificates of a PEM file, for trusting them. */
    public static KeyStore trustStore(Path pem) throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        int i = 0;
        for (X509Certificate c : certificates(pem)) {
            store.setCertificateEntry("ca-" + i++, c);
        }
        return store;
    }

    /** The certificates of a PEM file, in order. */
    public static List<X509Certificate> certificates(Path pem) throws GeneralSecurityException, IOException {
        byte[] bytes = Files.readAllBytes(pem);
        List<X509Certificate> out = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(bytes)).stream()
                .map(c -> (X509Certificate) c).toList();
        if (out.isEmpty()) {
            throw new GeneralSecurityException(pem + " holds no certificate");
        }
        return out;
    }

    /** The private key of a PEM file: PKCS#8 (RSA, EC, Ed25519) or PKCS#1 RSA. */
    public static PrivateKey privateKey(Path pem) throws GeneralSecurityException, IOException {
        String text = Files.readString(pem, StandardCharsets.US_ASCII);
        Matcher m = KEY.matcher(text);
        if (!m.find()) {
            throw new GeneralSecurityException(pem + " holds no PEM private key (BEGIN PRIVATE KEY)");
        }
        String kind = m.group(1).trim();
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        if (kind.equals("RSA")) {
            der = pkcs1ToPkcs8(der);
        } else if (!kind.isEmpty()) {
            throw new GeneralSecurityException(pem + " holds a '" + kind + " PRIVATE KEY'; convert it to PKCS#8 with "
                    + "'openssl pkcs8 -topk8 -nocrypt -in " + pem.getFileName() + "'");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        GeneralSecurityException last = null;
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException(pem + ": not an RSA, EC or EdDSA key", last);
    }

    /** Wraps a PKCS#1 RSAPrivateKey in PKCS#8's PrivateKeyInfo (version 0, rsaEncryption, the key as an octet string). */
    private static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, pkcs1);
        byte[] body = new byte[version.length + algorithm.length + octets.length];
        System.arraycopy(version, 0, body, 0, version.length);
        System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
        System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
        return der(0x30, body);
    }

    private static byte[] der(int tag, byte[] content) {
        int n = content.length;
        byte[] length = n < 0x80 ? new byte[] {(byte) n}
                : n < 0x100 ? new byte[] {(byte) 0x81, (byte) n}
                : n < 0x10000 ? new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n}
                : new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] out = new byte[1 + length.length + n];
        out[0] = (byte) tag;
        System.arraycopy(length, 0, out, 1, length.length);
        System.arraycopy(content, 0, out, 1 + length.length, n);
        return out;
    }
}
