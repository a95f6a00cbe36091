package io.turnout.store;

import java.util.List;

/** A list request: filters joined by AND, a page size, and the key to continue after. */
public record Query(List<Filter> filters, int limit, Object after) {}
