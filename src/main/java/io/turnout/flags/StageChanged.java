package io.turnout.flags;

import io.turnout.routing.Stage;

/** Fired after a domain's applied stage changed and routing follows it. */
public record StageChanged(String domain, Stage from, Stage to) {}
