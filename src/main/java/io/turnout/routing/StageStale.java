package io.turnout.routing;

/**
 * A database refused a write of the domain routed by {@code stage}: its fence names another stage
 * (or none, while a switch is under way). Stage control re-reads the recorded stage at once.
 */
public record StageStale(String domain, Stage stage) {}
