package dev.latchkey.coordinator.core;

import static dev.latchkey.coordinator.store.Schema.TOKEN;
import static dev.latchkey.coordinator.store.Schema.TOKEN_ADMIN;
import static dev.latchkey.coordinator.store.Schema.TOKEN_CREATED;
import static dev.latchkey.coordinator.store.Schema.TOKEN_HASH;
import static dev.latchkey.coordinator.store.Schema.TOKEN_NAME;

import dev.latchkey.coordinator.core.CoordinatorException.Problem;
import dev.latchkey.coordinator.store.Store;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Bearer tokens: each names an identity (and says whether it is an admin). The store keeps only a
 * SHA-256 hash of each token; the token itself is returned once, when it is made.
 *
 * <p>A coordinator remembers a token it has checked for {@link #CACHE_MILLIS}, so a revoked token
 * stops working on every coordinator within that time (at once on the one that revoked it).
 */
public final class Tokens {

    /** An identity: who a request acts for. */
    public record Identity(String name, boolean admin) {
    }

    /** How long a checked token is believed without asking the store again. */
    public static final long CACHE_MILLIS = 2_000;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private record Cached(Optional<Identity> identity, long until) {
    }

    private final Store store;
    private final ConcurrentHashMap<String, Cached> checked = new ConcurrentHashMap<>();

    public Tokens(Store store) {
        this.store = store;
    }

    /** Makes a token for a new identity; returns the token, which is not kept anywhere. */
    public String create(String name, boolean admin) {
        requireName(name);
        String token = "lk_" + randomText();
        String hash = hash(token);
        store.readAt((dsl, now) -> {
            if (dsl.fetchExists(TOKEN, TOKEN_NAME.eq(name))) {
                throw new CoordinatorException(Problem.BAD_REQUEST, "a token named '" + name + "' exists; revoke it first");
            }
            dsl.insertInto(TOKEN, TOKEN_NAME, TOKEN_HASH, TOKEN_ADMIN, TOKEN_CREATED).values(name, hash, admin, now).execute();
            return null;
        });
        return token;
    }

    /**
     * Makes sure a token given at start-up (the bootstrap token) is an admin token named {@code name}:
     * stored when absent, its hash replaced when the name holds another.
     */
    public void ensure(String name, String token, boolean admin) {
        requireName(name);
        if (token == null || token.length() < 16) {
            throw new IllegalArgumentException("a token must have at least 16 characters");
        }
        String hash = hash(token);
        store.readAt((dsl, now) -> {
            dsl.deleteFrom(TOKEN).where(TOKEN_NAME.eq(name).or(TOKEN_HASH.eq(hash))).execute();
            dsl.insertInto(TOKEN, TOKEN_NAME, TOKEN_HASH, TOKEN_ADMIN, TOKEN_CREATED).values(name, hash, admin, now).execute();
            return null;
        });
        checked.clear();
    }

    /** Revokes the token of this name; false when there was none. */
    public boolean revoke(String name) {
        boolean removed = store.read(c -> store.dsl(c).deleteFrom(TOKEN).where(TOKEN_NAME.eq(name)).execute() > 0);
        checked.clear();
        return removed;
    }

    /** The names of the tokens, with whether each is an admin. */
    public List<Identity> list() {
        return list(null, Page.MAX).items();
    }

    /** Up to {@code limit} identities in name order, after the name {@code after} ({@code null}: from the first). */
    public Page<Identity> list(String after, int limit) {
        int n = Math.max(1, Math.min(limit, Page.MAX));
        return store.read(c -> Page.of(store.dsl(c).select(TOKEN_NAME, TOKEN_ADMIN).from(TOKEN)
                .where(after == null ? org.jooq.impl.DSL.noCondition() : TOKEN_NAME.gt(after)).orderBy(TOKEN_NAME).limit(n + 1)
                .fetch(r -> new Identity(r.value1(), Boolean.TRUE.equals(r.value2()))), n, Identity::name));
    }

    /** The identity a token names; empty for a token nobody made (or that was revoked). */
    public Optional<Identity> identify(String token) {
        String hash = hash(token);
        long now = System.currentTimeMillis();
        Cached cached = checked.get(hash);
        if (cached != null && cached.until() > now) {
            return cached.identity();
        }
        Optional<Identity> found = store.read(c -> Optional.ofNullable(store.dsl(c).select(TOKEN_NAME, TOKEN_ADMIN).from(TOKEN)
                .where(TOKEN_HASH.eq(hash)).fetchOne(r -> new Identity(r.value1(), Boolean.TRUE.equals(r.value2())))));
        if (checked.size() > 10_000) {
            checked.clear();
        }
        checked.put(hash, new Cached(found, now + CACHE_MILLIS));
        return found;
    }

    private static void requireName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new CoordinatorException(Problem.BAD_REQUEST,
                    "a token name is 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit, not '" + name + "'");
        }
        if (name.equals(Sessions.ANONYMOUS)) {
            throw new CoordinatorException(Problem.BAD_REQUEST, "'anonymous' is the identity of unauthenticated coordinators");
        }
    }

    private static String randomText() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
