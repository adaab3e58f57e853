package dev.latchkey.spring.app;

import dev.latchkey.spring.LockingRepository;
import jakarta.persistence.LockModeType;
import jakarta.persistence.QueryHint;
import java.util.Optional;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Lock;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;
import org.springframework.data.jpa.repository.QueryHints;

public interface ItemRepository extends JpaRepository<Item, Long>, LockingRepository<Item, Long> {

    /** What most teams write for "no wait": Spring Data's @Lock with JPA's lock timeout hint of 0. */
    @Lock(LockModeType.PESSIMISTIC_WRITE)
    @QueryHints(@QueryHint(name = "jakarta.persistence.lock.timeout", value = "0"))
    @Query("select i from Item i where i.id = ?1")
    Optional<Item> findWithNoWaitById(Long id);

    /** And for "wait at most 500 ms". */
    @Lock(LockModeType.PESSIMISTIC_WRITE)
    @QueryHints(@QueryHint(name = "jakarta.persistence.lock.timeout", value = "500"))
    @Query("select i from Item i where i.id = ?1")
    Optional<Item> findWaitingAtMost500MsById(Long id);

    @Modifying
    @Query(value = "INSERT INTO shop_item (id, name, stock, version) VALUES (?1, 'copy', 0, 0)", nativeQuery = true)
    int insertRaw(long id);
}
