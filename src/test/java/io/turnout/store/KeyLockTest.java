package io.turnout.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarkus.test.junit.QuarkusTest;
import io.turnout.db.Databases;
import io.turnout.domain.FieldType;
import io.turnout.support.Sql;
import jakarta.inject.Inject;
import java.time.OffsetDateTime;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A key's lock is named in Turnout (copies, deletes, writes through a SQL mapping) and in SQL (a
 * dual write in one statement appends the key it wrote): for every type a key may have, both
 * name the same lock, or a copy and a client write of one record would not wait for each other.
 */
@QuarkusTest
class KeyLockTest {

    @Inject
    Databases databases;

    @Test
    void aKeysLockIsTheSameWhetherTurnoutOrPostgresqlWritesItsName() {
        Sql sql = new Sql(databases);
        Map<FieldType, Object> keys = Map.of(FieldType.INTEGER, 9_007_199_254_740_993L, FieldType.UUID, java.util.UUID.randomUUID(),
                FieldType.STRING, "Zoë/ключ 1");
        keys.forEach((type, key) -> {
            assertThat(type.keyable()).isTrue();
            assertThat(sameLock(sql, type, key)).as(type.lower()).isTrue();
        });
        // a timestamp is written differently by each: a key may not be one (DomainValidationTest)
        assertThat(FieldType.TIMESTAMP.keyable()).isFalse();
        assertThat(sameLock(sql, FieldType.TIMESTAMP, OffsetDateTime.parse("2026-01-02T03:04:05Z"))).isFalse();
    }

    private static boolean sameLock(Sql sql, FieldType type, Object key) {
        String inSql = KeyLock.idSql("$1 || $2::" + type.sqlType() + "::text");
        return sql.count("main", "SELECT (" + inSql + " = " + KeyLock.idSql("$3") + ")::int", KeyLock.prefix("connections"), key,
                KeyLock.name("connections", key)) == 1;
    }
}
