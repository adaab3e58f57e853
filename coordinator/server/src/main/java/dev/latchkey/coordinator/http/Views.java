package dev.latchkey.coordinator.http;

import dev.latchkey.client.Sequencer;
import dev.latchkey.coordinator.core.Acls;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.store.Event;
import dev.latchkey.coordinator.core.Grant;
import dev.latchkey.coordinator.core.Sessions;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** How the core's values read as JSON in the API (and on the session channel). */
final class Views {

    private Views() {
    }

    /** The sequencer text of the API (the client's {@link Sequencer}) as the core's grant. */
    static Grant parseSequencer(String text) {
        try {
            Sequencer s = Sequencer.parse(text);
            return new Grant(s.path(), Grant.Mode.valueOf(s.mode().name()), s.generation(), s.session());
        } catch (IllegalArgumentException e) {
            throw new CoordinatorException(Problem.BAD_REQUEST, e.getMessage());
        }
    }

    static Map<String, Object> sequencerJson(Grant s) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("sequencer", new Sequencer(s.path(), Sequencer.Mode.valueOf(s.mode().name()), s.generation(), s.session()).encode());
        out.put("path", s.path());
        out.put("mode", s.mode().name().toLowerCase(Locale.ROOT));
        out.put("generation", s.generation());
        out.put("session", s.session());
        return out;
    }

    /** {@code {"path", "aclGeneration", "acl": {"read": {"acl": NAME or null, "setAt": PATH or null}, ...}}}. */
    static Map<String, Object> aclJson(Acls.Effective effective) {
        Map<String, Object> acl = new LinkedHashMap<>();
        effective.entries().forEach((permission, entry) -> {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("acl", entry.acl());
            e.put("setAt", entry.setAt());
            acl.put(permission.label(), e);
        });
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("path", effective.path());
        out.put("aclGeneration", effective.aclGeneration());
        out.put("acl", acl);
        return out;
    }

    static Map<String, Object> sessionJson(Sessions.Info info) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", info.id());
        out.put("owner", info.owner());
        out.put("ttlMs", info.ttlMs());
        out.put("remainingMs", info.remainingMs());
        return out;
    }

    static Map<String, Object> eventJson(Event e) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("rev", e.rev());
        out.put("path", e.path());
        out.put("kind", kindName(e.kind()));
        if (e.detail() != null) {
            out.put("detail", e.detail());
        }
        if (e.session() != null) {
            out.put("session", e.session());
        }
        return out;
    }

    static String kindName(Event.Kind kind) {
        return kind.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
