package dev.latchkey.client;

import java.util.Optional;

/**
 * What a node path must look like, checked by the client before anything is sent and by the
 * coordinator on arrival (the same rule, here): {@code /} or {@code /seg/seg...}, at most
 * {@value #MAX_LENGTH} characters, each segment of letters, digits, '.', '_' and '-', and neither
 * {@code .} nor {@code ..}. Examples: {@code /locks/nightly}, {@code /config/shop-1.json}.
 */
public final class NodePath {

    public static final int MAX_LENGTH = 512;

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
        if (!wellFormed(path)) {
            return Optional.of("'" + path + "' is not a valid path: it must start with '/' and its segments may hold only "
                    + "letters, digits, '.', '_' and '-' (no empty segments, no trailing '/'), e.g. /locks/nightly");
        }
        String dots = dotSegment(path);
        if (dots != null) {
            return Optional.of("'" + path + "' holds a '" + dots + "' segment");
        }
        return Optional.empty();
    }

    /**
     * Whether the path is {@code (/[A-Za-z0-9._-]+)+}, in one pass and without allocating: both ends
     * check every path of every call.
     */
    private static boolean wellFormed(String path) {
        if (path.charAt(0) != '/') {
            return false;
        }
        int segmentLength = 0;
        for (int i = 1; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '/') {
                if (segmentLength == 0) {
                    return false;
                }
                segmentLength = 0;
            } else if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
                segmentLength++;
            } else {
                return false;
            }
        }
        return segmentLength > 0;
    }

    /** The first {@code .} or {@code ..} segment of a well-formed path, or null. */
    private static String dotSegment(String path) {
        int start = 1;
        for (int i = 1; i <= path.length(); i++) {
            if (i == path.length() || path.charAt(i) == '/') {
                int length = i - start;
                if (length == 1 && path.charAt(start) == '.') {
                    return ".";
                }
                if (length == 2 && path.charAt(start) == '.' && path.charAt(start + 1) == '.') {
                    return "..";
                }
                start = i + 1;
            }
        }
        return null;
    }

    /** Returns the path when valid; otherwise throws {@link IllegalArgumentException} saying what is wrong. */
    public static String require(String path) {
        problem(path).ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
        return path;
    }
}
