package dev.latchkey.client;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * A naming service on the coordinator: instances register their endpoint as an ephemeral file
 * {@code /naming/SERVICE/INSTANCE}, which disappears when the instance's session ends; clients
 * resolve the service to its live members and watch them change.
 */
public final class Naming {

    public static final String ROOT = "/naming";

    private final LatchkeyClient client;

    public Naming(LatchkeyClient client) {
        this.client = client;
    }

    /** Registers an instance's endpoint for as long as the session lives. */
    public NodeStat register(Session session, String service, String instance, String endpoint) {
        ensureDirectory(ROOT);
        ensureDirectory(ROOT + "/" + service);
        return session.createEphemeral(ROOT + "/" + service + "/" + instance, endpoint.getBytes(StandardCharsets.UTF_8));
    }

    /** The live members of a service: instance name to endpoint. */
    public Map<String, String> resolve(String service) {
        Map<String, String> members = new TreeMap<>();
        try {
            for (NodeStat child : client.list(ROOT + "/" + service)) {
                try {
                    members.put(child.path().substring(child.path().lastIndexOf('/') + 1), client.read(child.path()).text());
                } catch (LatchkeyException e) {
                    if (!e.is("node-not-found")) {
                        throw e;
                    }
                }
            }
        } catch (LatchkeyException e) {
            if (!e.is("node-not-found")) {
                throw e;
            }
        }
        return members;
    }

    /** Calls {@code onChange} with the members now and whenever they change. */
    public Watch watch(String service, Consumer<Map<String, String>> onChange) {
        long from = client.currentRevision(); // watch from before the first resolve, so no change falls between
        onChange.accept(resolve(service));
        return client.watch(ROOT + "/" + service, false, from, event -> onChange.accept(resolve(service)));
    }

    private void ensureDirectory(String path) {
        try {
            client.mkdir(path);
        } catch (LatchkeyException e) {
            if (!e.is("not-a-directory")) {
                throw e;
            }
            throw new LatchkeyException(409, "not-a-directory", path + " exists and is a file");
        }
    }
}
