package dev.latchkey.toolkit.jpa;

import dev.latchkey.toolkit.TableSpec;
import java.util.List;
import org.hibernate.engine.spi.SessionFactoryImplementor;
import org.hibernate.metamodel.mapping.TableDetails;
import org.hibernate.persister.entity.EntityPersister;

/** Where an entity lives: its table and id column as Hibernate maps them, and its persister. */
record EntityTable(Class<?> type, EntityPersister persister, String idAttribute, TableSpec spec) {

    static EntityTable of(SessionFactoryImplementor factory, Class<?> type) {
        EntityPersister persister;
        try {
            persister = JpaToolkit.persister(factory, type);
        } catch (RuntimeException e) { // Hibernate's UnknownEntityTypeException, or IllegalArgumentException
            throw new IllegalArgumentException(type.getName() + " is not an entity of this entity manager factory", e);
        }
        TableDetails table = persister.getIdentifierTableDetails();
        if (table.getKeyDetails().getColumnCount() != 1) {
            throw new IllegalArgumentException(type.getName() + " has a composite id; row locks need a one-column key");
        }
        String column = unquote(table.getKeyDetails().getKeyColumn(0).getColumnName());
        List<String> name = List.of(unquote(table.getTableName()).split("\\."));
        TableSpec spec = name.size() == 1 ? TableSpec.table(name.get(0)) : TableSpec.table(unquote(name.get(name.size() - 2)), unquote(name.get(name.size() - 1)));
        return new EntityTable(type, persister, persister.getIdentifierPropertyName(), spec.key(column));
    }

    String entityName() {
        return persister.getEntityName();
    }

    private static String unquote(String name) {
        String n = name.trim();
        if (n.length() > 1 && (n.startsWith("\"") || n.startsWith("`") || n.startsWith("["))) {
            return n.substring(1, n.length() - 1);
        }
        return n;
    }
}
