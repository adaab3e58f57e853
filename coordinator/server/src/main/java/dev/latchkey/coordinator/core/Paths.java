package dev.latchkey.coordinator.core;

import java.util.regex.Pattern;

/** Node paths: {@code /} or {@code /seg/seg...}, segments of letters, digits, '.', '_' and '-'. */
public final class Paths {

    public static final int MAX_LENGTH = 512;
    private static final Pattern VALID = Pattern.compile("(/[A-Za-z0-9._-]+)+");

    private Paths() {
    }

    /** Checks a path and returns it, or refuses it with a message that says what is wrong. */
    public static String require(String path) {
        if (path == null || path.isEmpty()) {
            throw invalid("a path is required");
        }
        if (path.equals("/")) {
            return path;
        }
        if (path.length() > MAX_LENGTH) {
            throw invalid("path is longer than " + MAX_LENGTH + " characters");
        }
        if (!VALID.matcher(path).matches()) {
            throw invalid("'" + path + "' is not a valid path: it must start with '/' and its segments may hold only "
                    + "letters, digits, '.', '_' and '-' (no empty segments, no trailing '/')");
        }
        for (String segment : path.substring(1).split("/")) {
            if (segment.equals(".") || segment.equals("..")) {
                throw invalid("'" + path + "' holds a '" + segment + "' segment");
            }
        }
        return path;
    }

    public static String parent(String path) {
        int i = path.lastIndexOf('/');
        return i <= 0 ? "/" : path.substring(0, i);
    }

    public static String name(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    private static CoordinatorException invalid(String detail) {
        return new CoordinatorException(CoordinatorException.Problem.INVALID_PATH, detail);
    }
}
