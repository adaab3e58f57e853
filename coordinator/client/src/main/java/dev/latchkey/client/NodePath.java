package dev.latchkey.client;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a node path must look like, checked by the client before anything is sent and by the
 * coordinator on arrival (the same rule, here): {@code /} or {@code /seg/seg...}, at most
 * {@value #MAX_LENGTH} characters, each segment of letters, digits, '.', '_' and '-', and neither
 * {@code .} nor {@code ..}. Examples: {@code /locks/nightly}, {@code /config/shop-1.json}.
 */
public final class NodePath {

    public static final int MAX_LENGTH = 512;
    private static final Pattern VALID = Pattern.compile("(/[A-Za-z0-9._-]+)+");

    private NodePath() {
    }

    /** What is wrong with the path, or empty when it is a valid node path. */
    public static Optional<String> problem(String path) {
        if (path == null || path.isEmpty()) {
            return Optional.of("a path is required");
        }
        if (path.equals("/")) {
            return Optional.empty();
        }
        if (path.length() > MAX_LENGTH) {
            return Optional.of("path is longer than " + MAX_LENGTH + " characters");
        }
        if (!VALID.matcher(path).matches()) {
            return Optional.of("'" + path + "' is not a valid path: it must start with '/' and its segments may hold only "
                    + "letters, digits, '.', '_' and '-' (no empty segments, no trailing '/'), e.g. /locks/nightly");
        }
        for (String segment : path.substring(1).split("/")) {
            if (segment.equals(".") || segment.equals("..")) {
                return Optional.of("'" + path + "' holds a '" + segment + "' segment");
            }
        }
        return Optional.empty();
    }

    /** Returns the path when valid; otherwise throws {@link IllegalArgumentException} saying what is wrong. */
    public static String require(String path) {
        problem(path).ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
        return path;
    }
}
