package dev.latchkey.coordinator.core;

import dev.latchkey.client.NodePath;

/** Node paths, by the rule in {@link NodePath} (the client checks the same one before sending). */
public final class Paths {

    private Paths() {
    }

    /** Checks a path and returns it, or refuses it with a message that says what is wrong. */
    public static String require(String path) {
        NodePath.problem(path).ifPresent(problem -> {
            throw invalid(problem);
        });
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
