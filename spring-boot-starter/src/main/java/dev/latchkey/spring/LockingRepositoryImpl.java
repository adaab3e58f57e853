package dev.latchkey.spring;

import dev.latchkey.toolkit.jpa.EntityLockOutcome;
import dev.latchkey.toolkit.jpa.EntityLocks;
import dev.latchkey.toolkit.jpa.JpaToolkit;
import jakarta.persistence.EntityManager;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.data.repository.core.RepositoryMethodContext;
import org.springframework.data.repository.core.support.RepositoryMetadataAccess;

/**
 * The implementation of {@link LockingRepository}, contributed to every repository that extends it
 * (registered in META-INF/spring.factories). It learns the repository's entity type from the call.
 */
class LockingRepositoryImpl<T, ID> implements LockingRepository<T, ID>, RepositoryMetadataAccess {

    private final ObjectProvider<JpaToolkit> toolkit;
    private final EntityManager em;
    private final Map<Class<?>, EntityLocks<?>> locks = new ConcurrentHashMap<>();

    /** The toolkit is looked up on first use, so that an application with latchkey.enabled=false still starts. */
    LockingRepositoryImpl(ObjectProvider<JpaToolkit> toolkit, EntityManager em) {
        this.toolkit = toolkit;
        this.em = em;
    }

    @Override
    public EntityLockOutcome<T> lockById(ID id, Duration wait) {
        return locks().lock(id).waitAtMost(wait).execute(em);
    }

    @Override
    public EntityLockOutcome<T> lockAllById(Collection<ID> ids, Duration wait) {
        return locks().lock(ids).waitAtMost(wait).execute(em);
    }

    @Override
    public List<T> claim(Collection<ID> candidates) {
        if (candidates.isEmpty()) {
            return List.of();
        }
        return locks().lock(candidates).skipLocked().execute(em).orThrow().entities();
    }

    @SuppressWarnings("unchecked")
    private EntityLocks<T> locks() {
        Class<?> type = RepositoryMethodContext.getContext().getMetadata().getDomainType();
        return (EntityLocks<T>) locks.computeIfAbsent(type, t -> {
            JpaToolkit jpa = toolkit.getIfUnique();
            if (jpa == null) {
                throw new IllegalStateException("LockingRepository needs Latchkey's JpaToolkit bean, and there is none: "
                        + "latchkey.enabled is false, or the application has no single EntityManagerFactory");
            }
            return jpa.locks(t);
        });
    }
}
