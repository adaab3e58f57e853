package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.NodeStat;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Listings come in pages (keyset: each page starts after the last key of the one before), so none is unbounded. */
class PagingTest {

    private static final Pattern NEXT = Pattern.compile("<([^>]+)>; rel=\"next\"");

    @DatabaseTest
    void sessionsChildrenAndTokensArePagedAndEveryItemIsListedOnce(TestDatabase db) {
        try (Harness h = Harness.withTokens(db); LatchkeyClient client = LatchkeyClient.connect(h.api.base).withToken(Harness.BOOTSTRAP)) {
            String[] auth = {"Authorization", "Bearer " + Harness.BOOTSTRAP};
            Set<String> opened = new HashSet<>();
            for (int i = 0; i < 25; i++) {
                opened.add(h.api.call("POST", "/v1/sessions", "{\"ttlMs\":30000}", "Authorization", "Bearer " + Harness.BOOTSTRAP,
                        "Content-Type", "application/json").json().get("id").asText());
            }
            client.mkdir("/dir");
            for (int i = 0; i < 23; i++) {
                client.write("/dir/f" + i, new byte[] {1}, null);
            }
            for (int i = 0; i < 12; i++) {
                client.createToken("user" + i, false);
            }

            // sessions: an array per page, the next page in the Link header
            List<String> seen = new ArrayList<>();
            String url = "/v1/sessions?limit=10";
            int pages = 0;
            while (url != null) {
                Api.Reply r = h.api.call("GET", url, null, auth);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                assertThat(r.json().size()).isLessThanOrEqualTo(10);
                r.json().forEach(s -> seen.add(s.get("id").asText()));
                String link = r.header("Link");
                Matcher m = link == null ? null : NEXT.matcher(link);
                url = m != null && m.find() ? m.group(1) : null;
                pages++;
            }
            assertThat(pages).isEqualTo(3);
            assertThat(seen).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(opened);
            assertThat(client.sessions()).hasSize(25);

            // children: "next" in the body too
            JsonNode first = h.api.call("GET", "/v1/nodes/dir?children&limit=20", null, auth).json();
            assertThat(first.get("children")).hasSize(20);
            String next = first.get("next").asText();
            JsonNode second = h.api.call("GET", "/v1/nodes/dir?children&limit=20&after=" + next, null, auth).json();
            assertThat(second.get("children")).hasSize(3);
            assertThat(second.get("next").isNull()).isTrue();
            assertThat(client.list("/dir")).extracting(NodeStat::path).doesNotHaveDuplicates().hasSize(23);

            JsonNode tokens = h.api.call("GET", "/v1/tokens?limit=5", null, auth).json();
            assertThat(tokens.get("tokens")).hasSize(5);
            assertThat(client.tokens()).hasSize(13); // the bootstrap identity and twelve users

            assertThat(h.api.call("GET", "/v1/sessions?limit=0", null, auth).status()).isEqualTo(400);
            assertThat(h.api.call("GET", "/v1/sessions?limit=10001", null, auth).status()).isEqualTo(400);
        }
    }
}
