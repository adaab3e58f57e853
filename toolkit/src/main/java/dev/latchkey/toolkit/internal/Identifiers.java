package dev.latchkey.toolkit.internal;

import java.util.regex.Pattern;

/** Checks that names given to the toolkit are plain SQL identifiers before any SQL is built. */
public final class Identifiers {

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]{0,62}");

    private Identifiers() {
    }

    public static String require(String what, String name) {
        if (name == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        if (!PLAIN.matcher(name).matches()) {
            throw new IllegalArgumentException(what + " '" + name + "' is not a plain SQL identifier (letters, digits, "
                    + "'_' and '$', starting with a letter or '_', at most 63 characters)");
        }
        return name;
    }
}
