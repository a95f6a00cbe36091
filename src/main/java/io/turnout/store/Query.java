package io.turnout.store;

import io.turnout.domain.Field;
import java.util.List;
import java.util.Optional;

/** A list request: filters joined by AND, a page size, and the key to continue after. */
public record Query(List<Filter> filters, int limit, Object after) {

    /** The keys asked for when the only filter is {@code key in (...)}: a lookup by keys. */
    public Optional<List<Object>> keyLookup(Field key) {
        if (filters.size() != 1) return Optional.empty();
        Filter f = filters.get(0);
        return f.op() == Filter.Op.IN && f.field().equals(key) ? Optional.of(f.values()) : Optional.empty();
    }
}
