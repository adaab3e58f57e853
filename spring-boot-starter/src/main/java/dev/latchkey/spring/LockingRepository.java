package dev.latchkey.spring;

import dev.latchkey.toolkit.jpa.EntityLockOutcome;
import java.time.Duration;
import java.util.Collection;
import java.util.List;

/**
 * A Spring Data repository fragment: row locks by id with the toolkit's SQL, answers as values.
 * Add it to a repository and call it inside a transaction:
 *
 * <pre>{@code
 * interface ItemRepository extends JpaRepository<Item, Long>, LockingRepository<Item, Long> { }
 *
 * EntityLockOutcome<Item> outcome = items.lockById(42L, Duration.ofMillis(500));
 * List<Job> mine = jobs.claim(candidateIds);
 * }</pre>
 */
public interface LockingRepository<T, ID> {

    /** Locks the entity's row, waiting at most {@code wait} (zero: NOWAIT; MySQL/MariaDB count whole seconds). */
    EntityLockOutcome<T> lockById(ID id, Duration wait);

    /** Locks the rows in id order (so overlapping sets cannot deadlock), waiting at most {@code wait} for each. */
    EntityLockOutcome<T> lockAllById(Collection<ID> ids, Duration wait);

    /** Locks whichever of these rows nobody else holds ({@code SKIP LOCKED}) and returns their entities. */
    List<T> claim(Collection<ID> candidates);
}
