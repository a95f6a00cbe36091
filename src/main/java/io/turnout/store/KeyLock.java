package io.turnout.store;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/**
 * The transaction-scoped advisory lock of one record: client writes that reach both stores and
 * copies of the record (io.turnout.sync.Mirror) take it, so they run one after the other. Every
 * place that takes it names it here, so they all take the same lock.
 */
public final class KeyLock {
    private KeyLock() {
    }

    /**
     * The lock's name: the domain, a colon, and the key as text ({@code String.valueOf}, which for
     * every type a key may have, see FieldType.keyable, is also how PostgreSQL writes it).
     */
    public static String name(String domain, Object key) {
        return prefix(domain) + key;
    }

    /** What every lock name of the domain starts with, for SQL that appends the key itself ({@code $n || key::text}). */
    public static String prefix(String domain) {
        return domain + ":";
    }

    /** Taking the lock whose name is the SQL expression {@code name}, as a select-list expression. */
    public static String takeSql(String name) {
        return "pg_advisory_xact_lock(" + idSql(name) + ")";
    }

    /** The lock's id in PostgreSQL, from its name (the SQL expression {@code name}): for taking many in a fixed order. */
    public static String idSql(String name) {
        return "hashtextextended(" + name + ", 0)";
    }

    /** Takes the key's lock, held until the transaction of {@code tx} ends. */
    public static Future<Void> take(SqlClient tx, String domain, Object key) {
        return tx.preparedQuery("SELECT " + takeSql("$1")).execute(Tuple.of(name(domain, key))).mapEmpty();
    }
}
