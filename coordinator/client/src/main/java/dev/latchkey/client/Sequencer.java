package dev.latchkey.client;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Proof that a lock was held: the lock's path, the mode it was held in, the lock generation at the
 * grant, and the holding session. A server that receives a sequencer with a request checks it is
 * still current before acting; a table can refuse writes from older generations with the toolkit's
 * fenced writes ({@code FencingToken token = sequencer::generation}).
 *
 * <p>Its text form, {@code path:mode:generation:session} with the path percent-encoded where it
 * holds a colon, is what the HTTP API and the command-line tool pass around.
 *
 * @param path       the lock node's path, starting with {@code /}
 * @param mode       exclusive or shared
 * @param generation the lock generation, bumped on every free-to-held transition
 * @param session    the session that holds the lock
 */
public record Sequencer(String path, Mode mode, long generation, String session) {

    private static final Pattern SESSION = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    /** Lock modes. */
    public enum Mode {
        EXCLUSIVE,
        SHARED
    }

    public Sequencer {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(session, "session");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("a sequencer's path must start with '/': " + path);
        }
        if (generation < 1) {
            throw new IllegalArgumentException("a lock generation starts at 1, not " + generation);
        }
        if (!SESSION.matcher(session).matches()) {
            throw new IllegalArgumentException("not a session id: '" + session + "'");
        }
    }

    /** The text form: {@code path:mode:generation:session}. */
    public String encode() {
        return path.replace("%", "%25").replace(":", "%3A") + ":" + mode.name().toLowerCase(java.util.Locale.ROOT) + ":"
                + generation + ":" + session;
    }

    /** Reads the text form; a malformed one is refused with a message that says what is wrong. */
    public static Sequencer parse(String text) {
        Objects.requireNonNull(text, "sequencer text");
        String[] parts = text.split(":", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("a sequencer reads path:mode:generation:session, not '" + text + "'");
        }
        Mode mode;
        try {
            mode = Mode.valueOf(parts[1].toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown lock mode '" + parts[1] + "' in sequencer '" + text + "'");
        }
        long generation;
        try {
            generation = Long.parseLong(parts[2]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("generation '" + parts[2] + "' in sequencer '" + text + "' is not a number");
        }
        String path = parts[0].replace("%3A", ":").replace("%3a", ":").replace("%25", "%");
        return new Sequencer(path, mode, generation, parts[3]);
    }

    /** Whether this sequencer is for a later grant of the same lock than the other. */
    public boolean isNewerThan(Sequencer other) {
        if (!path.equals(other.path)) {
            throw new IllegalArgumentException("sequencers of different locks do not compare: " + path + " and " + other.path);
        }
        return generation > other.generation;
    }
}
