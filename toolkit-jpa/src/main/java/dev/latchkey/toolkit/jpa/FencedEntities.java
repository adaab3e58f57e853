package dev.latchkey.toolkit.jpa;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import dev.latchkey.toolkit.fencing.FenceOutcome;
import dev.latchkey.toolkit.fencing.FencedTable;
import dev.latchkey.toolkit.fencing.FencingToken;
import jakarta.persistence.EntityManager;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.hibernate.Session;

/**
 * Fenced writes to entities: the change applies only when the caller's fencing token is not older
 * than the newest token the row has accepted. With a coordinator lock, the token is the sequencer's
 * generation ({@code FencingToken token = sequencer::generation}), so a holder that lost its lock
 * (paused, partitioned, expired) cannot overwrite what the next holder wrote.
 *
 * <pre>{@code
 * FencedEntities<Account> accounts = jpa.fenced(Account.class, "fence");
 * tx.execute("settle", em -> accounts.write(em, 7L, sequencer::generation, a -> a.settle()).orThrow());
 * }</pre>
 *
 * <p>How a write runs, in the EntityManager's transaction: pending changes are flushed; one
 * {@code UPDATE ... SET fence = :token WHERE id = :id AND (fence IS NULL OR fence <= :token)}
 * checks and records the token and locks the row; when it was accepted the entity is loaded (or
 * refreshed) as the row now is, and the change is applied to it, to be written at flush. A newer
 * holder therefore waits for this transaction, and finds the token it must beat.
 */
public final class FencedEntities<T> {

    private final EntityTable table;
    private final FencedTable fenced;
    private final DatabaseKind kind;

    FencedEntities(EntityTable table, FencedTable fenced, DatabaseKind kind) {
        this.table = table;
        this.fenced = fenced;
        this.kind = kind;
    }

    /** Checks and records the token on the entity's row; applies the change when the token is current. */
    public FencedEntityOutcome<T> write(EntityManager em, Object id, FencingToken token, Consumer<? super T> change) {
        Objects.requireNonNull(em, "em");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(change, "change");
        if (!em.isJoinedToTransaction()) {
            throw new IllegalStateException("fenced writes need a transaction: begin one, or use a JpaTransactor");
        }
        em.flush();
        FenceOutcome outcome = em.unwrap(Session.class).doReturningWork(c -> fenced.update(id, token).execute(c));
        return switch (outcome) {
            case FenceOutcome.Accepted a -> {
                List<T> loaded = EntityLoader.load(em, table, List.of(id), true, kind);
                if (loaded.isEmpty()) {
                    throw new IllegalStateException("the row of " + table.type().getSimpleName() + " " + id
                            + " accepted the token but could not be loaded as an entity");
                }
                T entity = loaded.get(0);
                change.accept(entity);
                yield new FencedEntityOutcome.Accepted<>(entity, a.token());
            }
            case FenceOutcome.Fenced f -> new FencedEntityOutcome.Fenced<>(id, f.token(), f.currentFence());
            case FenceOutcome.Gone g -> new FencedEntityOutcome.Gone<>(id);
        };
    }
}
