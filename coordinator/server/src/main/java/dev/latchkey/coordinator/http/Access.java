package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Coordinator;
import dev.latchkey.coordinator.core.CoordinatorException;
import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.core.Sessions;
import dev.latchkey.coordinator.core.Tokens.Identity;
import java.util.Optional;

/**
 * Who a request acts for, and whether it may. With tokens required, every request but the health
 * check carries {@code Authorization: Bearer <token>}; a session belongs to the identity that opened
 * it, and only that identity may keep it alive, act with it or close it (an admin may close any).
 * Without tokens (loopback only, see Main) everyone is the one anonymous admin, as before.
 */
final class Access {

    /** Where the identity a request acts for is kept on its context (set by HttpApi's filter). */
    static final String IDENTITY = "latchkey.identity";

    /** Everyone, on a coordinator that runs without authentication. */
    static final Identity ANONYMOUS = new Identity(Sessions.ANONYMOUS, true);

    private final Coordinator coordinator;
    private final boolean tokensRequired;

    Access(Coordinator coordinator, boolean tokensRequired) {
        this.coordinator = coordinator;
        this.tokensRequired = tokensRequired;
    }

    boolean tokensRequired() {
        return tokensRequired;
    }

    /** Who the request acts for, as the filter found it (or found now). */
    Identity of(io.javalin.http.Context ctx) {
        Identity who = ctx.attribute(IDENTITY);
        return who == null ? identify(ctx.header("Authorization")) : who;
    }

    /** The identity an {@code Authorization} header names; refuses (401) a missing or unknown token when tokens are required. */
    Identity identify(String authorization) {
        if (!tokensRequired) {
            return ANONYMOUS;
        }
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new CoordinatorException(Problem.UNAUTHENTICATED, "this coordinator needs 'Authorization: Bearer <token>'");
        }
        Optional<Identity> who = coordinator.tokens().identify(authorization.substring(7).trim());
        return who.orElseThrow(() -> new CoordinatorException(Problem.UNAUTHENTICATED, "the token is not known here (revoked, or never made)"));
    }

    /** Refuses (403) acting with a session that belongs to another identity. An unknown session is left to the core (404). */
    void requireSession(Identity who, String session) {
        if (!tokensRequired || session == null || session.isBlank()) {
            return;
        }
        Optional<String> owner = coordinator.sessions().identityOf(session);
        if (owner.isPresent() && !owner.get().equals(who.name())) {
            throw new CoordinatorException(Problem.FORBIDDEN, "session " + session + " belongs to another identity; '"
                    + who.name() + "' may not act with it");
        }
    }

    /** Like {@link #requireSession}, but an admin may end anyone's session. */
    void requireSessionOrAdmin(Identity who, String session) {
        if (!who.admin()) {
            requireSession(who, session);
        }
    }

    void requireAdmin(Identity who) {
        if (!who.admin()) {
            throw new CoordinatorException(Problem.FORBIDDEN, "only an admin identity may manage tokens; '" + who.name() + "' is not one");
        }
    }
}
