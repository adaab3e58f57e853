package dev.latchkey.toolkit.jpa;

import jakarta.persistence.EntityManager;

/** A unit of work on an EntityManager whose transaction the {@link JpaTransactor} begins and ends. */
@FunctionalInterface
public interface JpaWork<T> {
    T run(EntityManager em) throws Exception;
}
