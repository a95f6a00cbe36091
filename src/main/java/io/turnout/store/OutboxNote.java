package io.turnout.store;

import io.turnout.domain.Side;
import java.time.Duration;

/**
 * Asks a store to record the written key in its database's outbox atomically with the write, so
 * the other store can be brought up to date later even if Turnout stops right after. {@code owned}
 * carries, as JSON, what the client wrote to fields only the target holds (null when nothing).
 */
public record OutboxNote(String domain, Side source, Side target, Duration delay, String owned) implements Companion {}
