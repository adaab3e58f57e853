package dev.latchkey.toolkit.jpa;

import dev.latchkey.toolkit.dialect.DatabaseKind;
import jakarta.persistence.EntityManager;
import jakarta.persistence.LockModeType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.hibernate.engine.spi.SessionImplementor;

/**
 * Loads entities whose rows this transaction has just locked (or written), so that they hold what
 * the rows hold now.
 *
 * <p>On MySQL and MariaDB (REPEATABLE READ by default) a plain read returns the transaction's
 * snapshot, which may predate the lock: there the rows are read with a locking read (which reads the
 * newest version, and returns at once since the lock is already held), one primary-key read per
 * row. Elsewhere the rows are read with one plain query. Entities already in the
 * persistence context are refreshed, not returned as cached.
 */
final class EntityLoader {

    private EntityLoader() {
    }

    @SuppressWarnings("unchecked")
    static <T> List<T> load(EntityManager em, EntityTable table, List<Object> ids, boolean exclusive, DatabaseKind kind) {
        if (ids.isEmpty()) {
            return List.of();
        }
        LockModeType relock = snapshotReads(kind) ? (exclusive ? LockModeType.PESSIMISTIC_WRITE : LockModeType.PESSIMISTIC_READ)
                : LockModeType.NONE;
        SessionImplementor session = em.unwrap(SessionImplementor.class);
        Map<Object, Object> byId = new HashMap<>();
        List<Object> toRead = new ArrayList<>();
        for (Object id : ids) {
            Object managed = session.getPersistenceContextInternal().getEntity(session.generateEntityKey(id, table.persister()));
            if (managed != null) {
                em.refresh(managed, relock);
                byId.put(id, managed);
            } else {
                toRead.add(id);
            }
        }
        if (relock != LockModeType.NONE) {
            // One primary-key read per row: a locking read of "id IN (...)" may be planned as a scan
            // on a small table, and a scan locks every row it passes, held by others or not.
            for (Object id : toRead) {
                Object entity = em.find(table.type(), id, relock);
                if (entity != null) {
                    byId.put(id, entity);
                }
            }
        } else if (!toRead.isEmpty()) {
            var query = em.createQuery("select e from " + table.entityName() + " e where e." + table.idAttribute() + " in :ids",
                    table.type()).setParameter("ids", toRead);
            for (Object entity : query.getResultList()) {
                byId.put(session.getIdentifier(entity), entity);
            }
        }
        List<T> entities = new ArrayList<>(ids.size());
        for (Object id : ids) {
            Object entity = byId.get(id);
            if (entity != null) {
                entities.add((T) entity);
            }
        }
        return entities;
    }

    private static boolean snapshotReads(DatabaseKind kind) {
        return kind == DatabaseKind.MYSQL || kind == DatabaseKind.MARIADB;
    }
}
