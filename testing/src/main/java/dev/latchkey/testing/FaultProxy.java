package dev.latchkey.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy in front of a database server that a test can make slow or unreachable: put its
 * port in the JDBC URL instead of the server's, then {@link #delay} every chunk of traffic, or
 * {@link #cut} every connection (and refuse new ones) until {@link #restore}.
 *
 * <p>Cutting closes both ends of every proxied connection, as a crashed server or a broken network
 * path would show itself to the client: its next read or write fails.
 */
public final class FaultProxy implements AutoCloseable {

    private static final java.util.regex.Pattern HOST_PORT = java.util.regex.Pattern.compile("//([^/:,?;]+):(\\d+)");

    private final InetSocketAddress target;
    private final ServerSocket server;
    private final String jdbcUrl;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean running = true;
    private volatile boolean cut;
    private volatile long delayNanos;

    private FaultProxy(String host, int port, String jdbcUrl) throws IOException {
        this.target = new InetSocketAddress(host, port);
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        this.jdbcUrl = HOST_PORT.matcher(jdbcUrl).replaceFirst("//127.0.0.1:" + server.getLocalPort());
        Thread.ofPlatform().name("fault-proxy-accept").daemon().start(this::acceptLoop);
    }

    /**
     * Starts a proxy in front of the server a JDBC URL names ({@code jdbc:...://host:port/...});
     * {@link #jdbcUrl()} is the same URL through the proxy.
     */
    public static FaultProxy inFrontOf(String jdbcUrl) throws IOException {
        java.util.regex.Matcher m = HOST_PORT.matcher(jdbcUrl);
        if (!m.find()) {
            throw new IllegalArgumentException("no host:port in '" + jdbcUrl + "' (an embedded database cannot be proxied)");
        }
        return new FaultProxy(m.group(1), Integer.parseInt(m.group(2)), jdbcUrl);
    }

    /** The URL given to {@link #inFrontOf}, through this proxy. */
    public String jdbcUrl() {
        return jdbcUrl;
    }

    /** The port to connect to instead of the server's. */
    public int port() {
        return server.getLocalPort();
    }

    /** Delays every chunk of data, in each direction, by this many milliseconds (0: none). */
    public void delay(long millis) {
        delayNanos = TimeUnit.MILLISECONDS.toNanos(millis);
    }

    /** Breaks every open connection and refuses new ones until {@link #restore}. */
    public void cut() {
        cut = true;
        for (Socket s : open) {
            closeQuietly(s);
        }
    }

    /** Lets connections through again, without delay. */
    public void restore() {
        delayNanos = 0;
        cut = false;
    }

    private void acceptLoop() {
        while (running) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            if (cut) {
                closeQuietly(client);
                continue;
            }
            Thread.ofVirtual().start(() -> connect(client));
        }
    }

    private void connect(Socket client) {
        Socket upstream = new Socket();
        try {
            upstream.connect(target, 5_000);
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
        } catch (IOException e) {
            closeQuietly(client);
            closeQuietly(upstream);
            return;
        }
        open.add(client);
        open.add(upstream);
        Thread.ofVirtual().start(() -> pump(client, upstream));
        Thread.ofVirtual().start(() -> pump(upstream, client));
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                long delay = delayNanos;
                if (delay > 0) {
                    TimeUnit.NANOSECONDS.sleep(delay);
                }
                if (cut) {
                    break;
                }
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the other side went away, or the proxy cut the connection
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            open.remove(from);
            open.remove(to);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        cut();
    }
}
