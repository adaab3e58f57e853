package dev.latchkey.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.client.LatchkeyClient;
import dev.latchkey.client.LatchkeyException;
import dev.latchkey.client.NodeAcl;
import dev.latchkey.client.Session;
import dev.latchkey.testing.DatabaseTest;
import dev.latchkey.testing.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Chubby-style node ACLs: read, write, lock and admin, named per node, inherited, enforced on every route. */
class AclTest {

    private static String[] bearer(String token) {
        return new String[] {"Authorization", "Bearer " + token, "Content-Type", "application/json"};
    }

    private static String token(Api api, String name) {
        Api.Reply r = api.call("POST", "/v1/tokens", "{\"name\":\"" + name + "\",\"admin\":false}", bearer(Harness.BOOTSTRAP));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return r.json().get("token").asText();
    }

    private static void assertDenied(Api.Reply r, String permission, String acl) {
        assertThat(r.status()).as(r.body()).isEqualTo(403);
        JsonNode p = r.json();
        assertThat(p.get("type").asText()).isEqualTo("https://latchkey.dev/problems/forbidden");
        assertThat(p.get("permission").asText()).isEqualTo(permission);
        if (acl == null) {
            assertThat(p.get("acl").isNull()).as(r.body()).isTrue();
        } else {
            assertThat(p.get("acl").asText()).isEqualTo(acl);
        }
    }

    private static void ok(Api.Reply r) {
        assertThat(r.status()).as(r.body()).isBetween(200, 204);
    }

    @DatabaseTest
    void anIdentityOutsideANodesAclIsRefusedEveryActThereAndTheRefusalNamesThePermission(TestDatabase db) {
        try (Harness h = Harness.withTokens(db)) {
            Api api = h.api;
            String alice = token(api, "alice");
            String bob = token(api, "bob");
            String root = Harness.BOOTSTRAP;
            ok(api.call("PUT", "/v1/nodes/acl?type=directory", null, bearer(root)));
            ok(api.call("PUT", "/v1/nodes/acl/ops", "alice  # the payroll team\n", bearer(root)));
            ok(api.call("PUT", "/v1/nodes/acl/everyone", "*", bearer(root)));
            ok(api.call("PUT", "/v1/nodes/secret?type=directory", null, bearer(root)));
            Api.Reply set = api.call("PUT", "/v1/acls/secret", "{\"read\":\"ops\",\"write\":\"ops\",\"lock\":\"ops\",\"admin\":\"ops\"}",
                    bearer(root));
            ok(set);
            assertThat(set.json().get("aclGeneration").asLong()).isEqualTo(1);
            ok(api.call("PUT", "/v1/nodes/secret/plan", "v1", bearer(alice)));

            String bobSession = api.call("POST", "/v1/sessions", "{\"ttlMs\":20000}", bearer(bob)).json().get("id").asText();
            long revision = h.coordinator.events().currentRevision();

            assertDenied(api.call("GET", "/v1/nodes/secret/plan", null, bearer(bob)), "read", "ops");
            assertDenied(api.call("GET", "/v1/nodes/secret/plan?stat", null, bearer(bob)), "read", "ops");
            assertDenied(api.call("GET", "/v1/nodes/secret?children", null, bearer(bob)), "read", "ops");
            assertDenied(api.call("PUT", "/v1/nodes/secret/plan", "mine", bearer(bob)), "write", "ops");
            assertDenied(api.call("PUT", "/v1/nodes/secret/new", "mine", bearer(bob)), "write", "ops");
            assertDenied(api.call("PUT", "/v1/nodes/secret/sub?type=directory", null, bearer(bob)), "write", "ops");
            assertDenied(api.call("DELETE", "/v1/nodes/secret/plan", null, bearer(bob)), "write", "ops");
            assertDenied(api.call("POST", "/v1/locks/secret/plan", "{\"session\":\"" + bobSession + "\"}", bearer(bob)), "lock", "ops");
            assertDenied(api.call("GET", "/v1/locks/secret/plan", null, bearer(bob)), "read", "ops");
            assertDenied(api.call("GET", "/v1/acls/secret", null, bearer(bob)), "read", "ops");
            assertDenied(api.call("PUT", "/v1/acls/secret", "{\"read\":\"everyone\"}", bearer(bob)), "admin", "ops");
            assertDenied(api.call("GET", "/v1/events?prefix=/secret", null, bearer(bob)), "read", "ops");
            assertDenied(api.call("GET", "/v1/watch?path=/secret/plan", null, bearer(bob)), "read", "ops");
            // the lists that grant rights are the admins' to edit unless an admin says otherwise
            assertDenied(api.call("PUT", "/v1/nodes/acl/ops", "alice\nbob", bearer(bob)), "write", null);
            assertDenied(api.call("PUT", "/v1/nodes/acl/mine", "bob", bearer(bob)), "write", null);
            // and nobody changes an ACL where no admin ACL is named, except an admin
            assertDenied(api.call("PUT", "/v1/acls", "{\"read\":\"ops\"}", bearer(bob)), "admin", null);
            assertThat(h.coordinator.events().currentRevision()).as("no refusal wrote anything").isEqualTo(revision);

            // alice is in ops: she may do all of it, including changing the ACL (admin=ops)
            assertThat(api.call("GET", "/v1/nodes/secret/plan", null, bearer(alice)).body()).isEqualTo("v1");
            ok(api.call("PUT", "/v1/nodes/secret/plan", "v2", bearer(alice)));
            String aliceSession = api.call("POST", "/v1/sessions", "{\"ttlMs\":20000}", bearer(alice)).json().get("id").asText();
            ok(api.call("POST", "/v1/locks/secret/plan", "{\"session\":\"" + aliceSession + "\"}", bearer(alice)));
            ok(api.call("DELETE", "/v1/locks/secret/plan?session=" + aliceSession, null, bearer(alice)));

            // the stat shows the effective ACL, and where each permission comes from
            JsonNode stat = api.call("GET", "/v1/nodes/secret/plan?stat", null, bearer(alice)).json();
            assertThat(stat.at("/acl/read/acl").asText()).isEqualTo("ops");
            assertThat(stat.at("/acl/read/setAt").asText()).isEqualTo("/secret");
            assertThat(stat.get("aclGeneration").asLong()).isZero();
            JsonNode open = api.call("GET", "/v1/acls/open", null, bearer(alice)).json();
            assertThat(open.at("/acl/write/acl").isNull()).as("no ACL named above: the default").isTrue();

            // a child narrows or widens what it inherits: /secret/board is readable by everyone, still written by ops only
            ok(api.call("PUT", "/v1/nodes/secret/board", "news", bearer(alice)));
            Api.Reply widened = api.call("PUT", "/v1/acls/secret/board", "{\"read\":\"everyone\"}", bearer(alice));
            ok(widened);
            assertThat(widened.json().at("/acl/read/setAt").asText()).isEqualTo("/secret/board");
            assertThat(widened.json().at("/acl/write/setAt").asText()).isEqualTo("/secret");
            assertThat(api.call("GET", "/v1/nodes/secret/board", null, bearer(bob)).body()).isEqualTo("news");
            assertDenied(api.call("PUT", "/v1/nodes/secret/board", "bob was here", bearer(bob)), "write", "ops");
            assertThat(api.call("GET", "/v1/nodes/secret/board?stat", null, bearer(bob)).json().get("aclGeneration").asLong()).isEqualTo(1);

            // ACL changes are events, and a node made again where one was deleted inherits, as a new node does
            assertThat(api.call("GET", "/v1/events?prefix=/secret&after=" + revision, null, bearer(alice)).body()).contains("acl-changed");
            ok(api.call("DELETE", "/v1/nodes/secret/board", null, bearer(alice)));
            ok(api.call("PUT", "/v1/nodes/secret/board", "again", bearer(alice)));
            assertDenied(api.call("GET", "/v1/nodes/secret/board", null, bearer(bob)), "read", "ops");

            // bad ACL names are refused and change nothing
            long before = h.coordinator.events().currentRevision();
            assertThat(api.call("PUT", "/v1/acls/secret", "{\"read\":\"../etc\"}", bearer(alice)).status()).isEqualTo(400);
            assertThat(api.call("PUT", "/v1/acls/secret", "{\"reed\":\"ops\"}", bearer(alice)).status()).isEqualTo(400);
            assertThat(api.call("PUT", "/v1/acls/nowhere", "{\"read\":\"ops\"}", bearer(root)).status()).isEqualTo(404);
            assertThat(h.coordinator.events().currentRevision()).isEqualTo(before);
        }
    }

    @DatabaseTest
    void watchersSeeOnlyTheEventsTheyMayReadAndTheChannelChecksTheLockPermission(TestDatabase db) throws Exception {
        try (Harness h = Harness.withTokens(db);
                LatchkeyClient admin = LatchkeyClient.connect(h.api.base).withToken(Harness.BOOTSTRAP)) {
            Api api = h.api;
            String alice = token(api, "alice");
            String bob = token(api, "bob");
            admin.mkdir("/acl");
            admin.write("/acl/ops", "alice".getBytes(StandardCharsets.UTF_8), null);
            admin.mkdir("/secret");
            admin.mkdir("/open");
            NodeAcl set = admin.setAcl("/secret", "ops", "ops", "ops", null);
            assertThat(set.name("read")).isEqualTo("ops");
            assertThat(set.name("admin")).isNull();

            long from = h.coordinator.events().currentRevision();
            try (LatchkeyClient asAlice = LatchkeyClient.connect(h.api.base).withToken(alice)) {
                asAlice.write("/secret/salary", "100".getBytes(StandardCharsets.UTF_8), null);
                asAlice.write("/open/menu", "soup".getBytes(StandardCharsets.UTF_8), null);
            }
            // bob watches everything he may: the events under /secret are not his to see
            Api.Reply seen = api.call("GET", "/v1/events?prefix=/&after=" + from, null, bearer(bob));
            List<String> paths = new ArrayList<>();
            seen.json().get("events").forEach(e -> paths.add(e.get("path").asText()));
            assertThat(paths).contains("/open/menu").noneMatch(p -> p.startsWith("/secret"));
            Api.Reply all = api.call("GET", "/v1/events?prefix=/&after=" + from, null, bearer(alice));
            assertThat(all.body()).contains("/secret/salary");

            // over the session channel, as over HTTP, bob may not lock under /secret
            try (LatchkeyClient asBob = LatchkeyClient.connect(h.api.base).withToken(bob);
                    Session session = asBob.openSession(Session.Options.defaults().ttl(Duration.ofSeconds(10)).channel(true))) {
                assertThatThrownBy(() -> session.acquire("/secret/job", Duration.ZERO))
                        .isInstanceOfSatisfying(LatchkeyException.class, e -> assertThat(e.status()).isEqualTo(403))
                        .hasMessageContaining("lock permission");
                assertThat(session.usesChannel()).as("the refusal came over the channel").isTrue();
                assertThat(h.coordinator.locks().holders("/secret/job")).isEmpty();
                session.acquire("/open/job", Duration.ZERO).close();
                // and a watch on his channel carries only what he may read
                List<dev.latchkey.client.WatchEvent> bobSees = new java.util.concurrent.CopyOnWriteArrayList<>();
                try (dev.latchkey.client.Watch watch = session.watch("/", false, from, bobSees::add)) {
                    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                            .until(() -> watch.usesChannel() && bobSees.stream().anyMatch(e -> e.path().equals("/open/job")));
                }
                assertThat(bobSees).anyMatch(e -> e.path().equals("/open/menu")).noneMatch(e -> e.path().startsWith("/secret"));
            }
        }
    }
}
