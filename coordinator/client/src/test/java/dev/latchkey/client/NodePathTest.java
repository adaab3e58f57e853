package dev.latchkey.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class NodePathTest {

    @Test
    void acceptsWellFormedPaths() {
        for (String ok : new String[] {"/", "/a", "/locks/nightly", "/config/shop-1.json", "/a/b_c/D-9", "/...", "/a/.b", "/a/b..",
                "/" + "x".repeat(NodePath.MAX_LENGTH - 1)}) {
            assertThat(NodePath.problem(ok)).as(ok).isEmpty();
        }
    }

    @Test
    void refusesMalformedPathsSayingWhy() {
        for (String bad : new String[] {"a", "a/b", "//", "/a/", "/a//b", "/a b", "/ä", "/a/\u0000", "/a\\b", " /a"}) {
            assertThat(NodePath.problem(bad)).as(bad).hasValueSatisfying(p -> assertThat(p).contains("is not a valid path"));
        }
        assertThat(NodePath.problem(null)).contains("a path is required");
        assertThat(NodePath.problem("")).contains("a path is required");
        assertThat(NodePath.problem("/" + "x".repeat(NodePath.MAX_LENGTH))).hasValueSatisfying(p -> assertThat(p).contains("longer than"));
        assertThat(NodePath.problem("/a/./b")).contains("'/a/./b' holds a '.' segment");
        assertThat(NodePath.problem("/..")).contains("'/..' holds a '..' segment");
        assertThat(NodePath.problem("/a/..")).contains("'/a/..' holds a '..' segment");
        assertThat(NodePath.problem("/./..")).contains("'/./..' holds a '.' segment");
        assertThatThrownBy(() -> NodePath.require("/a/")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/a/");
    }

    /** The rule as it was first written (a regular expression, then a split): the one-pass check must agree with it on every input. */
    private static Optional<String> reference(String path) {
        if (path.length() > NodePath.MAX_LENGTH || path.equals("/")) {
            return NodePath.problem(path);
        }
        if (!Pattern.compile("(/[A-Za-z0-9._-]+)+").matcher(path).matches()) {
            return Optional.of("invalid");
        }
        for (String segment : path.substring(1).split("/")) {
            if (segment.equals(".") || segment.equals("..")) {
                return Optional.of("'" + path + "' holds a '" + segment + "' segment");
            }
        }
        return Optional.empty();
    }

    @Test
    void agreesWithTheRegularExpressionOnRandomPaths() {
        SplittableRandom random = new SplittableRandom(19);
        String alphabet = "/..ab_-Z9 /ä";
        for (int n = 0; n < 200_000; n++) {
            StringBuilder path = new StringBuilder(random.nextInt(4) == 0 ? "" : "/");
            int length = random.nextInt(9);
            for (int i = 0; i < length; i++) {
                path.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String p = path.toString();
            if (p.isEmpty()) {
                continue;
            }
            Optional<String> expected = reference(p);
            Optional<String> actual = NodePath.problem(p);
            assertThat(actual.isPresent()).as(p).isEqualTo(expected.isPresent());
            if (expected.isPresent() && !expected.get().equals("invalid")) {
                assertThat(actual).as(p).isEqualTo(expected);
            } else if (expected.isPresent()) {
                assertThat(actual.get()).as(p).contains("is not a valid path");
            }
        }
    }
}
