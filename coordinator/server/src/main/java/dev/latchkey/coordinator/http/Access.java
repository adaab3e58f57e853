package dev.latchkey.coordinator.http;

import dev.latchkey.coordinator.core.Acls;
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

    /** Where the servlet container keeps a TLS client's verified certificate chain. */
    static final String CERTIFICATES = "jakarta.servlet.request.X509Certificate";

    private static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");

    private final Coordinator coordinator;
    private final boolean tokensRequired;
    private final boolean certificates;
    private final java.util.Set<String> certificateAdmins;

    Access(Coordinator coordinator, boolean tokensRequired) {
        this(coordinator, tokensRequired, null);
    }

    /** With mutual TLS ({@code tls.mutual()}) a request without a token acts for its client certificate's common name. */
    Access(Coordinator coordinator, boolean tokensRequired, TlsConfig tls) {
        this.coordinator = coordinator;
        this.tokensRequired = tokensRequired;
        this.certificates = tls != null && tls.mutual();
        this.certificateAdmins = tls == null ? java.util.Set.of() : tls.admins();
    }

    /** Whether requests must say who they are (a bearer token, or a client certificate): if not, everyone is the anonymous admin. */
    boolean authRequired() {
        return tokensRequired || certificates;
    }

    /** Who the request acts for, as the filter found it (or found now). */
    Identity of(io.javalin.http.Context ctx) {
        Identity who = ctx.attribute(IDENTITY);
        return who == null ? identify(ctx.header("Authorization"), ctx.req().getAttribute(CERTIFICATES)) : who;
    }

    /**
     * The identity a request acts for: the one its bearer token names, or else (with mutual TLS) its
     * client certificate's subject common name; refuses (401) a request that has neither when
     * authentication is on, and an unknown token.
     */
    Identity identify(String authorization, Object certificateChain) {
        if (!authRequired()) {
            return ANONYMOUS;
        }
        if (authorization == null && certificates && certificateChain instanceof java.security.cert.X509Certificate[] chain
                && chain.length > 0) {
            return fromCertificate(chain[0]);
        }
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new CoordinatorException(Problem.UNAUTHENTICATED, certificates
                    ? "this coordinator needs a client certificate or 'Authorization: Bearer <token>'"
                    : "this coordinator needs 'Authorization: Bearer <token>'");
        }
        Optional<Identity> who = coordinator.tokens().identify(authorization.substring(7).trim());
        return who.orElseThrow(() -> new CoordinatorException(Problem.UNAUTHENTICATED, "the token is not known here (revoked, or never made)"));
    }

    private Identity fromCertificate(java.security.cert.X509Certificate certificate) {
        String cn = null;
        try {
            for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = rdn.getValue().toString();
                }
            }
        } catch (javax.naming.InvalidNameException e) {
            cn = null;
        }
        if (cn == null || !NAME.matcher(cn).matches() || cn.equals(dev.latchkey.coordinator.core.Sessions.ANONYMOUS)) {
            throw new CoordinatorException(Problem.UNAUTHENTICATED, "the client certificate's subject ("
                    + certificate.getSubjectX500Principal().getName() + ") has no common name usable as an identity "
                    + "(1-64 letters, digits, '.', '_', '@' or '-')");
        }
        return new Identity(cn, certificateAdmins.contains(cn));
    }

    /** Refuses (403) acting with a session that belongs to another identity. An unknown session is left to the core (404). */
    void requireSession(Identity who, String session) {
        if (!authRequired() || session == null || session.isBlank()) {
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

    /** Refuses (403, naming the permission) a request whose identity lacks {@code permission} on {@code path} by the node ACLs. */
    void require(io.javalin.http.Context ctx, String path, Acls.Permission permission) {
        if (authRequired()) {
            coordinator.acls().require(of(ctx), path, permission);
        }
    }

    /** Whether {@code who} may see events of {@code path} (everything, without authentication). */
    boolean mayRead(Identity who, String path) {
        return !authRequired() || who == null || coordinator.acls().mayRead(who, path);
    }

    void requireAdmin(Identity who) {
        if (!who.admin()) {
            throw new CoordinatorException(Problem.FORBIDDEN, "only an admin identity may manage tokens; '" + who.name() + "' is not one");
        }
    }
}
