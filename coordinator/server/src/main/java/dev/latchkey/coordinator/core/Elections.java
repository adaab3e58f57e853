package dev.latchkey.coordinator.core;

import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Leader election as a recipe on locks and files: campaigning is acquiring the exclusive lock on
 * {@code /elections/NAME}; the grant writes the winner's value into that file in the same
 * transaction, so nobody ever sees a new leader with the previous leader's value; the leader is the
 * lock's holder, and its sequencer fences whatever it does as leader. Observers watch the path.
 */
public final class Elections {

    public static final String ROOT = "/elections";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,100}");

    /** The current leader of an election. */
    public record Leader(String name, Grant sequencer, String value) {
    }

    private final Namespace namespace;
    private final Locks locks;

    public Elections(Namespace namespace, Locks locks) {
        this.namespace = namespace;
        this.locks = locks;
    }

    public static String path(String name) {
        if (name == null || !NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "an election name is 1-100 letters, digits, '.', '_' or '-'");
        }
        return ROOT + "/" + name;
    }

    /** Campaigns for up to {@code wait}; returns the leader's sequencer once elected, or throws busy. */
    public Grant campaign(String name, String session, String value, Duration wait, long lockDelayMs) {
        String path = path(name);
        byte[] content = value == null ? new byte[0] : value.getBytes(StandardCharsets.UTF_8);
        if (content.length > Namespace.MAX_CONTENT) {
            throw new CoordinatorException(Problem.CONTENT_TOO_LARGE, "an election value holds at most " + Namespace.MAX_CONTENT + " bytes");
        }
        namespace.mkdir(ROOT);
        return locks.acquire(path, session, Grant.Mode.EXCLUSIVE, wait, lockDelayMs, content);
    }

    public Optional<Leader> leader(String name) {
        String path = path(name);
        return locks.holderWithContent(path).map(h -> new Leader(name, h.sequencer(), new String(h.content(), StandardCharsets.UTF_8)));
    }

    public void resign(String name, String session) {
        locks.release(path(name), session);
    }
}
