package dev.latchkey.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The server's packages depend one way: {@code http} → {@code core} → {@code store}. The store
 * knows nothing of the rules it stores, the core nothing of the protocol that carries them (no
 * HTTP status codes outside {@code http}), and the core no client types beyond the shared path
 * syntax. Read from the sources, so that a reference written with a full name counts too.
 */
class LayeringTest {

    private static final Path MAIN = Path.of("src/main/java/dev/latchkey/coordinator");
    private static final Pattern REFERENCE = Pattern.compile("dev\\.latchkey\\.(coordinator\\.(?:core|store|http|cli)|client)\\.(\\w+)");

    @Test
    void theStoreDependsOnNeitherCoreNorHttp() throws IOException {
        assertThat(references("store")).noneMatch(r -> r.startsWith("coordinator.core") || r.startsWith("coordinator.http"));
    }

    @Test
    void theCoreDependsOnNoProtocol() throws IOException {
        assertThat(references("core")).noneMatch(r -> r.startsWith("coordinator.http") || r.startsWith("coordinator.cli"));
        assertThat(references("core")).filteredOn(r -> r.startsWith("client.")).allMatch(r -> r.equals("client.NodePath"));
        try (Stream<Path> files = Files.list(MAIN.resolve("core"))) {
            for (Path file : files.toList()) {
                assertThat(Files.readString(file)).as("%s names no HTTP status", file)
                        .doesNotContainPattern("\\b(?:HTTP_|SC_)\\w+|\\bstatus\\(\\s*[1-5]\\d\\d\\s*\\)|HttpStatus");
            }
        }
    }

    private static List<String> references(String pkg) throws IOException {
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.list(MAIN.resolve(pkg))) {
            for (Path file : files.toList()) {
                Matcher m = REFERENCE.matcher(Files.readString(file));
                while (m.find()) {
                    if (!m.group(1).equals("coordinator." + pkg)) {
                        found.add(m.group(1) + "." + m.group(2));
                    }
                }
            }
        }
        return found;
    }
}
